import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { expect, test, type Page } from '@playwright/test';
import { createStudioService, type StudioService } from '../../src-main/core/service.js';
import type { WebHost } from '../../src-main/hosts/web/webHost.js';
import { closeE2e, serveRenderer } from '../helpers/e2eHost.js';
import { runIndex } from '../../src-main/core/indexer/runIndex.js';
import { buildFixtureIndex, type FixtureIndex } from '../helpers/buildFixtureIndex.js';
import { makeSae } from '../helpers/makeSae.js';
import { makeClip } from '../helpers/makeClip.js';

// Issue 16's accessibility pass in real Chromium against the web host and a real fixture index:
// every view, light and dark, checked by axe-core (the standard rules engine, loaded from
// node_modules: nothing is fetched) with no serious or critical violation allowed; then
// keyboard-only walks through the features grid, the scatter, the patch picker and the flicker
// view's frame seek.

test.describe.configure({ mode: 'serial' });
// axe is injected as a script tag; the host's Content-Security-Policy (script-src 'self') would
// refuse it, and it is the page under test, not the CSP, that is being checked here.
test.use({ bypassCSP: true });

let work: string;
let fixture: FixtureIndex;
let service: StudioService;
let host: WebHost;
let idA: string;
let idB: string;
let clip: string;
let topFeature: number;

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const SHOTS = path.resolve('test-results/artifacts/a11y');

test.beforeAll(async () => {
  test.setTimeout(180_000);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-e2e-a11y-'));
  fixture = await buildFixtureIndex(path.join(work, 'fixture'), { perLabel: 4 });
  // A second SAE on the same layer, so the match view has rows to show.
  const saeB = makeSae(path.join(work, 'sae-b'), { dIn: 24, dSae: 128, architecture: 'topk', k: 6, seed: 31, format: 'safetensors' });
  const pathB = path.join(work, 'index-b');
  await runIndex({ model: fixture.manifestPath, layer: 'block_1', sae: saeB, data: fixture.dataDir, out: pathB, topK: 16, batch: 8, provider: 'cpu' });
  clip = makeClip(path.join(work, 'clips', 'colours.mkv'), { frames: 8, width: 96, height: 96 });
  service = await createStudioService({ settingsDir: path.join(work, 'settings'), host: 'web' });
  idB = (await service.openIndex({ path: pathB })).id;
  idA = (await service.openIndex({ path: fixture.indexDir })).id;
  await service.matchIndexes({ indexId: idA, otherId: idB });
  topFeature = (await service.queryFeatures({ indexId: idA, sort: 'frequency', desc: true, offset: 0, limit: 1 })).rows[0]!.feature;
  host = await serveRenderer(service);
  fs.mkdirSync(SHOTS, { recursive: true });
});

test.afterAll(async () => {
  await closeE2e(host, service, work);
});

const at = (route: string) => new URL(`#${route}`, host.url).href;

interface Found {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; summary: string }[];
}

/** Runs axe on the page as it is; returns the serious and critical violations. */
async function seriousViolations(page: Page): Promise<Found[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE });
  const found = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: Found[] }> } }).axe;
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.map(String), summary: (n as unknown as { failureSummary?: string }).failureSummary ?? '' })),
    }));
  });
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

function describeViolations(list: Found[]): string {
  return list
    .map((v) => `${v.impact} ${v.id}: ${v.help}\n${v.nodes.map((n) => `    ${n.target.join(' ')}  ${n.summary.replace(/\s+/g, ' ').slice(0, 200)}`).join('\n')}`)
    .join('\n');
}

interface View {
  name: string;
  route: () => string;
  /** Waits until the view shows its real content (not a loading state). */
  ready: (page: Page) => Promise<void>;
}

