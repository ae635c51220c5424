import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { expect, test, type Page, type TestInfo } from '@playwright/test';
import { createStudioService, type StudioService } from '../../src-main/core/service.js';
import type { WebHost } from '../../src-main/hosts/web/webHost.js';
import { closeE2e, serveRenderer } from '../helpers/e2eHost.js';
import { runIndex } from '../../src-main/core/indexer/runIndex.js';
import { makeTinyVit, type TinyVit } from '../helpers/makeTinyVit.js';
import { makeSae } from '../helpers/makeSae.js';
import { frameColour, makeClip } from '../helpers/makeClip.js';

// A real video index (issue 4) in Chromium against the web host: clips and a frame folder made in
// code, a tiny ViT and two SAEs indexed in one pass into a group folder. The features table's
// temporal columns, an exemplar clip opened in the flicker view with the group's other SAE beside
// it, and the welcome screen's New index form filled for the same kind of dataset.

test.describe.configure({ mode: 'serial' });

let work: string;
let service: StudioService;
let host: WebHost;
let vit: TinyVit;
let saeA: string;
let saeB: string;
let dataDir: string;
let groupDir: string;
let indexId: string;

const FRAMES = 6;

/** Two labels, five clips: lossless .mkv of changing solid colours (with a moving square) and one folder of frames. */
async function makeVideoDataset(dir: string): Promise<string> {
  makeClip(path.join(dir, 'rise', 'a.mkv'), { frames: 12, width: 64, height: 48 });
  makeClip(path.join(dir, 'rise', 'b.mkv'), { frames: 8, width: 48, height: 48 });
  makeClip(path.join(dir, 'fall', 'c.mkv'), { frames: 10, width: 64, height: 64 });
  makeClip(path.join(dir, 'fall', 'd.mkv'), { frames: 12, width: 40, height: 32, fps: 5 });
  const frames = path.join(dir, 'fall', 'frames-e');
  fs.mkdirSync(frames, { recursive: true });
  for (let t = 0; t < 8; t++) {
    const [r, g, b] = frameColour(11 - t);
    // A white square moving left to right over a solid background.
    const square = await sharp({ create: { width: 12, height: 12, channels: 3, background: { r: 255, g: 255, b: 255 } } }).png().toBuffer();
    await sharp({ create: { width: 48, height: 48, channels: 3, background: { r, g, b } } })
      .composite([{ input: square, left: 4 * t, top: 18 }])
      .png()
      .toFile(path.join(frames, `${t + 1}.png`));
  }
  return dir;
}

test.beforeAll(async () => {
  test.setTimeout(180_000);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-e2e-video-'));
  vit = await makeTinyVit({ dir: path.join(work, 'vit'), imageSize: 32, patchSize: 8, dModel: 16, cls: true, seed: 5 });
  saeA = makeSae(path.join(work, 'sae-topk'), { dIn: 16, dSae: 48, architecture: 'topk', k: 4, seed: 7 });
  saeB = makeSae(path.join(work, 'sae-relu'), { dIn: 16, dSae: 32, architecture: 'relu', seed: 9, format: 'safetensors' });
  dataDir = await makeVideoDataset(path.join(work, 'clips'));
  groupDir = path.join(work, 'group');
  await runIndex({ model: vit.manifestPath, layer: 'block_1', sae: saeA, saes: [saeB], data: dataDir, out: groupDir, kind: 'videos', frames: FRAMES, topK: 4, batch: 8, provider: 'cpu' });
  expect(JSON.parse(fs.readFileSync(path.join(groupDir, 'group.json'), 'utf8')).members).toHaveLength(2);
  service = await createStudioService({ settingsDir: path.join(work, 'settings'), host: 'web', openAtStart: groupDir });
  indexId = (await service.appInfo()).startIndexId!;
  host = await serveRenderer(service);
});

test.afterAll(async () => {
  await closeE2e(host, service, work);
});

