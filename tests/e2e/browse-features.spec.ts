import { expect, test } from '@playwright/test';
import type { StudioService } from '../../src-main/core/service.js';
import type { WebHost } from '../../src-main/hosts/web/webHost.js';
import { closeE2e, openFixtureE2e } from '../helpers/e2eHost.js';
import { plasmaRgb } from '../../src-renderer/src/lib/plasma.js';

// The renderer in real Chromium against the web host and a real index built by the indexer.

test.describe.configure({ mode: 'serial' });

let work: string;
let service: StudioService;
let host: WebHost;
let indexId: string;

test.beforeAll(async () => {
  test.setTimeout(120_000);
  ({ work, service, host, indexId } = await openFixtureE2e('features'));
});

test.afterAll(async () => {
  await closeE2e(host, service, work);
});

test('opens the index, sorts by frequency, reads a feature with its heatmaps, steps with the keyboard', async ({ page }, testInfo) => {
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(host.url);
  await expect(page).toHaveURL(new RegExp(`#/index/${indexId}/features`));
  const summary = await service.indexSummary({ indexId });
  await expect(page.getByTestId('feature-row').first()).toBeVisible();

  // Sort by frequency, descending (the core sorts; the table shows its order).
  const header = page.getByTestId('sort-frequency');
  await header.click();
  if ((await header.getAttribute('aria-sort')) !== 'descending') await header.click();
  await expect(header).toHaveAttribute('aria-sort', 'descending');
  const expected = await service.queryFeatures({ indexId, sort: 'frequency', desc: true, offset: 0, limit: 10 });
  await expect
    .poll(async () => (await page.getByTestId('feature-row').evaluateAll((rows) => rows.slice(0, 10).map((r) => Number(r.getAttribute('data-feature'))))))
    .toEqual(expected.rows.map((r) => r.feature));
  await page.screenshot({ path: testInfo.outputPath('features-view.png') });

  // Open the most frequent feature.
  const top = expected.rows[0]!.feature;
  await page.getByTestId('feature-row').first().click();
  await expect(page).toHaveURL(new RegExp(`#/index/${indexId}/feature/${top}$`));
  await expect(page.getByTestId('feature-id').first()).toContainText(`${summary.name}/${top}`);

  // Matryoshka groups are named on the feature.
  const groups = summary.sae.groups!;
  const g = groups.findIndex((end) => top < end);
  await expect(page.getByTestId('matryoshka-group')).toContainText(`Matryoshka group ${g + 1}/${groups.length}`);

  // Exemplars in rank order, as the index holds them.
  const detail = await service.featureDetail({ indexId, feature: top });
  expect(detail.exemplars.length).toBeGreaterThan(3);
  const tiles = page.getByTestId('exemplar');
  await expect(tiles).toHaveCount(detail.exemplars.length);
  const shown = await tiles.evaluateAll((els) => els.map((e) => [Number(e.getAttribute('data-rank')), Number(e.getAttribute('data-item'))]));
  expect(shown).toEqual(detail.exemplars.map((e) => [e.rank, e.itemId]));
  await expect(tiles.first().locator('img')).toHaveJSProperty('complete', true);

  // The overlay pixel over a patch carries that patch's colour: plasma(v / upper), alpha 0.9 v / upper.
  const first = detail.exemplars[0]!;
  const [rows, cols] = detail.grid;
  const patch = first.patchMap.indexOf(Math.max(...first.patchMap));
  const low = first.patchMap.findIndex((v) => v > 0 && v < 0.6 * detail.upper);
  for (const p of [patch, low].filter((p) => p >= 0)) {
    const pixel = await page.getByTestId('overlay').first().evaluate(
      (canvas: HTMLCanvasElement, [p, rows, cols]) => {
        const ctx = canvas.getContext('2d')!;
        const x = Math.floor(((p % cols) + 0.5) * (canvas.width / cols));
        const y = Math.floor((Math.floor(p / cols) + 0.5) * (canvas.height / rows));
        return Array.from(ctx.getImageData(x, y, 1, 1).data);
      },
      [p, rows, cols] as const,
    );
    const t = first.patchMap[p]! / detail.upper;
    const [r, g, b] = plasmaRgb(t);
    const alpha = 0.9 * Math.pow(t, 1.5);
    expect(pixel[3]! / 255).toBeCloseTo(alpha, 1);
    // Canvas stores premultiplied colour, so low alphas lose a little precision on readback.
    const tolerance = 3 / Math.max(alpha, 0.05);
    expect(Math.abs(pixel[0]! - r)).toBeLessThanOrEqual(tolerance);
    expect(Math.abs(pixel[1]! - g)).toBeLessThanOrEqual(tolerance);
    expect(Math.abs(pixel[2]! - b)).toBeLessThanOrEqual(tolerance);
  }
  // A patch where the feature is silent stays transparent.
  const silent = first.patchMap.findIndex((v) => v <= 0);
  if (silent >= 0) {
    const a = await page.getByTestId('overlay').first().evaluate(
      (canvas: HTMLCanvasElement, [p, rows, cols]) => {
        const x = Math.floor(((p % cols) + 0.5) * (canvas.width / cols));
        const y = Math.floor((Math.floor(p / cols) + 0.5) * (canvas.height / rows));
        return canvas.getContext('2d')!.getImageData(x, y, 1, 1).data[3];
      },
      [silent, rows, cols] as const,
    );
    expect(a).toBe(0);
  }
  await page.screenshot({ path: testInfo.outputPath('feature-view.png'), fullPage: true });
  await testInfo.attach('feature-view', { path: testInfo.outputPath('feature-view.png'), contentType: 'image/png' });

  // Keyboard: → goes to the next feature in table order, ← back, Escape to the table.
  await page.keyboard.press('ArrowRight');
  await expect(page).toHaveURL(new RegExp(`#/index/${indexId}/feature/${expected.rows[1]!.feature}$`));
  await page.keyboard.press('ArrowLeft');
  await expect(page).toHaveURL(new RegExp(`#/index/${indexId}/feature/${top}$`));
  await page.keyboard.press('o');
  await expect(page.getByTestId('overlay').first()).toBeHidden();
  await page.keyboard.press('Escape');
  await expect(page).toHaveURL(new RegExp(`#/index/${indexId}/features`));
});

