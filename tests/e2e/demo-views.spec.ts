import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { createStudioService, type StudioService } from '../../src-main/core/service.js';
import type { WebHost } from '../../src-main/hosts/web/webHost.js';
import { closeE2e, serveRenderer } from '../helpers/e2eHost.js';
import { readDemo, type DemoManifest } from '../../src-main/core/demo/buildDemo.js';
import { factorPurity, readFactors } from '../../src-main/core/demo/factorPurity.js';
import { IndexReader } from '../../src-main/core/store/indexReader.js';
import { resolveIndexFolder } from '../../src-main/core/store/indexGroup.js';

// Issue 16 items 4, 5 and 11 on the real (small) demo, in Chromium against the web host:
// Intervene works out of the box with the demo's own head, and suppressing the demo's "blue"
// feature lowers "blue"; the flicker view lists the clips, puts the group's other SAE beside by
// default, offers only comparable indexes, aligns its panes over the full width, labels the
// trace's y axis and says how many frames it samples; the Flicker tab is for video indexes.

test.describe.configure({ mode: 'serial' });

let work: string;
let service: StudioService;
let host: WebHost;
let demo: DemoManifest;
let ids: { aImages: string; bImages: string; aClips: string; bClips: string };
const shots = path.resolve('test-results/artifacts');

test.beforeAll(async () => {
  test.setTimeout(300_000);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-e2e-demo-views-'));
  service = await createStudioService({ settingsDir: path.join(work, 'settings'), host: 'web', demoSize: 'small' });
  const job = await service.buildDemo({});
  const done = await service.waitForJob(job.jobId);
  expect(done.state, done.error ?? '').toBe('done');
  demo = readDemo((await service.demoStatus()).folder)!;
  // Opened in this order, so the recent list holds every demo index (the flicker "second SAE" list).
  ids = {
    bClips: (await service.openIndex({ path: demo.indexes.bClips })).id,
    bImages: (await service.openIndex({ path: demo.indexes.bImages })).id,
    aImages: (await service.openIndex({ path: demo.indexes.aImages })).id,
    aClips: (await service.openIndex({ path: demo.indexes.aClips })).id,
  };
  fs.mkdirSync(shots, { recursive: true });
  host = await serveRenderer(service);
});

test.afterAll(async () => {
  await closeE2e(host, service, work);
});

test('Intervene on the demo: its colour head is chosen, and suppressing the blue feature lowers "blue"', async ({ page }) => {
  test.setTimeout(90_000);
  await page.setViewportSize({ width: 1400, height: 900 });
  const blue = factorPurity(demo.indexes.aImages, demo.dataset, ['colour']).find((p) => p.value === 'blue')!;
  const reader = IndexReader.open('a', demo.indexes.aImages);
  const item = reader.featureDetail(blue.feature!).exemplars[0]!.item;
  reader.close();
  const id = path.basename(item).replace(/\.[^.]+$/, '');
  expect(readFactors(demo.dataset).get(id)!.colour).toBe('blue');
  const image = path.join(demo.dataset, 'images', item);

  await page.goto(new URL(`#/index/${ids.aImages}/intervene`, host.url).href);
  // No "Choose a task head": the demo's colour classifier on backbone A is already there.
  await expect(page.getByTestId('head-path')).toHaveValue(demo.heads.a.colour);
  await expect(page.getByTestId('demo-head')).toHaveValue(demo.heads.a.colour);
  await expect(page.getByTestId('intervene-view')).not.toContainText('Choose a task head');
  await page.getByTestId('image-path').fill(image);
  await page.getByTestId('image-path').press('Enter');
  await page.getByTestId('add-feature-input').fill(String(blue.feature));
  await page.getByTestId('add-feature').click();
  // A new feature starts suppressed (×0): the bars show blue before and after.
  const bar = page.locator('[data-testid="class-bar"]').filter({ hasText: 'blue' });
  await expect(bar).toHaveCount(1, { timeout: 30_000 });
  await expect(bar).toHaveAttribute('data-changed', 'true', { timeout: 30_000 });
  const before = parseFloat((await bar.locator('.bar.before').getAttribute('style'))!.replace(/^.*width:\s*/, ''));
  const after = 100 * Number(await bar.getAttribute('data-after'));
  expect(after).toBeLessThan(before - 1);
  await page.screenshot({ path: path.join(shots, 'demo-intervene.png') });

  // On backbone B's index the B head is the default (A's would not fit its width).
  await page.goto(new URL(`#/index/${ids.bImages}/intervene`, host.url).href);
  await expect(page.getByTestId('head-path')).toHaveValue(demo.heads.b.colour);
});