const VIEWS: View[] = [
  { name: 'welcome', route: () => '/', ready: async (p) => void (await expect(p.getByRole('heading').first()).toBeVisible()) },
  {
    name: 'features',
    route: () => `/index/${idA}/features`,
    ready: async (p) => {
      await expect(p.getByTestId('feature-row').first()).toBeVisible();
      await expect(p.getByTestId('scatter')).toBeVisible();
    },
  },
  {
    name: 'feature',
    route: () => `/index/${idA}/feature/${topFeature}`,
    ready: async (p) => void (await expect(p.getByTestId('feature-id').first()).toBeVisible()),
  },
  {
    name: 'item',
    route: () => `/index/${idA}/item/0`,
    ready: async (p) => void (await expect(p.getByTestId('item-feature').first()).toBeVisible({ timeout: 30_000 })),
  },
  { name: 'skipped', route: () => `/index/${idA}/skipped`, ready: async (p) => void (await expect(p.locator('main, .skipped, h1, h2').first()).toBeVisible()) },
  {
    name: 'match',
    route: () => `/index/${idA}/match?other=${idB}`,
    ready: async (p) => void (await expect(p.getByTestId('match-row').first()).toBeVisible({ timeout: 30_000 })),
  },
  {
    name: 'query',
    route: () => `/index/${idA}/query`,
    ready: async (p) => {
      const label = fs.readdirSync(fixture.dataDir).sort()[0]!;
      const file = fs.readdirSync(path.join(fixture.dataDir, label)).filter((f) => /\.(png|jpe?g)$/.test(f)).sort()[0]!;
      await p.getByTestId('image-file').setInputFiles(path.join(fixture.dataDir, label, file));
      await expect(p.getByTestId('patch-picker').first()).toBeVisible({ timeout: 30_000 });
    },
  },
  {
    name: 'flicker',
    route: () => `/index/${idA}/flicker?clip=${encodeURIComponent(clip)}`,
    ready: async (p) => void (await expect(p.getByTestId(`flicker-pane-${idA}`).getByTestId('flicker-trace')).toBeVisible({ timeout: 30_000 })),
  },
  { name: 'intervene', route: () => `/index/${idA}/intervene`, ready: async (p) => void (await expect(p.locator('h1, h2').first()).toBeVisible()) },
  { name: 'not-found', route: () => '/no/such/place', ready: async (p) => void (await expect(p.getByText(/is not a view/).first()).toBeVisible()) },
];

for (const scheme of ['light', 'dark'] as const) {
  for (const view of VIEWS) {
    test(`axe: ${view.name} (${scheme}) has no serious or critical violations`, async ({ page }) => {
      test.setTimeout(90_000);
      await page.setViewportSize({ width: 1440, height: 960 });
      // The theme choice defaults to "system", which follows prefers-color-scheme.
      await page.emulateMedia({ colorScheme: scheme, reducedMotion: 'reduce' });
      await page.goto(at(view.route()));
      await view.ready(page);
      // The dark palette is in force (its page background), not just requested.
      const bg = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--bg').trim());
      expect(bg).toBe(scheme === 'dark' ? '#131317' : '#f6f6f4');
      await page.screenshot({ path: path.join(SHOTS, `${view.name}-${scheme}.png`), fullPage: true });
      const violations = await seriousViolations(page);
      // A11Y_DISCOVER=1 collects every view's findings into /tmp/a11y-found.txt instead of failing
      // (serial mode would otherwise skip the remaining views after the first failure).
      if (process.env.A11Y_DISCOVER) fs.appendFileSync('/tmp/a11y-found.txt', `== ${view.name} ${scheme}\n${describeViolations(violations)}\n`);
      else expect(violations, describeViolations(violations)).toEqual([]);
    });
  }
}

/** Presses Tab until the focused element matches `selector` (keyboard only: no clicks, no focus()). */
async function tabTo(page: Page, selector: string, max = 80): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
  }
  throw new Error(`Tab never reached ${selector}`);
}
const focused = (page: Page, attr: string) => page.evaluate((a) => document.activeElement?.getAttribute(a) ?? null, attr);

test('keyboard: the features table is a grid with one tab stop; j/k/arrows move focus, Enter opens', async ({ page }) => {
  await page.goto(at(`/index/${idA}/features`));
  const grid = page.getByRole('grid', { name: 'Features' });
  await expect(page.getByTestId('feature-row').first()).toBeVisible();
  const total = (await service.queryFeatures({ indexId: idA, sort: 'index', desc: false, offset: 0, limit: 1 })).total;
  await expect(grid).toHaveAttribute('aria-rowcount', String(total + 1));
  await expect(grid.getByRole('columnheader', { name: /freq/ })).toHaveAttribute('aria-sort', /none|ascending|descending/);
  await expect(page.getByTestId('feature-row').first().getByRole('gridcell').first()).toBeVisible();
  // One row in the tab order; its cells' controls are out of it.
  expect(await page.locator('[role="row"][tabindex="0"]').count()).toBe(1);
  expect(await page.getByTestId('row-check').first().getAttribute('tabindex')).toBe('-1');

  await tabTo(page, '[data-testid="feature-row"]');
  expect(await focused(page, 'aria-rowindex')).toBe('2');
  await page.keyboard.press('j');
  await expect.poll(() => focused(page, 'aria-rowindex')).toBe('3');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await expect.poll(() => focused(page, 'aria-rowindex')).toBe('5');
  await page.keyboard.press('k');
  await expect.poll(() => focused(page, 'aria-rowindex')).toBe('4');
  // The roving stop moved with focus.
  await expect(page.locator('[role="row"][tabindex="0"]')).toHaveAttribute('aria-rowindex', '4');
  // Far down the virtualised list focus still follows.
  await page.keyboard.press('End');
  await expect.poll(() => focused(page, 'aria-rowindex')).toBe(String(total + 1));
  await page.keyboard.press('Home');
  await expect.poll(() => focused(page, 'aria-rowindex')).toBe('2');
  await page.keyboard.press('j');
  const feature = await focused(page, 'data-feature');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(new RegExp(`#/index/${idA}/feature/${feature}$`));
});

