import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { createStudioService, type StudioService } from '../../src-main/core/service.js';
import type { WebHost } from '../../src-main/hosts/web/webHost.js';
import { closeE2e, serveRenderer } from '../helpers/e2eHost.js';
import { loadSae } from '../../src-main/core/sae/loadSae.js';
import { writeSafetensors } from '../../src-main/core/sae/safetensors.js';
import { buildFixtureIndex, type FixtureIndex } from '../helpers/buildFixtureIndex.js';
import { mulberry32 } from '../helpers/prng.js';

// Patch query → "Test causally" → intervention view, in real Chromium against the web host, on a
// real index (toy ViT + SAE + generated images). The toy blocks do not mix tokens, so the edit
// shows in a per-patch (segmentation) head reading the SAE layer's output; a classification head
// on the CLS token is opened too, to see its bars (which cannot move here).

test.describe.configure({ mode: 'serial' });

const LABELS = ['beach', 'desert', 'forest', 'ocean', 'snow'];
let work: string;
let fixture: FixtureIndex;
let service: StudioService;
let host: WebHost;
let indexId: string;
let image: string;
let segHead: string;
let clsHead: string;

function writeHead(dir: string, task: 'classification' | 'segmentation', input: string, weight: Float32Array, bias: Float32Array, pool?: 'cls' | 'mean'): string {
  fs.mkdirSync(dir, { recursive: true });
  writeSafetensors(path.join(dir, 'head.safetensors'), {
    weight: { shape: [LABELS.length, 24], data: weight },
    bias: { shape: [LABELS.length], data: bias },
  });
  fs.writeFileSync(path.join(dir, 'head.json'), JSON.stringify({ task, input, ...(pool ? { pool } : {}) }));
  fs.writeFileSync(path.join(dir, 'labels.json'), JSON.stringify(LABELS));
  return dir;
}

test.beforeAll(async () => {
  test.setTimeout(180_000);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-e2e-intervene-'));
  fixture = await buildFixtureIndex(path.join(work, 'fixture'));
  service = await createStudioService({ settingsDir: path.join(work, 'settings'), host: 'web' });
  indexId = (await service.openIndex({ path: fixture.indexDir })).id;
  const label = fs.readdirSync(fixture.dataDir).sort()[0]!;
  image = path.join(fixture.dataDir, label, fs.readdirSync(path.join(fixture.dataDir, label)).filter((f) => f.endsWith('.png') || f.endsWith('.jpg')).sort()[0]!);
  // The feature the query view will rank first over every patch: class 0 ("beach") of the
  // segmentation head reads along its decoder direction, so amplifying it paints patches beach.
  const loaded = await service.loadQueryImage({ image: { path: image }, indexIds: [indexId] });
  const [rows, cols] = loaded.views[0]!.grid;
  const all = Array.from({ length: rows * cols }, (_, p) => [Math.floor(p / cols), p % cols] as [number, number]);
  const top = (await service.queryPatches({ imageId: loaded.imageId, indexId, patches: all, limit: 1 })).features[0]!.feature;
  const W = loadSae(fixture.saePath).weights.W_dec;
  const r = mulberry32(3);
  const weight = Float32Array.from({ length: LABELS.length * 24 }, () => (r() * 2 - 1) * 0.3);
  let norm = 0;
  for (let i = 0; i < 24; i++) norm += W[top * 24 + i]! ** 2;
  for (let i = 0; i < 24; i++) weight[i] = (2 * W[top * 24 + i]!) / norm;
  segHead = writeHead(path.join(work, 'seg-head'), 'segmentation', 'block_1', weight, Float32Array.from([-2, 0, 0.1, 0.2, 0]));
  // The toy blocks do not mix tokens, so a CLS head could never move: this one reads the mean of
  // the patch tokens at the SAE's layer (DINOv2-style linear probes pool patches too).
  clsHead = writeHead(path.join(work, 'cls-head'), 'classification', 'block_1', weight, Float32Array.from([0, 0.3, 0.1, 0.5, 0.2]), 'mean');
  host = await serveRenderer(service);
});

test.afterAll(async () => {
  await closeE2e(host, service, work);
});

async function dragSlider(page: Page, slider: ReturnType<Page['getByTestId']>, to: number): Promise<void> {
  const box = (await slider.boundingBox())!;
  const y = box.y + box.height / 2;
  await page.mouse.move(box.x + box.width / 2, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * to, y, { steps: 12 });
  await page.mouse.up();
}

test('empty states say what to do', async ({ page }) => {
  await page.goto(new URL(`#/index/${indexId}/intervene`, host.url).href);
  await page.evaluate(() => localStorage.removeItem('studio.intervene.head'));
  await page.reload();
  await expect(page.getByTestId('intervene-view')).toContainText('Choose a task head');
  await expect(page.getByTestId('nav-intervene')).toHaveClass(/router-link-exact-active/);
  await page.getByTestId('head-path').fill(path.join(work, 'no-such-head'));
  await page.getByTestId('head-path').press('Enter');
  await expect(page.getByTestId('intervene-view')).toContainText('Open an image');
  await page.getByTestId('image-path').fill(image);
  await page.getByTestId('image-path').press('Enter');
  await expect(page.getByRole('alert')).toContainText('No head folder');
});

