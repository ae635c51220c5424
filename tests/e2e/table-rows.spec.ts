import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import type { FeatureRow, FeatureSortKey } from '../../src-main/contract/index.js';
import { createStudioService, type StudioService } from '../../src-main/core/service.js';
import type { WebHost } from '../../src-main/hosts/web/webHost.js';
import { closeE2e, serveRenderer } from '../helpers/e2eHost.js';
import { formatCount } from '../../src-renderer/src/lib/format.js';

// The features table renders a fixed pool of row elements and patches them as it scrolls
// (issue 19). Whatever the scrolling, every row on screen must show the feature at its position
// in the current order, with that feature's numbers, tags and tick, and act on that feature when
// clicked; and scrolling must reuse the row elements, not make new ones.

test.describe.configure({ mode: 'serial' });

const FEATURES = 1024;
const ROW = 28;
let work: string;
let service: StudioService;
let host: WebHost;
let indexId: string;

test.beforeAll(async () => {
  test.setTimeout(180_000);
  const { buildFixtureIndex } = await import('../helpers/buildFixtureIndex.js');
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-e2e-table-rows-'));
  const fixture = await buildFixtureIndex(path.join(work, 'fixture'), { dSae: FEATURES, perLabel: 4 });
  service = await createStudioService({ settingsDir: path.join(work, 'settings'), host: 'web', openAtStart: fixture.indexDir });
  indexId = (await service.appInfo()).startIndexId!;
  // Tags on features spread over the table, so recycled rows show and drop tag chips.
  await service.editTags({ indexId, features: [5, 300, 640, 1000], category: 'scene', addTags: ['alpha', 'beta', 'gamma', 'delta'] });
  await service.editTags({ indexId, features: [301, 641], reviewed: true, addTags: ['solo'] });
  host = await serveRenderer(service);
});

test.afterAll(async () => {
  await closeE2e(host, service, work);
});

interface Shown {
  position: number;
  dataPosition: number;
  feature: number;
  id: string;
  count: string;
  tags: string;
  checked: boolean;
  busy: boolean;
}

/** Every rendered body row, in DOM order, loading rows included. */
function shownRows(page: Page): Promise<Shown[]> {
  return page.getByTestId('feature-table').locator('[role="row"]').evaluateAll((rows) =>
    rows.map((r) => ({
      position: Number(r.getAttribute('aria-rowindex')) - 2,
      dataPosition: Number(r.getAttribute('data-position') ?? -1),
      feature: Number(r.getAttribute('data-feature') ?? -1),
      id: r.querySelector('[data-testid="feature-id"]')?.textContent?.trim() ?? '',
      count: r.querySelector('.count')?.textContent?.trim() ?? '',
      tags: Array.from(r.querySelector('[data-testid="row-tags"]')?.children ?? [], (c) => c.textContent?.trim()).join(' '),
      checked: (r.querySelector('[type="checkbox"]') as HTMLInputElement | null)?.checked ?? false,
      busy: r.getAttribute('aria-busy') === 'true',
    })),
  );
}

const CATEGORY = { scene: 'Scene', action: 'Action', object: 'Object' } as const;

/** What is wrong with the rows on screen for `expected` (the whole table in its order); [] when right. */
function problems(shown: Shown[], expected: FeatureRow[], ticked: Set<number>): string[] {
  const out: string[] = [];
  if (shown.length === 0) out.push('no rows rendered');
  shown.forEach((s, i) => {
    if (i > 0 && s.position !== shown[i - 1]!.position + 1) out.push(`row ${i} at position ${s.position} after ${shown[i - 1]!.position}`);
    if (s.busy) return out.push(`position ${s.position} still loading`);
    const want = expected[s.position];
    if (!want) return out.push(`position ${s.position} past the end`);
    if (s.feature !== want.feature) out.push(`position ${s.position} shows feature ${s.feature}, not ${want.feature}`);
    if (s.dataPosition !== s.position) out.push(`position ${s.position} has data-position ${s.dataPosition}`);
    if (!s.id.endsWith(`/${want.feature}`)) out.push(`position ${s.position} reads "${s.id}" for feature ${want.feature}`);
    if (s.count !== formatCount(want.count)) out.push(`position ${s.position} count "${s.count}", not ${formatCount(want.count)}`);
    const tags = [...(want.category ? [CATEGORY[want.category]] : []), ...want.tags.slice(0, 3), ...(want.tags.length > 3 ? [`+${want.tags.length - 3}`] : []), ...(want.reviewed ? ['✓'] : [])].join(' ');
    if (s.tags !== tags) out.push(`position ${s.position} tags "${s.tags}", not "${tags}"`);
    if (s.checked !== ticked.has(want.feature)) out.push(`position ${s.position} (feature ${want.feature}) ticked ${s.checked}`);
  });
  return out;
}

