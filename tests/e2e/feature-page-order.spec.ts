import { expect, test } from '@playwright/test';
import type { StudioService } from '../../src-main/core/service.js';
import type { WebHost } from '../../src-main/hosts/web/webHost.js';
import { closeE2e, openFixtureE2e } from '../helpers/e2eHost.js';

// The feature page asks the host for what it shows first: the feature's detail before its tags
// and suggestion, and its exemplar thumbnails before the neighbours' pages and similar features
// (the host answers one request at a time, so those would queue ahead of the images).

let work: string;
let service: StudioService;
let host: WebHost;
let indexId: string;

test.beforeAll(async () => {
  test.setTimeout(120_000);
  ({ work, service, host, indexId } = await openFixtureE2e('feature-order'));
});

test.afterAll(async () => {
  await closeE2e(host, service, work);
});

test('detail first, then the exemplar images, then neighbours and similar features', async ({ page }) => {
  await page.goto(host.url);
  await expect(page.getByTestId('feature-row').first()).toBeVisible();
  const top = (await service.queryFeatures({ indexId, sort: 'frequency', desc: true, offset: 0, limit: 1 })).rows[0]!.feature;
  const sent: string[] = [];
  page.on('request', (r) => {
    const url = r.url();
    if (url.includes('/thumb/')) sent.push('thumb');
    else if (url.includes('/api/')) sent.push(url.split('/api/')[1]!);
  });
  await page.evaluate((hash) => {
    location.hash = hash;
  }, `#/index/${indexId}/feature/${top}`);
  const similar = page.getByTestId('similar-features').locator('li');
  await expect(similar.first()).toBeVisible();
  const exemplars = (await service.featureDetail({ indexId, feature: top })).exemplars.length;
  expect(exemplars).toBeGreaterThan(2);

  const first = (name: string) => sent.indexOf(name);
  const last = (name: string) => sent.lastIndexOf(name);
  expect(first('featureDetail')).toBe(0);
  expect(first('featureDetail')).toBeLessThan(first('featureTags'));
  expect(sent.filter((s) => s === 'thumb').length).toBeGreaterThanOrEqual(Math.min(exemplars, 4));
  // Neighbours' details (the second and third featureDetail) and similar features after every thumbnail.
  expect(last('thumb')).toBeLessThan(first('similarFeatures'));
  expect(sent.filter((s) => s === 'featureDetail')).toHaveLength(3);
  expect(last('thumb')).toBeLessThan(sent.indexOf('featureDetail', 1));
});