test('the Flicker tab is for video indexes: disabled with a reason on an image index', async ({ page }) => {
  await page.goto(new URL(`#/index/${ids.aImages}/features`, host.url).href);
  const tab = page.getByTestId('nav-flicker');
  await expect(tab).toHaveAttribute('aria-disabled', 'true');
  await expect(tab).toHaveAttribute('title', /video index/);
  await page.goto(new URL(`#/index/${ids.aClips}/features`, host.url).href);
  await expect(page.getByTestId('nav-flicker')).toHaveAttribute('href', /flicker/);
});

test('Flicker on the demo: clip list, the group’s other SAE by default, comparable indexes only, aligned full-width panes, a y axis', async ({ page }) => {
  test.setTimeout(120_000);
  await page.setViewportSize({ width: 1400, height: 1000 });
  const group = resolveIndexFolder(demo.indexes.aClips).group!;
  await page.goto(new URL(`#/index/${ids.aClips}/features`, host.url).href);
  await page.getByTestId('nav-flicker').click();

  // The second SAE is the group's Matryoshka member before any clip is open.
  await expect(page.getByTestId('flicker-other')).toHaveValue(`path:${group.members[1]!.path}`);
  // Backbone B's indexes and A's image index are not offered: listed as not comparable, with the reason.
  const excluded = page.getByTestId('flicker-other-excluded');
  await expect(excluded).toHaveCount(3);
  const reasons = await excluded.allTextContents();
  expect(reasons.filter((t) => /another backbone \(Toy ViT B/.test(t))).toHaveLength(2);
  expect(reasons.filter((t) => /another dataset \(images, not clips\)/.test(t))).toHaveLength(1);
  await expect(page.getByTestId('flicker-other').locator('option:not([disabled])')).toHaveCount(2); // (none) and a-matryoshka
  // The help text counts the index's own frames (6 in the small demo), not 16.
  await expect(page.getByTestId('flicker-frames-help')).toHaveText('6');

  // The clip list: every clip, searchable by its label.
  const list = page.getByTestId('clip-list');
  await expect(list.getByTestId('clip-item')).toHaveCount(10);
  await page.getByTestId('clip-search').fill('fall down');
  await expect.poll(() => list.getByTestId('clip-item').count()).toBeLessThan(10);
  for (const t of await list.getByTestId('clip-item').allTextContents()) expect(t.toLowerCase()).toContain('fall down');
  await page.getByTestId('clip-search').fill('');
  await expect(list.getByTestId('clip-item')).toHaveCount(10);
  await page.screenshot({ path: path.join(shots, 'demo-flicker-list.png') });
  await list.getByTestId('clip-item').first().click();

  const matryoshkaId = (await service.openIndex({ path: group.members[1]!.path })).id;
  const paneA = page.getByTestId(`flicker-pane-${ids.aClips}`);
  const paneB = page.getByTestId(`flicker-pane-${matryoshkaId}`);
  await expect(paneA.getByTestId('flicker-trace')).toBeVisible({ timeout: 30_000 });
  await expect(paneB.getByTestId('flicker-trace')).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('flicker-frame-no')).toHaveText('frame 1 / 6');

  // Aligned: both frames start at the same height and have the same size; together the panes use the width.
  const fa = (await paneA.getByTestId('flicker-frame').boundingBox())!;
  const fb = (await paneB.getByTestId('flicker-frame').boundingBox())!;
  expect(Math.abs(fa.y - fb.y)).toBeLessThanOrEqual(1);
  expect(Math.abs(fa.width - fb.width)).toBeLessThanOrEqual(1);
  const pa = (await paneA.boundingBox())!;
  const pb = (await paneB.boundingBox())!;
  const view = (await page.getByTestId('flicker-view').boundingBox())!;
  expect(pa.width + pb.width).toBeGreaterThan(0.9 * view.width - 40);
  const ta = (await paneA.getByTestId('flicker-trace').boundingBox())!;
  const tb = (await paneB.getByTestId('flicker-trace').boundingBox())!;
  expect(Math.abs(ta.y - tb.y)).toBeLessThanOrEqual(1);

  // The trace's y axis: ticks at 0, half and the top of the feature's scale, bottom to top.
  const ticks = paneA.getByTestId('trace-y-axis').getByTestId('y-tick');
  await expect(ticks).toHaveCount(3);
  const values = (await ticks.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-value')))));
  expect(values[0]).toBe(0);
  expect(values[2]).toBeGreaterThan(0);
  expect(values[1]).toBeCloseTo(values[2]! / 2, 5);
  const ys = await Promise.all((await ticks.all()).map(async (t) => (await t.boundingBox())!.y));
  expect(ys[0]).toBeGreaterThan(ys[1]!);
  expect(ys[1]).toBeGreaterThan(ys[2]!);
  await page.screenshot({ path: path.join(shots, 'demo-flicker.png') });
});