/** Scrolls as a fling does: a new far position every animation frame, ending at `end` (a row). */
async function fling(page: Page, stops: number[]): Promise<void> {
  await page.getByTestId('feature-table').evaluate(async (scroller, { stops, row }) => {
    for (const stop of stops) {
      scroller.scrollTop = stop * row;
      await new Promise((r) => requestAnimationFrame(r));
    }
  }, { stops, row: ROW });
}

/** The rows on screen come to match the core's table in this order (asked again each try: edits land). */
/** The feature shown `below` rows under the top of the viewport. */
async function featureInView(page: Page, below: number): Promise<number> {
  const position = await page.getByTestId('feature-table').evaluate((s, row) => Math.ceil(s.scrollTop / row), ROW);
  return Number(await page.locator(`[data-testid="feature-row"][data-position="${position + below}"]`).getAttribute('data-feature'));
}

async function expectRowsRight(page: Page, sort: FeatureSortKey, desc: boolean, ticked: Set<number>): Promise<void> {
  await expect
    .poll(
      async () => {
        const expected = (await service.queryFeatures({ indexId, sort, desc, offset: 0, limit: FEATURES })).rows;
        expect(expected).toHaveLength(FEATURES);
        return problems(await shownRows(page), expected, ticked);
      },
      { timeout: 15_000 },
    )
    .toEqual([]);
}

test('after flings and a sort change every row shows and acts on the feature at its position; the row elements are reused', async ({ page }) => {
  await page.setViewportSize({ width: 1400, height: 900 });
  await page.goto(`${host.url}#/index/${indexId}/features`);
  await expect(page.getByTestId('feature-row').first()).toBeVisible();
  const ticked = new Set<number>();
  await expectRowsRight(page, 'index', false, ticked);

  // Tick feature 2 (its row is the third); the bar for the ticked rows appears above the table.
  await page.getByTestId('row-check').nth(2).click();
  ticked.add(2);
  await expect(page.getByTestId('bulk-bar')).toBeVisible();
  await expectRowsRight(page, 'index', false, ticked);

  // Mark the row elements; scrolling must patch these, not replace them.
  const pooled = await page.getByTestId('feature-table').locator('[role="row"]').evaluateAll((rows) => {
    for (const r of rows) (r as unknown as { poolMark: boolean }).poolMark = true;
    return rows.length;
  });
  expect(pooled).toBeGreaterThan(20);

  // Fling far down and partway back.
  await fling(page, [40, 160, 420, 700, 990, 610, 330, 290]);
  await expectRowsRight(page, 'index', false, ticked);
  await fling(page, [900, 20, 0]);
  await expectRowsRight(page, 'index', false, ticked);
  const fresh = await page.getByTestId('feature-table').locator('[role="row"]').evaluateAll((rows) => rows.filter((r) => !(r as unknown as { poolMark?: boolean }).poolMark).length);
  expect(fresh).toBe(0);

  // Sort by frequency while scrolled down: the table starts again at the top, in the new order.
  await fling(page, [500, 620]);
  await page.getByTestId('sort-frequency').locator('button').click();
  await expect(page.getByTestId('sort-frequency')).not.toHaveAttribute('aria-sort', 'none');
  const desc = (await page.getByTestId('sort-frequency').getAttribute('aria-sort')) === 'descending';
  await expectRowsRight(page, 'frequency', desc, ticked);
  await fling(page, [100, 380, 760, 1010, 300]);
  await expectRowsRight(page, 'frequency', desc, ticked);

  // A tag edit reloads the rows in place (old rows stay until the new ones come): the rows on
  // screen show the edit, on the features it was made to.
  // (Rows are found by the feature they show: an element shows another feature once scrolled.)
  const target = await featureInView(page, 3);
  const targetRow = page.locator(`[data-testid="feature-row"][data-feature="${target}"]`);
  await targetRow.getByTestId('row-check').click();
  ticked.add(target);
  await page.getByTestId('bulk-object').click();
  await expect.poll(async () => (await service.featureTags({ indexId, feature: target })).category).toBe('object');
  await expectRowsRight(page, 'frequency', desc, ticked);
  await expect(targetRow.getByTestId('category-chip')).toHaveText('Object');

  // A click on a recycled row opens the feature that row shows.
  const feature = await featureInView(page, 9);
  await page.locator(`[data-testid="feature-row"][data-feature="${feature}"]`).locator('.mean').click();
  await expect(page).toHaveURL(new RegExp(`/feature/${feature}(\\?|$)`));
});