test('query → test causally → move a slider → the segmentation map changes, and the class bars move', async ({ page }, testInfo) => {
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(new URL(`#/index/${indexId}/query`, host.url).href);
  await page.getByTestId('image-file').setInputFiles(image);
  await expect(page.getByTestId('patch-picker').first()).toBeVisible();
  await page.getByTestId('select-all').click();
  await expect(page.getByTestId('feature-strip').first()).toBeVisible();
  const top = await page.getByTestId('feature-strip').first().getAttribute('data-feature');
  await page.getByTestId('test-causally').click();
  await expect(page).toHaveURL(new RegExp(`#/index/${indexId}/intervene`));

  await page.getByTestId('head-path').fill(segHead);
  await page.getByTestId('head-path').press('Enter');
  const after = page.getByTestId('seg-after');
  await expect(after).toBeVisible();
  // The query's top three features arrive suppressed (×0), the first being the query's best.
  const rows = page.getByTestId('intervene-feature');
  await expect(rows).toHaveCount(3);
  await expect(rows.first()).toHaveAttribute('data-feature', top!);
  await expect(rows.first().getByTestId('feature-multiple')).toHaveText('suppressed');
  await expect(rows.first()).toContainText('max in the index');
  const suppressed = await after.getAttribute('data-classes');

  await dragSlider(page, rows.first().getByTestId('feature-slider'), 1);
  await expect(rows.first().getByTestId('feature-multiple')).toHaveText('×3.00');
  await expect(after).not.toHaveAttribute('data-classes', suppressed!);
  const changed = page.getByTestId('changed-patches');
  await expect.poll(async () => Number(await changed.getAttribute('data-count'))).toBeGreaterThan(0);
  // Amplified, the feature's class ("beach", class 0) takes over patches.
  const classes = (await after.getAttribute('data-classes'))!.split(',').map(Number);
  expect(classes.filter((c) => c === 0).length).toBeGreaterThan(classes.length / 2);
  await page.screenshot({ path: testInfo.outputPath('intervene-segmentation.png') });

  // Only the selected patches are edited: clear, then brush diagonally over patches (0,0) and (1,1).
  await page.getByTestId('clear-selection').click();
  await expect(page.getByTestId('intervene-results')).toContainText('No patch selected');
  await expect(changed).toHaveAttribute('data-count', '0');
  const picker = page.getByTestId('patch-picker');
  const box = (await picker.boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.05, box.y + box.height * 0.05);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.28, box.y + box.height * 0.28, { steps: 4 });
  await page.mouse.up();
  await expect(page.getByTestId('intervene-results')).toContainText('on 2 patch(es)');
  await expect.poll(async () => Number(await changed.getAttribute('data-count'))).toBeGreaterThan(0);
  const moved = (await after.getAttribute('data-changed'))!.split(',').map(Number);
  for (const p of moved) expect([0, 7]).toContain(p);
  await page.screenshot({ path: testInfo.outputPath('intervene-partial.png') });
  await page.getByTestId('select-all').click();

  // Unchecking every feature: before and after agree again.
  for (const box of await page.getByTestId('feature-enabled').all()) await box.uncheck();
  await expect(changed).toHaveAttribute('data-count', '0');
  for (const box of await page.getByTestId('feature-enabled').all()) await box.check();

  // A classification head on the same image and features: bars before and after.
  await page.getByTestId('head-path').fill(clsHead);
  await page.getByTestId('head-path').press('Enter');
  await expect(page.getByTestId('class-bar')).toHaveCount(LABELS.length);
  await expect(page.getByTestId('class-bars')).toContainText('Prediction');
  // Moving the slider moves the bars: suppressing the feature lowers class 0 ("beach", which reads
  // along its decoder direction), amplifying it raises it.
  const beach = page.locator('[data-testid="class-bar"][data-class="0"]');
  await dragSlider(page, rows.first().getByTestId('feature-slider'), 0.5);
  await expect(rows.first().getByTestId('feature-multiple')).toHaveText('suppressed');
  const low = Number(await beach.getAttribute('data-after'));
  await dragSlider(page, rows.first().getByTestId('feature-slider'), 1);
  await expect(rows.first().getByTestId('feature-multiple')).toHaveText('×3.00');
  await expect.poll(async () => Number(await beach.getAttribute('data-after'))).toBeGreaterThan(low + 0.01);
  await expect(beach).toHaveAttribute('data-changed', 'true');
  await page.screenshot({ path: testInfo.outputPath('intervene-classification.png') });

  // Adding a feature by number.
  await page.getByTestId('add-feature-input').fill('7');
  await page.getByTestId('add-feature').click();
  await expect(rows).toHaveCount(4);
  await page.getByTestId('add-feature-input').fill('7');
  await page.getByTestId('add-feature').click();
  await expect(page.getByTestId('intervene-view')).toContainText('already in the list');
});
