import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { createStudioService, type StudioService } from '../../src-main/core/service.js';
import type { WebHost } from '../../src-main/hosts/web/webHost.js';
import { closeE2e, serveRenderer } from '../helpers/e2eHost.js';
import { runIndex } from '../../src-main/core/indexer/runIndex.js';
import { buildFixtureIndex, type FixtureIndex } from '../helpers/buildFixtureIndex.js';
import { makeImageFolder } from '../helpers/makeImageFolder.js';

// Triage by keyboard in real Chromium against the web host: tag ten features, filter by tag,
// export, then import into a fresh index of the same SAE (on another machine: fresh settings)
// and see the tags there.

test.describe.configure({ mode: 'serial' });

let work: string;
let fixture: FixtureIndex;
let service: StudioService;
let host: WebHost;
let indexId: string;
let exported: string;

// An image index takes scene and object; action needs time (a video index) and is refused.
const CATEGORIES = ['scene', 'object', 'object'] as const;
const KEYS = ['1', '3', '3'] as const;

test.beforeAll(async () => {
  test.setTimeout(180_000);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-e2e-tags-'));
  fixture = await buildFixtureIndex(path.join(work, 'fixture'), { perLabel: 4 });
  service = await createStudioService({ settingsDir: path.join(work, 'settings'), host: 'web', openAtStart: fixture.indexDir });
  indexId = (await service.appInfo()).startIndexId!;
  host = await serveRenderer(service);
});

test.afterAll(async () => {
  await closeE2e(host, service, work);
});

