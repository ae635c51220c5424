import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { createStudioService, type StudioService } from '../../src-main/core/service.js';
import { IndexReader } from '../../src-main/core/store/indexReader.js';
import type { WebHost } from '../../src-main/hosts/web/webHost.js';
import { closeE2e, serveRenderer } from '../helpers/e2eHost.js';
import { makeImageFolder } from '../helpers/makeImageFolder.js';
import { makeSae } from '../helpers/makeSae.js';
import { makeTinyVit, type TinyVit } from '../helpers/makeTinyVit.js';

// Issue 19: the New index form offers the thumbnail mode, on demand by default; an on-demand
// index's exemplar images still show in the browser (made when the page asks for them).

let work: string;
let service: StudioService;
let host: WebHost;
let vit: TinyVit;
let saePath: string;
let dataDir: string;
/** The features table of the on-demand index the first test builds. */
let onDemandTable: string | null = null;

test.beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-e2e-thumbs-'));
  vit = await makeTinyVit({ dir: path.join(work, 'vit'), imageSize: 32, patchSize: 8, dModel: 16, cls: true, seed: 2 });
  saePath = makeSae(path.join(work, 'sae'), { dIn: 16, dSae: 24, architecture: 'topk', k: 4, seed: 3 });
  dataDir = (await makeImageFolder(path.join(work, 'data'), { perLabel: 4 })).dir;
  service = await createStudioService({ settingsDir: path.join(work, 'settings'), host: 'web' });
  host = await serveRenderer(service);
});

test.afterAll(async () => {
  await closeE2e(host, service, work);
});

async function fillForm(page: Page, out: string): Promise<void> {
  await page.goto(host.url);
  await expect(page.getByTestId('new-index-form')).toBeVisible();
  await page.getByTestId('new-manifest').fill(vit.manifestPath);
  await page.getByTestId('new-manifest').press('Enter');
  await expect(page.getByTestId('new-layer').locator('option', { hasText: 'block_1' })).toHaveCount(1);
  await page.getByTestId('new-layer').selectOption('block_1');
  await page.getByTestId('new-sae').fill(saePath);
  await page.getByTestId('new-sae').press('Enter');
  await page.getByTestId('new-data').fill(dataDir);
  await page.getByTestId('new-out').fill(out);
}

const thumbsOf = (dir: string) => fs.readdirSync(path.join(dir, 'thumbs')).filter((f) => f.endsWith('.webp'));

function modeOf(dir: string): string | undefined {
  const r = IndexReader.open('mode', dir);
  try {
    return r.config.thumbnails;
  } finally {
    r.close();
  }
}

test('on demand by default: the build writes no thumbnails, the feature page still shows its exemplars', async ({ page }) => {
  const out = path.join(work, 'on-demand');
  await fillForm(page, out);
  await expect(page.getByTestId('new-thumbs-on-demand')).toHaveAttribute('aria-pressed', 'true');
  await expect(page.getByTestId('new-thumbs-hint')).toContainText('dataset must stay in place');
  await page.getByTestId('new-submit').click();
  await expect(page.getByTestId('new-open')).toBeVisible({ timeout: 60_000 });
  expect(modeOf(out)).toBe('on-demand');
  expect(thumbsOf(out)).toEqual([]);

  await page.getByTestId('new-open').click();
  await page.getByTestId('feature-row').first().click();
  const images = page.getByTestId('exemplar').locator('img');
  await expect(images.first()).toBeVisible();
  const shown = await images.count();
  expect(shown).toBeGreaterThan(0);
  // Every exemplar image decoded (a 404 would leave naturalWidth 0 and the placeholder).
  await expect.poll(async () => images.evaluateAll((els) => els.filter((e) => (e as HTMLImageElement).naturalWidth > 0).length)).toBe(shown);
  expect(thumbsOf(out).length).toBeGreaterThan(0);

  onDemandTable = `${host.url}#/index/${/#\/index\/([^/]+)\//.exec(page.url())![1]}/features`;
});

test('resting the pointer on a row makes its exemplar thumbnails before the click', async ({ page }) => {
  // A fresh browser (no cached images) on the index the previous test built, its thumbnails gone.
  expect(onDemandTable, 'the previous test builds the index').not.toBeNull();
  const out = path.join(work, 'on-demand');
  for (const f of thumbsOf(out)) fs.rmSync(path.join(out, 'thumbs', f));
  await page.goto(onDemandTable!);
  const row = page.getByTestId('feature-row').first();
  await expect(row).toBeVisible();
  const feature = Number(await row.getAttribute('data-feature'));
  const reader = IndexReader.open('hover', out);
  const wanted = [...new Set(reader.featureDetail(feature).exemplars.map((e) => `${e.itemId}.webp`))].sort();
  reader.close();
  expect(wanted.length).toBeGreaterThan(0);
  expect(thumbsOf(out)).toEqual([]);
  await row.hover();
  await expect.poll(() => thumbsOf(out).sort()).toEqual(wanted);
  await expect(page.getByTestId('feature-table')).toBeVisible(); // still the table: nothing was opened
});

test('"All now" builds an eager index with every exemplar thumbnail written', async ({ page }) => {
  const out = path.join(work, 'eager');
  await fillForm(page, out);
  await page.getByTestId('new-thumbs-eager').click();
  await expect(page.getByTestId('new-thumbs-hint')).toContainText('works without its dataset');
  await page.getByTestId('new-submit').click();
  await expect(page.getByTestId('new-open')).toBeVisible({ timeout: 60_000 });
  expect(modeOf(out)).toBe('eager');
  expect(thumbsOf(out).length).toBeGreaterThan(0);
});