test('keyboard: the scatter walks between points, announces them, Enter opens one', async ({ page }) => {
  await page.goto(at(`/index/${idA}/features`));
  await expect(page.getByTestId('feature-row').first()).toBeVisible();
  const scatter = page.getByTestId('scatter');
  await expect(scatter).toBeVisible();
  await tabTo(page, '[data-testid="scatter"]');
  const live = page.getByTestId('scatter-live');
  const summary = await service.indexSummary({ indexId: idA });
  // Focus starts on the highlighted feature (the table's first row).
  const first = await scatter.getAttribute('data-focused');
  expect(first).not.toBeNull();
  await expect(live).toContainText(`${summary.name}/${first}`);
  const seen = new Set([first]);
  for (const key of ['ArrowRight', 'ArrowUp', 'ArrowLeft', 'ArrowDown', 'ArrowRight']) {
    await page.keyboard.press(key);
    seen.add(await scatter.getAttribute('data-focused'));
  }
  // Arrows moved between points (and did not move the table: focus stayed on the plot).
  expect(seen.size).toBeGreaterThan(1);
  expect(await focused(page, 'data-testid')).toBe('scatter');
  const at_ = await scatter.getAttribute('data-focused');
  await expect(live).toContainText(`${summary.name}/${at_}`);
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(new RegExp(`#/index/${idA}/feature/${at_}$`));
});

test('keyboard: the patch picker moves a cursor, toggles with Space/Enter, Shift+arrows select a rectangle', async ({ page }) => {
  await page.goto(at(`/index/${idA}/query`));
  const label = fs.readdirSync(fixture.dataDir).sort()[0]!;
  const file = fs.readdirSync(path.join(fixture.dataDir, label)).filter((f) => /\.(png|jpe?g)$/.test(f)).sort()[0]!;
  await page.getByTestId('image-file').setInputFiles(path.join(fixture.dataDir, label, file));
  const picker = page.locator('[data-testid="patch-picker"][tabindex="0"]');
  await expect(picker).toBeVisible({ timeout: 30_000 });
  await tabTo(page, '[data-testid="patch-picker"]');
  const cursor = picker.getByTestId('patch-cursor');
  const start = Number(await picker.getAttribute('data-selected'));
  await page.keyboard.press('ArrowRight'); // shows the cursor on the first patch
  await expect(cursor).toHaveAttribute('data-patch', '0');
  await page.keyboard.press('ArrowRight');
  await expect(cursor).toHaveAttribute('data-patch', '1');
  await page.keyboard.press('Space');
  const afterSpace = Number(await picker.getAttribute('data-selected'));
  expect(Math.abs(afterSpace - start)).toBe(1);
  await page.keyboard.press('Enter');
  await expect(picker).toHaveAttribute('data-selected', String(start));
  // Shift+arrows from patch 1: the rectangle rows 0–1 × columns 1–3 joins the selection.
  await page.keyboard.down('Shift');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.up('Shift');
  const cols = Number(await picker.evaluate((el) => Math.round(el.getBoundingClientRect().width / el.querySelector('[data-testid="patch-cursor"]')!.getBoundingClientRect().width)));
  await expect(cursor).toHaveAttribute('data-patch', String(cols + 3));
  const sel = Number(await picker.getAttribute('data-selected'));
  expect(sel).toBeGreaterThanOrEqual(Math.max(6, start));
});

