import { expect, test } from '@playwright/test';
import type { StudioService } from '../../src-main/core/service.js';
import type { WebHost } from '../../src-main/hosts/web/webHost.js';
import { closeE2e, openFixtureE2e } from '../helpers/e2eHost.js';

// The feature page asks the host for what it shows first: the feature's detail before its tags
// and suggestion, and its exemplar thumbnails before the neighbours' pages (and their thumbnails)
// and similar features (the host answers one request at a time, so those would queue ahead).

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
    if (url.includes('/thumb/')) sent.push(`thumb ${/\/(\d+)\.webp$/.exec(url)?.[1]}`);
    else if (url.includes('/api/')) sent.push(url.split('/api/')[1]!);
  });
  await page.evaluate((hash) => {
    location.hash = hash;
  }, `#/index/${indexId}/feature/${top}`);
  const similar = page.getByTestId('similar-features').locator('li');
  await expect(similar.first()).toBeVisible();
  const own = (await service.featureDetail({ indexId, feature: top })).exemplars.map((e) => `thumb ${e.itemId}`);
  expect(own.length).toBeGreaterThan(2);

  const first = (name: string) => sent.indexOf(name);
  expect(first('featureDetail')).toBe(0);
  expect(first('featureDetail')).toBeLessThan(first('featureTags'));
  // Every exemplar thumbnail of the page is asked for (the page warms them all) before the
  // neighbours' details (the second and third featureDetail, which then warm their own
  // thumbnails) and before similar features.
  const ownRequested = own.map((t) => sent.indexOf(t));
  expect(ownRequested.every((i) => i >= 0)).toBe(true);
  const lastOwn = Math.max(...ownRequested);
  expect(lastOwn).toBeLessThan(first('similarFeatures'));
  expect(sent.filter((s) => s === 'featureDetail')).toHaveLength(3);
  expect(lastOwn).toBeLessThan(sent.indexOf('featureDetail', 1));
});
