import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { createStudioService, type StudioService } from '../../src-main/core/service.js';
import type { WebHost } from '../../src-main/hosts/web/webHost.js';
import { closeE2e, serveRenderer } from '../helpers/e2eHost.js';
import { runIndex } from '../../src-main/core/indexer/runIndex.js';
import { buildFixtureIndex, type FixtureIndex } from '../helpers/buildFixtureIndex.js';
import { makeSae } from '../helpers/makeSae.js';

// Matching and patch queries in real Chromium against the web host, on two real indexes of the
// same generated dataset (same toy ViT, two different SAEs).

test.describe.configure({ mode: 'serial' });

let work: string;
let fixture: FixtureIndex;
let service: StudioService;
let host: WebHost;
let idA: string;
let pathB: string;

test.beforeAll(async () => {
  test.setTimeout(180_000);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-e2e-match-'));
  fixture = await buildFixtureIndex(path.join(work, 'fixture'));
  const saeB = makeSae(path.join(work, 'sae-b'), { dIn: 24, dSae: 128, architecture: 'topk', k: 6, seed: 31, format: 'safetensors' });
  pathB = path.join(work, 'index-b');
  await runIndex({ model: fixture.manifestPath, layer: 'block_1', sae: saeB, data: fixture.dataDir, out: pathB, topK: 16, batch: 8, provider: 'cpu' });
  service = await createStudioService({ settingsDir: path.join(work, 'settings'), host: 'web' });
  await service.openIndex({ path: pathB });
  idA = (await service.openIndex({ path: fixture.indexDir })).id;
  host = await serveRenderer(service);
});

test.afterAll(async () => {
  await closeE2e(host, service, work);
});

test('match view: pick the other index, run the match, pick a feature, see both exemplar grids', async ({ page }, testInfo) => {
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(new URL(`#/index/${idA}/match`, host.url).href);
  await page.getByTestId('match-other-select').selectOption(pathB);
  await page.getByTestId('run-match').click();
  await expect(page.getByTestId('match-summary')).toContainText('common items');
  const rows = page.getByTestId('match-row');
  await expect(rows.first()).toBeVisible();
  await rows.first().click();
  await expect(page).toHaveURL(/side=a&f=\d+/);
  await expect(page.getByTestId('ranked-match').first()).toBeVisible();
  await expect(page.getByTestId('grid-a').getByTestId('exemplar').first()).toBeVisible();
  await expect(page.getByTestId('grid-b').getByTestId('exemplar').first()).toBeVisible();
  await expect(page.getByTestId('pair-detail')).toContainText('lift');
  // The first row is the best mutual pair: what the core lists first.
  const list = await service.matchList({ indexId: idA, otherId: (await service.openIndex({ path: pathB })).id, kind: 'mutual', sort: 'score', desc: true, offset: 0, limit: 1 });
  await expect(page).toHaveURL(new RegExp(`f=${list.rows[0]!.feature}&p=${list.rows[0]!.other}`));
  await page.screenshot({ path: testInfo.outputPath('match-view.png') });
  // No-counterpart list is its own tab.
  await page.getByTestId('tab-no-counterpart').click();
  await expect(page.getByTestId('match-list')).toBeVisible();
});

test('match list: thumbnails and labels per row, an empty tab explains itself, co-active stays ≥ 1, ids by name', async ({ page }, testInfo) => {
  const idB = (await service.openIndex({ path: pathB })).id;
  await service.matchIndexes({ indexId: idA, otherId: idB });
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(new URL(`#/index/${idA}/match?other=${idB}`, host.url).href);
  const firstRow = page.getByTestId('match-row').first();
  await expect(firstRow.getByTestId('match-thumb').first()).toBeVisible();
  await expect(firstRow.getByTestId('match-label').first()).toContainText(/beach|desert|forest|ocean|snow/);
  // Both sides share the name CLIP-…: the select and heading tell them apart by SAE and folder, not a path.
  await expect(page.getByTestId('match-other-select').locator('option', { hasText: 'index-b' })).toHaveCount(1);
  await page.screenshot({ path: testInfo.outputPath('match-list-thumbs.png') });

  const minCo = page.getByTestId('min-co');
  await minCo.fill('-5');
  await minCo.press('Tab');
  await expect(minCo).toHaveValue('1');

  await page.getByTestId('tab-no-counterpart').click();
  const threshold = page.getByTestId('threshold');
  await threshold.fill('-1');
  await threshold.press('Tab');
  await expect(page.getByTestId('match-empty-hint')).toContainText('Raise “best score below”');

  // Go to by the printed name.
  const nameA = (await service.indexSummary({ indexId: idA })).name;
  await page.getByTestId('match-go-feature').fill(`${nameA}/3`);
  await page.getByTestId('match-go').click();
  await expect(page).toHaveURL(/side=a&f=3/);
  await page.getByTestId('match-go-feature').fill('DINOv2-3K/3');
  await page.getByTestId('match-go').click();
  await expect(page.getByTestId('match-go-problem')).toContainText('names a feature of DINOv2-3K');
});

test('query view: open an image, brush patches, click a returned feature', async ({ page }, testInfo) => {
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(new URL(`#/index/${idA}/query`, host.url).href);
  const label = fs.readdirSync(fixture.dataDir).sort()[0]!;
  const file = fs.readdirSync(path.join(fixture.dataDir, label)).filter((f) => f.endsWith('.png') || f.endsWith('.jpg')).sort()[0]!;
  await page.getByTestId('image-file').setInputFiles(path.join(fixture.dataDir, label, file));
  const picker = page.getByTestId('patch-picker').first();
  await expect(picker).toBeVisible();
  const box = (await picker.boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.2, box.y + box.height * 0.2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.5, { steps: 6 });
  await page.mouse.up();
  const strips = page.getByTestId('feature-strip');
  await expect(strips.first()).toBeVisible();
  // A second model on the same image and region: its own ranked features appear beside.
  const idB = (await service.openIndex({ path: pathB })).id;
  await page.getByTestId('query-with').selectOption(idB);
  await expect(page.getByTestId(`query-results-${idB}`).getByTestId('feature-strip').first()).toBeVisible();
  await expect(page.getByTestId('patch-picker')).toHaveCount(2);
  const feature = await page.getByTestId(`query-results-${idA}`).getByTestId('feature-strip').first().getAttribute('data-feature');
  await page.screenshot({ path: testInfo.outputPath('query-view.png') });
  await page.getByTestId(`query-results-${idA}`).getByTestId('feature-strip').first().getByTestId('open-feature').click();
  await expect(page).toHaveURL(new RegExp(`#/index/${idA}/feature/${feature}$`));
  await expect(page.getByTestId('similar-features')).toBeVisible();
});