test('keyboard: flicker seek steps frames with the arrows, Home and End jump to the ends', async ({ page }) => {
  test.setTimeout(90_000);
  await page.goto(at(`/index/${idA}/flicker?clip=${encodeURIComponent(clip)}`));
  const frameNo = page.getByTestId('flicker-frame-no');
  await expect(frameNo).toHaveText(/frame 1 \/ \d+/, { timeout: 30_000 });
  const n = Number((await frameNo.textContent())!.match(/\/ (\d+)/)![1]);
  await page.keyboard.press('ArrowRight');
  await expect(frameNo).toHaveText(`frame 2 / ${n}`);
  await page.keyboard.press('End');
  await expect(frameNo).toHaveText(`frame ${n} / ${n}`);
  await page.keyboard.press('ArrowLeft');
  await expect(frameNo).toHaveText(`frame ${n - 1} / ${n}`);
  await page.keyboard.press('Home');
  await expect(frameNo).toHaveText(`frame 1 / ${n}`);
  // The frame strip's buttons are reachable and name their frame.
  await tabTo(page, '[data-testid="frame-strip"] button');
  expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent)).toMatch(/frame/i);
});

test('leftovers: Action is unavailable on an image index and says why; Compare with names indexes, not paths', async ({ page }) => {
  await page.goto(at(`/index/${idA}/feature/${topFeature}`));
  const action = page.getByTestId('set-category-action');
  await expect(action).toHaveAttribute('aria-disabled', 'true');
  await expect(action).toHaveAttribute('title', /needs time/);
  await action.click({ force: true }); // aria-disabled: Playwright would otherwise wait for it to enable
  await expect(action).toHaveAttribute('aria-checked', 'false');
  await expect(page.getByTestId('set-category-scene')).not.toHaveAttribute('aria-disabled', 'true');

  await page.goto(at(`/index/${idA}/query`));
  const option = page.locator('option', { hasText: '—' }).first();
  await expect(option).toBeAttached();
  const text = (await option.textContent())!;
  expect(text).not.toContain(work); // no absolute path
  expect(text).toMatch(/ — /);
});

test('leftovers: pressing 2 (action) on an image index changes nothing, sends no edit and says why; 1 still works', async ({ page }, testInfo) => {
  const edits: string[] = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && /\/api\/editTags$/.test(new URL(r.url()).pathname)) edits.push(r.url());
  });
  // The feature page: the key does what the unavailable chip does.
  const feature = topFeature + 1;
  await page.goto(at(`/index/${idA}/feature/${feature}`));
  await expect(page.getByTestId('set-category-action')).toHaveAttribute('aria-disabled', 'true');
  await page.locator('body').click({ position: { x: 5, y: 300 } });
  await page.keyboard.press('2');
  await expect(page.getByTestId('category-note')).toContainText(/Action needs time/);
  await page.screenshot({ path: testInfo.outputPath('feature-key-2.png') });
  await expect(page.getByTestId('set-category-action')).toHaveAttribute('aria-checked', 'false');
  await expect(page.locator('.error-notice, [role="alert"]')).toHaveCount(0);
  expect((await service.featureTags({ indexId: idA, feature })).category).toBeNull();
  expect(edits).toEqual([]);
  await page.keyboard.press('1');
  await expect(page.getByTestId('set-category-scene')).toHaveAttribute('aria-checked', 'true');
  await expect(page.getByTestId('category-note')).toHaveCount(0);
  await expect.poll(async () => (await service.featureTags({ indexId: idA, feature })).category).toBe('scene');
  await page.keyboard.press('1'); // clear it again for the other tests

  // The features table: 2 on the highlighted row, and on ticked rows through the bulk bar.
  await page.goto(at(`/index/${idA}/features`));
  await expect(page.getByTestId('feature-row').first()).toBeVisible();
  const first = Number(await page.getByTestId('feature-row').first().getAttribute('data-feature'));
  await page.locator('body').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('2');
  await expect(page.getByTestId('category-note')).toContainText(/Action needs time/);
  await page.getByTestId('row-check').nth(1).click();
  await expect(page.getByTestId('bulk-action')).toHaveAttribute('aria-disabled', 'true');
  await page.getByTestId('bulk-action').click({ force: true }); // aria-disabled: clickable, it says why
  await expect(page.getByTestId('category-note')).toContainText(/Action needs time/);
  await page.screenshot({ path: testInfo.outputPath('features-bulk-action.png') });
  expect((await service.featureTags({ indexId: idA, feature: first })).category).toBeNull();
  await expect(page.locator('.error-notice, [role="alert"]')).toHaveCount(0);
});