test('tags ten features by keyboard, undoes, filters by tag, exports', async ({ page }, testInfo) => {
  await page.goto(new URL(`#/index/${indexId}/feature/0`, host.url).href);
  await expect(page.getByTestId('tag-editor')).toBeVisible();
  for (let f = 0; f < 10; f++) {
    await expect(page).toHaveURL(new RegExp(`/feature/${f}$`));
    await expect(page.getByTestId('feature-id').first()).toContainText(`/${f}`);
    if (f === 1) {
      // "action" on an image index is refused with the reason, and nothing is set.
      await page.keyboard.press('2');
      await expect(page.getByText(/scene or object/).first()).toBeVisible();
      await expect(page.getByTestId('set-category-action')).toHaveAttribute('aria-checked', 'false');
    }
    await page.keyboard.press(KEYS[f % 3]!);
    await expect(page.getByTestId(`set-category-${CATEGORIES[f % 3]}`)).toHaveAttribute('aria-checked', 'true');
    if (f % 2 === 0) {
      await page.keyboard.press('t');
      await expect(page.getByTestId('tag-input')).toBeFocused();
      await page.keyboard.type('triaged');
      await page.keyboard.press('Enter');
      await expect(page.getByTestId('feature-tag')).toHaveText(['triaged ×']);
    }
    await page.keyboard.press('r');
    await expect(page.getByTestId('reviewed-toggle')).toBeChecked();
    if (f === 4) {
      await page.keyboard.press('n');
      await page.keyboard.type('texture of sand');
      await page.keyboard.press('Control+Enter');
      await expect(page.getByTestId('feature-note')).toContainText('texture of sand');
    }
    if (f === 9) break;
    await page.keyboard.press('j');
  }
  // The last change (reviewed on #9) is undone with u; Ctrl+Z undoes the category.
  await page.keyboard.press('u');
  await expect(page.getByTestId('reviewed-toggle')).not.toBeChecked();
  await page.keyboard.press('Control+z');
  await expect(page.getByTestId('set-category-scene')).toHaveAttribute('aria-checked', 'false');
  await page.keyboard.press('1');
  await expect(page.getByTestId('set-category-scene')).toHaveAttribute('aria-checked', 'true');
  await page.screenshot({ path: testInfo.outputPath('tagged-feature.png') });

  for (let f = 0; f < 10; f++) {
    const t = await service.featureTags({ indexId, feature: f });
    expect(t.category).toBe(CATEGORIES[f % 3]);
    expect(t.tags).toEqual(f % 2 === 0 ? ['triaged'] : []);
    expect(t.reviewed).toBe(f !== 9);
  }
  expect((await service.featureTags({ indexId, feature: 4 })).notes.map((n) => n.text)).toEqual(['texture of sand']);

  // Back to the table; filter by the tag.
  await page.keyboard.press('Escape');
  await expect(page).toHaveURL(/\/features/);
  await page.getByTestId('filter-tag').selectOption('triaged');
  await expect(page).toHaveURL(/tag=triaged/);
  await expect
    .poll(async () => page.getByTestId('feature-row').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-feature')))))
    .toEqual([0, 2, 4, 6, 8]);
  await expect(page.getByTestId('row-tags').first()).toContainText('Scene');
  await page.getByTestId('filter-category').selectOption('object');
  await expect
    .poll(async () => page.getByTestId('feature-row').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-feature')))))
    .toEqual([2, 4, 8]);
  await page.screenshot({ path: testInfo.outputPath('filtered-by-tag.png') });

  // Export through the UI (a download).
  const download = page.waitForEvent('download');
  await page.getByTestId('export-json').click();
  const file = await download;
  expect(file.suggestedFilename()).toMatch(/-tags\.json$/);
  exported = path.join(work, file.suggestedFilename());
  await file.saveAs(exported);
  const data = JSON.parse(fs.readFileSync(exported, 'utf8'));
  expect(data.features).toHaveLength(10);
  expect(data.sae.hash).toBe((await service.indexSummary({ indexId })).sae.hash);
});

test('imports the file into a fresh index of the same SAE and shows the tags', async ({ page }) => {
  test.setTimeout(120_000);
  const data = await makeImageFolder(path.join(work, 'data2'), { labels: ['lake', 'city', 'field'], perLabel: 3, width: 100, height: 90, seed: 12 });
  const dir2 = path.join(work, 'index2');
  await runIndex(
    { model: fixture.manifestPath, layer: 'block_1', sae: fixture.saePath, data: data.dir, out: dir2, topK: 8, batch: 8, provider: 'cpu' },
    { checkpointIntervalMs: 0 },
  );
  // Another machine: its own settings, so nothing arrives through the app-wide store.
  const other = await createStudioService({ settingsDir: path.join(work, 'settings-2'), host: 'web', openAtStart: dir2 });
  const otherHost = await serveRenderer(other);
  try {
    const id2 = (await other.appInfo()).startIndexId!;
    expect((await other.featureTags({ indexId: id2, feature: 0 })).category).toBeNull();
    // One local category that disagrees with the file: reported as a conflict, not overwritten.
    await other.editTags({ indexId: id2, features: [1], category: 'scene' });

    await page.goto(new URL(`#/index/${id2}/features`, otherHost.url).href);
    await expect(page.getByTestId('feature-row').first()).toBeVisible();
    await page.getByTestId('import-file').setInputFiles(exported);
    const report = page.getByTestId('import-report');
    await expect(report).toContainText('Imported 10 features');
    await expect(report).toContainText('1 conflicts');
    await expect(page.getByTestId('category-count-scene')).toContainText('5');
    await page.getByTestId('tag-filter-triaged').click();
    await expect
      .poll(async () => page.getByTestId('feature-row').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-feature')))))
      .toEqual([0, 2, 4, 6, 8]);
    await page.getByTestId('feature-row').nth(2).click();
    await expect(page).toHaveURL(new RegExp(`/feature/4$`));
    await expect(page.getByTestId('set-category-object')).toHaveAttribute('aria-checked', 'true');
    await expect(page.getByTestId('feature-note')).toContainText('texture of sand');
    await expect(page.getByTestId('reviewed-toggle')).toBeChecked();
    expect((await other.featureTags({ indexId: id2, feature: 1 })).category).toBe('scene');
  } finally {
    await otherHost.close();
    await other.close();
  }
});