test('a video index: temporal columns sort like the core; an exemplar clip opens in the flicker view beside the group’s other SAE', async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  await page.setViewportSize({ width: 1440, height: 1000 });
  const summary = await service.indexSummary({ indexId });
  expect(summary.kind).toBe('videos');
  expect(summary.items).toBe(5);
  expect(summary.group?.members).toHaveLength(2);

  await page.goto(host.url);
  await expect(page).toHaveURL(new RegExp(`#/index/${indexId}/features`));
  await expect(page.getByTestId('feature-row').first()).toBeVisible();
  await expect(page.getByTestId('sort-autocorr')).toContainText('Autocorr.');
  await expect(page.getByTestId('sort-switch')).toContainText('Switch');

  // Most stable first, then most flickery: the table shows the core's order.
  for (const [testid, sort] of [
    ['sort-autocorr', 'autocorrelation'],
    ['sort-switch', 'switchRate'],
  ] as const) {
    const header = page.getByTestId(testid);
    await header.click();
    if ((await header.getAttribute('aria-sort')) !== 'descending') await header.click();
    await expect(header).toHaveAttribute('aria-sort', 'descending');
    const expected = await service.queryFeatures({ indexId, sort, desc: true, offset: 0, limit: 10 });
    expect(expected.rows.some((r) => (sort === 'autocorrelation' ? r.autocorrelation : r.switchRate) !== null)).toBe(true);
    await expect
      .poll(async () => page.getByTestId('feature-row').evaluateAll((rows) => rows.slice(0, 10).map((r) => Number(r.getAttribute('data-feature')))))
      .toEqual(expected.rows.map((r) => r.feature));
    const first = expected.rows[0]!;
    const shown = sort === 'autocorrelation' ? first.autocorrelation : first.switchRate;
    await expect(page.getByTestId('feature-row').first().getByTestId(sort === 'autocorrelation' ? 'row-autocorr' : 'row-switch')).toContainText(shown!.toFixed(2));
  }
  await page.screenshot({ path: testInfo.outputPath('video-features.png') });
  // The summary states the frames per clip, the SAE's temporal coherence, and the group's other SAE.
  await expect(page.getByTestId('summary-temporal')).toContainText(`${FRAMES} frames per clip`);
  if (summary.temporal?.coherenceKept != null) {
    await expect(page.getByTestId('summary-temporal')).toContainText(`keeps ${Math.round(summary.temporal.coherenceKept * 100)}% of raw temporal coherence`);
  }
  const otherName = summary.group!.members.find((m) => m.path !== summary.path)!.name;
  await expect(page.getByTestId('summary-group')).toContainText(otherName);
  await page.getByTestId('summary-stats').screenshot({ path: testInfo.outputPath('video-summary.png') });

  // The most frequent feature: its exemplar clips link to the flicker view.
  const top = (await service.queryFeatures({ indexId, sort: 'frequency', desc: true, offset: 0, limit: 1 })).rows[0]!.feature;
  await page.goto(`${host.url}#/index/${indexId}/feature/${top}`);
  const detail = await service.featureDetail({ indexId, feature: top });
  const tiles = page.getByTestId('exemplar');
  await expect(tiles).toHaveCount(detail.exemplars.length);
  if (detail.row.switchRate !== null) await expect(page.getByTestId('feature-switch')).toHaveText(detail.row.switchRate.toFixed(2));
  const link = tiles.first().getByTestId('exemplar-flicker');
  await expect(link).toHaveText('▶ flicker');
  await page.screenshot({ path: testInfo.outputPath('video-feature.png'), fullPage: true });
  await link.click();
  const clip = detail.exemplars[0]!.item;
  await expect(page).toHaveURL(new RegExp(`#/index/${indexId}/flicker\\?`));
  const query = () => new URLSearchParams(new URL(page.url()).hash.split('?')[1] ?? '');
  expect(query().get('clip')).toBe(clip);
  expect(query().get('feature')).toBe(String(top));
  const paneA = page.getByTestId(`flicker-pane-${indexId}`);
  await expect(paneA).toBeVisible({ timeout: 30_000 });
  const strip = page.getByTestId('frame-strip').locator('img');
  await expect(strip.first()).toBeVisible();
  const frames = await strip.count();
  expect(frames).toBeGreaterThan(2);

  // The group's other member is offered as the second SAE.
  const other = summary.group!.members.find((m) => m.path !== summary.path)!;
  const otherOption = page.getByTestId('flicker-other').locator(`option[value="path:${other.path}"]`);
  await expect(otherOption).toHaveText(other.name);
  await page.getByTestId('flicker-other').selectOption(`path:${other.path}`);
  const otherId = (await service.openIndex({ path: other.path })).id;
  const paneB = page.getByTestId(`flicker-pane-${otherId}`);
  await expect(paneB).toBeVisible({ timeout: 30_000 });
  await expect(page).toHaveURL(new RegExp(`other=${otherId}`));
  // The first pane's "closest feature" suggestions now come from the second SAE.
  await expect(paneA.getByTestId('flicker-closest').locator('button').first()).toBeVisible();
  await paneB.getByTestId('flicker-top').locator('button').first().click();
  await expect(paneB.getByTestId('flicker-trace')).toBeVisible();

  // Stepping frames moves the trace markers of both panes.
  const marker = paneA.getByTestId('trace-marker');
  await expect(marker).toHaveAttribute('data-frame', '0');
  const x0 = Number(await marker.getAttribute('x1'));
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await expect(marker).toHaveAttribute('data-frame', '2');
  await expect(paneB.getByTestId('trace-marker')).toHaveAttribute('data-frame', '2');
  expect(Number(await marker.getAttribute('x1'))).toBeGreaterThan(x0);
  await expect(page.getByTestId('flicker-frame-no')).toHaveText(`frame 3 / ${frames}`);
  await page.screenshot({ path: testInfo.outputPath('video-flicker.png') });
});