test('the table filters one Matryoshka group', async ({ page }) => {
  await page.goto(`${host.url}#/index/${indexId}/features`);
  await page.getByTestId('filter-group').selectOption('1');
  await expect(page).toHaveURL(/minIndex=48&maxIndex=95|maxIndex=95.*minIndex=48/);
  await expect(page.getByTestId('row-count')).toContainText('48 match');
  const shown = await page.getByTestId('feature-row').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-feature'))));
  expect(shown.length).toBeGreaterThan(0);
  expect(shown.every((f) => f >= 48 && f <= 95)).toBe(true);
});

test('skipped files are listed with their reason', async ({ page }) => {
  await page.goto(`${host.url}#/index/${indexId}/features`);
  const skipped = await service.skippedItems({ indexId });
  expect(skipped).toHaveLength(1);
  await page.getByTestId('summary-stats').getByRole('link').first().click();
  await expect(page.getByRole('cell', { name: skipped[0]!.item, exact: true })).toBeVisible();
  await expect(page.getByRole('cell', { name: /cannot decode image/ })).toBeVisible();
});

test('the range filters narrow the table as typed (mean and log10 frequency, min and max)', async ({ page }) => {
  await page.goto(`${host.url}#/index/${indexId}/features`);
  await expect(page.getByTestId('feature-row').first()).toBeVisible();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  const all = await service.queryFeatures({ indexId, sort: 'mean', desc: true, offset: 0, limit: 1000 });
  // A bound inside the data, so the filter must drop some rows and keep some.
  const means = all.rows.map((r) => r.mean).filter((m) => m > 0).sort((a, b) => a - b);
  const bound = Number(means[Math.floor(means.length / 2)]!.toFixed(2));
  const expected = await service.queryFeatures({ indexId, sort: 'index', desc: false, offset: 0, limit: 1000, filter: { minMean: bound } });
  expect(expected.total).toBeGreaterThan(0);
  expect(expected.total).toBeLessThan(all.total);

  await page.getByTestId('filter-mean').getByLabel('mean minimum').fill(String(bound));
  await expect(page).toHaveURL(new RegExp(`minMean=${bound}`));
  await expect(page.getByTestId('row-count')).toContainText(`${expected.total} match`);
  const shown = await page.getByTestId('feature-row').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-feature'))));
  expect(shown.length).toBeGreaterThan(0);
  expect(shown.every((f) => expected.rows.some((r) => r.feature === f))).toBe(true);

  // log10 frequency maximum, typed and confirmed with Enter.
  const freqBound = -1.5;
  const byFreq = await service.queryFeatures({
    indexId,
    sort: 'index',
    desc: false,
    offset: 0,
    limit: 1000,
    filter: { minMean: bound, maxLogFrequency: freqBound },
  });
  await page.getByTestId('filter-logfreq').getByLabel('log₁₀ freq maximum').fill(String(freqBound));
  await page.getByTestId('filter-logfreq').getByLabel('log₁₀ freq maximum').press('Enter');
  await expect(page.getByTestId('row-count')).toContainText(`${byFreq.total} match`);
  expect(errors).toEqual([]);
});

test('Go to accepts the feature ids the studio prints and refuses an empty box', async ({ page }) => {
  await page.goto(`${host.url}#/index/${indexId}/features`);
  const summary = await service.indexSummary({ indexId });
  const jump = page.getByTestId('jump-input');
  await jump.fill('');
  await jump.press('Enter');
  await expect(page.getByText(/Enter a feature from 0 to/)).toBeVisible();
  await expect(page).toHaveURL(new RegExp(`#/index/${indexId}/features`));
  await jump.fill(`${summary.name}/7`);
  await jump.press('Enter');
  await expect(page).toHaveURL(new RegExp(`#/index/${indexId}/feature/7$`));
});

test('an error on a missing feature does not follow the user to the next feature', async ({ page }) => {
  await page.goto(`${host.url}#/index/${indexId}/feature/9999`);
  await expect(page.getByText(/Feature 9999 does not exist/).first()).toBeVisible();
  await page.goto(`${host.url}#/index/${indexId}/feature/5`);
  await expect(page.getByTestId('feature-id').first()).toContainText('/5');
  await expect(page.getByTestId('exemplar-grid').or(page.getByTestId('feature-stats')).first()).toBeVisible();
  await expect(page.getByText(/9999/)).toHaveCount(0);
  await expect(page.getByText(/Could not (save|load) the tags/)).toHaveCount(0);
  // nor to the table's Tags panel
  await page.goto(`${host.url}#/index/${indexId}/features`);
  await expect(page.getByTestId('feature-row').first()).toBeVisible();
  await expect(page.getByText(/9999/)).toHaveCount(0);
});
