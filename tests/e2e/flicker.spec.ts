import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { createStudioService, type StudioService } from '../../src-main/core/service.js';
import type { WebHost } from '../../src-main/hosts/web/webHost.js';
import { closeE2e, serveRenderer } from '../helpers/e2eHost.js';
import { runIndex } from '../../src-main/core/indexer/runIndex.js';
import { buildFixtureIndex, type FixtureIndex } from '../helpers/buildFixtureIndex.js';
import { makeSae } from '../helpers/makeSae.js';
import { makeClip } from '../helpers/makeClip.js';

// The flicker view (issue 4) in real Chromium against the web host: a generated clip opened by
// path, run live through the fixture's toy ViT and its Matryoshka SAE, then a second SAE on the
// same backbone layer side by side.

test.describe.configure({ mode: 'serial' });

let work: string;
let fixture: FixtureIndex;
let service: StudioService;
let host: WebHost;
let idA: string;
let idB: string;
let clip: string;

test.beforeAll(async () => {
  test.setTimeout(180_000);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-e2e-flicker-'));
  fixture = await buildFixtureIndex(path.join(work, 'fixture'), { perLabel: 4 });
  const saeB = makeSae(path.join(work, 'sae-b'), { dIn: 24, dSae: 128, architecture: 'topk', k: 6, seed: 31, format: 'safetensors' });
  const pathB = path.join(work, 'index-b');
  await runIndex({ model: fixture.manifestPath, layer: 'block_1', sae: saeB, data: fixture.dataDir, out: pathB, topK: 16, batch: 8, provider: 'cpu' });
  // 12 frames of changing colour (frameColour(t)), sampled as 16 segments by default.
  clip = makeClip(path.join(work, 'clips', 'colours.mkv'), { frames: 12, width: 128, height: 96 });
  service = await createStudioService({ settingsDir: path.join(work, 'settings'), host: 'web' });
  idB = (await service.openIndex({ path: pathB })).id;
  idA = (await service.openIndex({ path: fixture.indexDir })).id;
  host = await serveRenderer(service);
});

test.afterAll(async () => {
  await closeE2e(host, service, work);
});

/** A digest of a pane's overlay canvas pixels. */
async function overlaySignature(page: Page, indexId: string): Promise<string> {
  return page.getByTestId(`flicker-pane-${indexId}`).getByTestId('flicker-overlay').evaluate((el) => {
    const c = el as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let h = 0;
    let sum = 0;
    for (let i = 0; i < d.length; i++) {
      h = (h * 31 + d[i]!) | 0;
      sum += d[i]!;
    }
    return `${h}:${sum}`;
  });
}

test('flicker view: open a clip by path, step frames, the heatmap and trace marker follow; a second SAE side by side', async ({ page }, testInfo) => {
  test.setTimeout(90_000);
  await page.setViewportSize({ width: 1440, height: 1000 });
  // The fixture is an image index: its Flicker tab is disabled (no clips to list), but the view
  // still runs any clip path through its backbone, by address.
  await page.goto(new URL(`#/index/${idA}/features`, host.url).href);
  await expect(page.getByTestId('nav-flicker')).toHaveAttribute('aria-disabled', 'true');
  await page.goto(new URL(`#/index/${idA}/flicker`, host.url).href);
  await expect(page.getByTestId('flicker-view')).toContainText('Pick a clip');

  // Something that is not a clip says so.
  await page.getByTestId('clip-path').fill(fixture.manifestPath);
  await page.getByTestId('clip-path').press('Enter');
  await expect(page.getByTestId('flicker-view')).toContainText('is not a clip');

  await page.getByTestId('clip-path').fill(clip);
  await page.getByTestId('clip-path').press('Enter');
  const paneA = page.getByTestId(`flicker-pane-${idA}`);
  await expect(paneA).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('frame-strip').locator('img')).toHaveCount(16);
  // The strongest feature in the clip is shown first; its trace and stats appear.
  await expect(page).toHaveURL(/clip=.*colours\.mkv/);
  await expect(paneA.getByTestId('flicker-trace')).toBeVisible();
  await expect(paneA.getByTestId('flicker-stats')).toContainText('This clip');
  await expect(page.getByTestId('flicker-frame-no')).toHaveText('frame 1 / 16');

  // Step with the arrow keys: the frame number, the marker and the overlay follow.
  const marker = paneA.getByTestId('trace-marker');
  const signatures: string[] = [await overlaySignature(page, idA)];
  const xs: string[] = [(await marker.getAttribute('x1'))!];
  for (let t = 1; t <= 6; t++) {
    await page.keyboard.press('ArrowRight');
    await expect(page.getByTestId('flicker-frame-no')).toHaveText(`frame ${t + 1} / 16`);
    await expect(marker).toHaveAttribute('data-frame', String(t));
    await expect(paneA.getByTestId('flicker-overlay')).toHaveAttribute('data-frame', String(t));
    signatures.push(await overlaySignature(page, idA));
    xs.push((await marker.getAttribute('x1'))!);
  }
  // The marker moves right every step; the heatmap changes with the (changing) source frame.
  for (let i = 1; i < xs.length; i++) expect(Number(xs[i])).toBeGreaterThan(Number(xs[i - 1]));
  expect(new Set(signatures).size).toBeGreaterThan(2);
  await page.keyboard.press('ArrowLeft');
  await expect(marker).toHaveAttribute('data-frame', '5');
  // Clicking the trace seeks.
  const box = (await paneA.getByTestId('flicker-trace').boundingBox())!;
  await page.mouse.click(box.x + box.width * 0.05, box.y + box.height / 2);
  await expect(marker).toHaveAttribute('data-frame', '0');

  // Matryoshka group level: the first group only (features 0–47).
  await paneA.getByTestId('flicker-group').selectOption('1');
  for (const chip of await paneA.getByTestId('flicker-top').locator('button').allTextContents()) expect(Number(chip.trim())).toBeLessThan(48);

  // A second SAE on the same backbone layer, side by side and synchronised.
  await page.getByTestId('flicker-other').selectOption(idB);
  const paneB = page.getByTestId(`flicker-pane-${idB}`);
  await expect(paneB).toBeVisible({ timeout: 30_000 });
  await expect(page).toHaveURL(new RegExp(`other=${idB}`));
  await paneA.getByTestId('flicker-top').locator('button').first().click();
  const closest = paneA.getByTestId('flicker-closest').locator('button');
  await expect(closest.first()).toBeVisible();
  const suggested = (await closest.first().textContent())!.trim().split(/\s+/)[0]!;
  await closest.first().click();
  await expect(page).toHaveURL(new RegExp(`otherFeature=${suggested}`));
  await expect(paneB.getByTestId('flicker-trace')).toBeVisible();
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await expect(paneB.getByTestId('trace-marker')).toHaveAttribute('data-frame', '2');
  await expect(paneA.getByTestId('trace-marker')).toHaveAttribute('data-frame', '2');
  expect(await overlaySignature(page, idB)).not.toBe('0:0');
  await page.screenshot({ path: testInfo.outputPath('flicker-view.png') });
  fs.mkdirSync(path.resolve('test-results/artifacts'), { recursive: true });
  await page.screenshot({ path: path.resolve('test-results/artifacts/flicker-view.png') });

  // Back returns to the previous state (no second SAE).
  await page.goBack();
  await expect(page).not.toHaveURL(new RegExp(`other=${idB}`));
  await expect(paneB).toHaveCount(0);
});
