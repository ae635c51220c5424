import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { createStudioService, type StudioService } from '../../src-main/core/service.js';
import type { WebHost } from '../../src-main/hosts/web/webHost.js';
import { closeE2e, serveRenderer } from '../helpers/e2eHost.js';
import { buildFixtureIndex, type FixtureIndex } from '../helpers/buildFixtureIndex.js';
import { makeTinyVit, type TinyVit } from '../helpers/makeTinyVit.js';

// Issue 16: an index named MODEL-WIDTH · dataset and renamed in place, the theme choice, and a
// manifest created from an .onnx in the New index form — against the real web host.

let work: string;
let fixture: FixtureIndex;
let vit: TinyVit;
let service: StudioService;
let host: WebHost;
let id: string;

test.beforeAll(async () => {
  test.setTimeout(180_000);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-e2e-names-'));
  fixture = await buildFixtureIndex(path.join(work, 'fixture'), { perLabel: 4 });
  vit = await makeTinyVit({ dir: path.join(work, 'vit-only'), imageSize: 32, patchSize: 8, dModel: 16, cls: true, seed: 2 });
  fs.rmSync(vit.manifestPath);
  service = await createStudioService({ settingsDir: path.join(work, 'settings'), host: 'web' });
  id = (await service.openIndex({ path: fixture.indexDir })).id;
  host = await serveRenderer(service);
});

test.afterAll(async () => {
  await closeE2e(host, service, work);
});

test('an index shows name · dataset, can be renamed, and go-to accepts both names', async ({ page }, testInfo) => {
  await page.goto(new URL(`#/index/${id}/features`, host.url).href);
  await expect(page.getByTestId('index-name')).toHaveText('CLIP-192');
  await expect(page.getByTestId('index-dataset')).toContainText('data');
  await page.getByTestId('rename-index').click();
  await page.getByTestId('rename-input').fill('beach/toys');
  await page.getByTestId('rename-save').click();
  await expect(page.getByTestId('rename-problem')).toContainText('cannot contain "/"');
  await page.getByTestId('rename-input').fill('beach-toys');
  await page.getByTestId('rename-save').click();
  await expect(page.getByTestId('index-name')).toHaveText('beach-toys');
  expect((await service.indexSummary({ indexId: id })).name).toBe('beach-toys');
  for (const theme of ['light', 'dark'] as const) {
    await page.getByTestId('theme-choice').selectOption(theme);
    await expect(page.locator('html')).toHaveAttribute('data-theme', theme);
    await page.screenshot({ path: testInfo.outputPath(`features-renamed-${theme}.png`) });
  }
  // Remembered across a reload.
  await page.reload();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await page.getByTestId('theme-choice').selectOption('system');
  await expect(page.locator('html')).not.toHaveAttribute('data-theme', /./);

  // The start page's recent list: name, dataset and the distinguishing detail, not a path.
  await page.goto(host.url);
  const recent = page.getByTestId('recent-index').first();
  await expect(recent).toContainText('beach-toys');
  await expect(recent).toContainText('· data');
  await expect(recent.getByTestId('recent-detail')).toHaveText('topk k=6 · index');
  await service.renameIndex({ indexId: id, name: 'CLIP-192' });
});

test('choosing an .onnx as the manifest offers its layers and writes the manifest', async ({ page }, testInfo) => {
  await page.goto(host.url);
  await page.getByTestId('new-manifest').fill(vit.modelPath);
  await page.getByTestId('new-manifest').press('Enter');
  const creator = page.getByTestId('manifest-creator');
  await expect(creator).toBeVisible();
  await expect(creator.getByTestId('manifest-layer')).toHaveCount(await creator.getByTestId('manifest-layer').count());
  await expect(creator).toContainText('block_1');
  await expect(page.getByTestId('new-index-form')).not.toContainText('not valid JSON');
  await page.screenshot({ path: testInfo.outputPath('manifest-creator.png') });
  await page.getByTestId('manifest-preset').selectOption('clip');
  await page.getByTestId('manifest-write').click();
  await expect(page.getByTestId('new-manifest')).toHaveValue(vit.modelPath.replace(/\.onnx$/, '.json'));
  await expect(page.getByTestId('new-layer').locator('option', { hasText: 'block_' })).not.toHaveCount(0);
  const json = JSON.parse(fs.readFileSync(vit.modelPath.replace(/\.onnx$/, '.json'), 'utf8'));
  expect(json.family).toBe('clip');
  expect(json.input.mean).toEqual([0.48145466, 0.4578275, 0.40821073]);
});

test('a missing manifest says so, with a hint that fits', async ({ page }) => {
  await page.goto(host.url);
  await page.getByTestId('new-manifest').fill(path.join(work, 'nope.json'));
  await page.getByTestId('new-manifest').press('Enter');
  const form = page.getByTestId('new-index-form');
  await expect(form).toContainText(/cannot read backbone manifest .*nope\.json/);
  await expect(form).toContainText('Nothing is at that path');
  await expect(form).not.toContainText('was found but cannot be used');
});
