import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { createStudioService, type StudioService } from '../../src-main/core/service.js';
import type { WebHost } from '../../src-main/hosts/web/webHost.js';
import { closeE2e, serveRenderer } from '../helpers/e2eHost.js';
import { buildFixtureIndex } from '../helpers/buildFixtureIndex.js';

// Issue 17 in real Chromium against the web host and a real index: an exemplar opens its item
// page, whose features are `studio query --patches all` ranked by max; the search box ranks
// label hits by purity.

test.describe.configure({ mode: 'serial' });

let work: string;
let service: StudioService;
let host: WebHost;
let indexId: string;

test.beforeAll(async () => {
  test.setTimeout(120_000);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-e2e-item-'));
  const fixture = await buildFixtureIndex(path.join(work, 'fixture'), { perLabel: 6 });
  service = await createStudioService({ settingsDir: path.join(work, 'settings'), host: 'web', openAtStart: fixture.indexDir });
  indexId = (await service.appInfo()).startIndexId!;
  host = await serveRenderer(service);
});

test.afterAll(async () => {
  await closeE2e(host, service, work);
});

test('an exemplar opens its item page: features equal the patch query over the whole image', async ({ page }, testInfo) => {
  await page.setViewportSize({ width: 1440, height: 900 });
  const top = (await service.queryFeatures({ indexId, sort: 'frequency', desc: true, offset: 0, limit: 1 })).rows[0]!.feature;
  const detail = await service.featureDetail({ indexId, feature: top });
  await page.goto(new URL(`#/index/${indexId}/feature/${top}`, host.url).toString());
  const tile = page.getByTestId('exemplar').first();
  await expect(tile).toBeVisible();
  await tile.click();
  const item = detail.exemplars[0]!.itemId;
  await expect(page).toHaveURL(new RegExp(`#/index/${indexId}/item/${item}$`));
  await expect(page.getByTestId('item-title')).toHaveText(detail.exemplars[0]!.item);

  // Independent: the same image through the query engine, every patch, ranked by max.
  const file = path.join((await service.indexSummary({ indexId })).path, '..', 'data', detail.exemplars[0]!.item);
  const loaded = await service.loadQueryImage({ image: { path: file }, indexIds: [indexId] });
  const [R, C] = loaded.views[0]!.grid;
  const q = await service.queryPatches({
    imageId: loaded.imageId,
    indexId,
    patches: Array.from({ length: R * C }, (_, p) => [Math.floor(p / C), p % C] as [number, number]),
    limit: 1000,
  });
  const byMax = [...q.features].sort((a, b) => b.max - a.max || a.feature - b.feature).slice(0, 64);
  const shown = page.getByTestId('item-feature');
  await expect(shown).toHaveCount(byMax.length);
  const rows = await shown.evaluateAll((els) => els.map((e) => ({ f: Number(e.getAttribute('data-feature')), sum: Number(e.getAttribute('data-sum')) })));
  expect(rows.map((r) => r.f)).toEqual(byMax.map((f) => f.feature));
  rows.forEach((r, i) => expect(r.sum).toBeCloseTo(byMax[i]!.value, 4));
  // The large view draws a map (non-transparent pixels where the first feature fires).
  const painted = await page.getByTestId('item-large').locator('canvas').first().evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
    return n;
  });
  expect(painted).toBeGreaterThan(0);
  await page.screenshot({ path: testInfo.outputPath('item-page.png') });

  // Each feature links to its page.
  await shown.nth(1).getByTestId('item-feature-link').click();
  await expect(page).toHaveURL(new RegExp(`#/index/${indexId}/feature/${byMax[1]!.feature}$`));
  await page.goBack();

  // "Query these patches" hands the image to the query view with every patch selected.
  await page.getByTestId('item-query').click();
  await expect(page).toHaveURL(new RegExp(`#/index/${indexId}/query`));
  await expect(page.getByText(`${R * C} patch(es)`)).toBeVisible();
});

test('the search box ranks features by label purity with counts', async ({ page }, testInfo) => {
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(new URL(`#/index/${indexId}/features`, host.url).toString());
  await page.getByTestId('feature-search-input').fill('forest');
  const hits = page.getByTestId('feature-search-hit');
  await expect(hits.first()).toBeVisible();
  // Brute force from the exemplars of every feature.
  const n = (await service.indexSummary({ indexId })).features;
  const expected: { f: number; count: number; total: number }[] = [];
  for (let f = 0; f < n; f++) {
    const d = await service.featureDetail({ indexId, feature: f });
    const count = d.exemplars.filter((e) => e.label === 'forest').length;
    if (count > 0) expected.push({ f, count, total: d.exemplars.length });
  }
  expected.sort((a, b) => b.count / b.total - a.count / a.total || b.count - a.count || a.f - b.f);
  const got = await hits.evaluateAll((els) => els.map((e) => ({ f: Number(e.getAttribute('data-feature')), count: Number(e.getAttribute('data-count')) })));
  expect(got).toEqual(expected.slice(0, 40).map((e) => ({ f: e.f, count: e.count })));
  await expect(hits.first()).toContainText(`(${expected[0]!.count}/${expected[0]!.total})`);
  await page.screenshot({ path: testInfo.outputPath('feature-search.png') });
});
