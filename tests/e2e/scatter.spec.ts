import { expect, test } from '@playwright/test';
import type { StudioService } from '../../src-main/core/service.js';
import type { WebHost } from '../../src-main/hosts/web/webHost.js';
import { layoutScatter } from '../../src-renderer/src/lib/scatterLayout.js';
import { closeE2e, openFixtureE2e } from '../helpers/e2eHost.js';

// The scatter in Chromium over the web host: its columns cross as float32 base64 and are decoded
// in the page; every live point is painted where the layout puts it, and hover and click land on
// the point a scan of every point finds nearest to the pointer.

test.describe.configure({ mode: 'serial' });

let work: string;
let service: StudioService;
let host: WebHost;
let indexId: string;

test.beforeAll(async () => {
  test.setTimeout(120_000);
  ({ work, service, host, indexId } = await openFixtureE2e('scatter'));
});

test.afterAll(async () => {
  await closeE2e(host, service, work);
});

/** The nearest live point within 6 px of (x, y) by scanning all of them (ties: the higher index). */
function scan(px: Float32Array, py: Float32Array, x: number, y: number): number | null {
  let best: number | null = null;
  let bestD = 36;
  for (let i = 0; i < px.length; i++) {
    if (Number.isNaN(px[i]!)) continue;
    const d = (px[i]! - x) ** 2 + (py[i]! - y) ** 2;
    if (d < bestD || (d === bestD && (best === null || i > best))) {
      bestD = d;
      best = i;
    }
  }
  return best;
}

test('paints every live point where the layout puts it; hover and click find the exact nearest point', async ({ page }) => {
  await page.goto(host.url);
  await expect(page).toHaveURL(new RegExp(`#/index/${indexId}/features`));
  const canvas = page.getByTestId('scatter');
  await expect(canvas).toHaveAttribute('data-painted', 'true');
  const box = (await canvas.boundingBox())!;
  const layout = layoutScatter(await service.scatter({ indexId }), box.width, box.height);
  const live = [...layout.px.keys()].filter((i) => !Number.isNaN(layout.px[i]!));
  expect(live.length).toBeGreaterThan(20);

  // Painted: the pixel under each live point is opaque in the points' layer (over a clear canvas).
  const alphas = await canvas.evaluate((c: HTMLCanvasElement, points: [number, number][]) => {
    const ctx = c.getContext('2d')!;
    const dpr = c.width / c.getBoundingClientRect().width;
    return points.map(([x, y]) => ctx.getImageData(Math.floor(x * dpr), Math.floor(y * dpr), 1, 1).data[3]!);
  }, live.map((i) => [layout.px[i]!, layout.py[i]!] as [number, number]));
  expect(alphas.filter((a) => a === 0)).toHaveLength(0);

  // Hover at and beside points finds what the scan finds. The page sees whole-pixel pointer
  // positions, so the scan is asked at the same whole page pixel, relative to the canvas.
  let hits = 0;
  for (const [k, i] of live.slice(0, 30).entries()) {
    const pageX = Math.round(box.x + layout.px[i]! + (k % 3) - 1);
    const pageY = Math.round(box.y + layout.py[i]! + ((k >> 1) % 3) - 1);
    await page.mouse.move(pageX, pageY);
    const expected = scan(layout.px, layout.py, pageX - box.x, pageY - box.y);
    if (expected === null) await expect(canvas).not.toHaveAttribute('data-focused');
    else {
      hits++;
      await expect(canvas).toHaveAttribute('data-focused', String(expected));
    }
  }
  expect(hits).toBeGreaterThan(20);

  // Click opens the point under the pointer.
  const target = live[live.length - 1]!;
  const pageX = Math.round(box.x + layout.px[target]!);
  const pageY = Math.round(box.y + layout.py[target]!);
  const expected = scan(layout.px, layout.py, pageX - box.x, pageY - box.y)!;
  await page.mouse.move(pageX, pageY);
  await expect(canvas).toHaveAttribute('data-focused', String(expected));
  await page.mouse.down();
  await page.mouse.up();
  await expect(page).toHaveURL(new RegExp(`#/index/${indexId}/feature/${expected}$`));
});