test('the New index form indexes a video dataset with two SAEs into a group folder and opens it', async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  await page.setViewportSize({ width: 1440, height: 1100 });
  // A service with nothing to open at start: the welcome screen stays.
  const fresh = await createStudioService({ settingsDir: path.join(work, 'settings-fresh'), host: 'web' });
  const freshHost = await serveRenderer(fresh);
  try {
    await newIndexFromForm(page, testInfo, fresh, freshHost);
  } finally {
    await freshHost.close();
    await fresh.close();
  }
});

async function newIndexFromForm(page: Page, testInfo: TestInfo, service: StudioService, host: WebHost): Promise<void> {
  await page.goto(host.url);
  const form = page.getByTestId('new-index-form');
  await expect(form).toBeVisible();

  await page.getByTestId('new-manifest').fill(vit.manifestPath);
  await page.getByTestId('new-manifest').press('Enter');
  await expect(page.getByTestId('new-layer').locator('option', { hasText: 'block_1' })).toHaveCount(1);
  await page.getByTestId('new-layer').selectOption('block_1');

  await page.getByTestId('new-kind-videos').click();
  await expect(page.getByTestId('new-video-options')).toBeVisible();
  await page.getByTestId('new-sae').fill(saeA);
  await page.getByTestId('new-sae').press('Enter');
  await expect(page.getByTestId('new-sae-info')).toContainText(/topk k=4/);

  // A second SAE, read and described like the first.
  await page.getByTestId('new-add-sae').click();
  await page.getByTestId('new-sae-2').fill(saeB);
  await page.getByTestId('new-sae-2').press('Enter');
  await expect(page.getByTestId('new-sae-2-info')).toContainText(/relu/);
  await expect(page.getByTestId('new-sae-2-info')).toContainText(/32/);

  await page.getByTestId('new-data').fill(dataDir);
  await page.getByTestId('new-frames').fill('4');
  const out = path.join(work, 'from-form');
  await page.getByTestId('new-out').fill(out);
  await page.screenshot({ path: testInfo.outputPath('new-video-index-form.png'), fullPage: true });
  await page.getByTestId('new-submit').click();

  await expect(page.getByTestId('new-open')).toBeVisible({ timeout: 90_000 });
  const group = JSON.parse(fs.readFileSync(path.join(out, 'group.json'), 'utf8'));
  expect(group.members).toHaveLength(2);
  await page.getByTestId('new-open').click();

  const summary = await service.openIndex({ path: out });
  expect(summary.kind).toBe('videos');
  expect(summary.framesPerClip).toBe(4);
  expect(summary.items).toBe(5);
  await expect(page).toHaveURL(new RegExp(`#/index/${summary.id}/features`));
  await expect(page.getByTestId('feature-row').first()).toBeVisible();
  await expect(page.getByTestId('sort-autocorr')).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath('new-video-index-open.png') });
}
