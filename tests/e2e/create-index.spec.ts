import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { createStudioService, type StudioService } from '../../src-main/core/service.js';
import type { WebHost } from '../../src-main/hosts/web/webHost.js';
import { closeE2e, serveRenderer } from '../helpers/e2eHost.js';
import { makeTinyVit, type TinyVit } from '../helpers/makeTinyVit.js';
import { makeSae } from '../helpers/makeSae.js';
import { makeImageFolder } from '../helpers/makeImageFolder.js';

// The welcome screen's "New index" form drives a real indexing job in the worker thread: what a
// first-time user does before anything else.

let work: string;
let service: StudioService;
let host: WebHost;
let vit: TinyVit;
let saePath: string;
let dataDir: string;

test.beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-e2e-new-'));
  vit = await makeTinyVit({ dir: path.join(work, 'vit'), imageSize: 32, patchSize: 8, dModel: 16, cls: true, seed: 2 });
  saePath = makeSae(path.join(work, 'sae'), { dIn: 16, dSae: 48, architecture: 'topk', k: 4, seed: 3 });
  dataDir = (await makeImageFolder(path.join(work, 'data'), { perLabel: 6, corrupt: 1 })).dir;
  service = await createStudioService({ settingsDir: path.join(work, 'settings'), host: 'web' });
  host = await serveRenderer(service);
});

test.afterAll(async () => {
  await closeE2e(host, service, work);
});

test('a new index is built from the welcome screen, with progress, and opens', async ({ page }, testInfo) => {
  await page.goto(host.url);
  const form = page.getByTestId('new-index-form');
  await expect(form).toBeVisible();

  await page.getByTestId('new-manifest').fill(vit.manifestPath);
  await page.getByTestId('new-manifest').press('Enter');
  // The manifest's layers fill the layer list.
  await expect(page.getByTestId('new-layer').locator('option', { hasText: 'block_1' })).toHaveCount(1);
  await page.getByTestId('new-layer').selectOption('block_1');

  await page.getByTestId('new-sae').fill(saePath);
  await page.getByTestId('new-sae').press('Enter');
  // What was detected in the checkpoint is shown before indexing.
  await expect(form.getByText(/topk/)).toBeVisible();
  await expect(form.getByText(/48/).first()).toBeVisible();
  // This SAELens checkpoint records no Matryoshka widths: they can be stated here.
  await page.getByTestId('new-groups').fill('16,40');
  await expect(page.getByTestId('new-groups-problem')).toContainText('48');
  await page.getByTestId('new-groups').fill('16,48');
  await expect(page.getByTestId('new-groups-problem')).toHaveCount(0);

  await page.getByTestId('new-data').fill(dataDir);
  const out = path.join(work, 'index');
  await page.getByTestId('new-out').fill(out);
  await page.getByTestId('new-submit').click();

  const status = page.getByTestId('new-job-status');
  await expect(status).toBeVisible();
  await expect(page.getByTestId('new-open')).toBeVisible({ timeout: 60_000 });
  await page.screenshot({ path: testInfo.outputPath('new-index-done.png') });
  await page.getByTestId('new-open').click();

  const summary = await service.openIndex({ path: out });
  expect(summary.items).toBe(18);
  expect(summary.skipped).toBe(1);
  expect(summary.sae.groups).toEqual([16, 48]);
  await expect(page).toHaveURL(new RegExp(`#/index/${summary.id}/features`));
  await expect(page.getByTestId('feature-row').first()).toBeVisible();
  await expect(page.getByTestId('summary-stats')).toContainText('18');

  // The jobs panel floats over the table without narrowing it, says the job finished (not the
  // last phase it reported), and goes away with Escape or another view.
  const tableWidth = async () => (await page.locator('main.app-view').boundingBox())!.width;
  const before = await tableWidth();
  await page.getByTestId('jobs-indicator').click();
  const panel = page.getByTestId('jobs-panel');
  await expect(panel).toBeVisible();
  expect(await tableWidth()).toBe(before);
  await expect(panel.getByTestId('job-phase').first()).toHaveText('finished');
  await page.keyboard.press('Escape');
  await expect(panel).toHaveCount(0);
  await page.getByTestId('jobs-indicator').click();
  await expect(panel).toBeVisible();
  await page.getByTestId('feature-row').first().click();
  await expect(page).toHaveURL(/\/feature\/\d+$/);
  await expect(panel).toHaveCount(0);
});

test('a bad manifest path says what is wrong', async ({ page }) => {
  await page.goto(host.url);
  await page.getByTestId('new-manifest').fill(path.join(work, 'nope.json'));
  await page.getByTestId('new-manifest').press('Enter');
  await expect(page.getByTestId('new-index-form')).toContainText(/cannot read backbone manifest .*nope\.json/);
});
