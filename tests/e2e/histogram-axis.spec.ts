import { expect, test } from '@playwright/test';
import type { StudioService } from '../../src-main/core/service.js';
import type { WebHost } from '../../src-main/hosts/web/webHost.js';
import { closeE2e, openFixtureE2e } from '../helpers/e2eHost.js';

// Issue 16: the feature page's histogram had a label on a tick. Here the real renderer draws it
// for a real index at a narrow and a wide window, and the browser's own text boxes (getBBox, so
// the font actually used) of every tick label and axis title must not overlap or leave the plot.

test.describe.configure({ mode: 'serial' });

let work: string;
let service: StudioService;
let host: WebHost;
let indexId: string;

test.beforeAll(async () => {
  test.setTimeout(120_000);
  ({ work, service, host, indexId } = await openFixtureE2e('histogram-axis'));
});

test.afterAll(async () => {
  await closeE2e(host, service, work);
});

for (const width of [900, 1200, 1920]) {
  test(`histogram labels do not overlap at a ${width} px window`, async ({ page }, testInfo) => {
    await page.setViewportSize({ width, height: 1000 });
    const rows = (await service.queryFeatures({ indexId, sort: 'frequency', desc: true, offset: 0, limit: 3 })).rows;
    for (const row of rows) {
      await page.goto(new URL(`#/index/${indexId}/feature/${row.feature}`, host.url).href);
      const svg = page.locator('.feature-histogram svg');
      await expect(svg).toBeVisible();
      await expect(svg.locator('[data-testid="histogram-ticks"] text').first()).toBeVisible();
      const found = await svg.evaluate((el: SVGSVGElement) => {
        const texts = Array.from(el.querySelectorAll('text'));
        const boxes = texts.map((t) => {
          const r = t.getBBox();
          return { text: t.textContent!.trim(), x: r.x, y: r.y, width: r.width, height: r.height };
        });
        const problems: string[] = [];
        const w = el.width.baseVal.value;
        const h = el.height.baseVal.value;
        for (let i = 0; i < boxes.length; i++) {
          const a = boxes[i]!;
          if (a.x < 0 || a.y < 0 || a.x + a.width > w + 0.5 || a.y + a.height > h + 0.5) problems.push(`"${a.text}" leaves the plot`);
          for (let j = i + 1; j < boxes.length; j++) {
            const b = boxes[j]!;
            // Glyph boxes include the line's leading; 1 px of it may touch.
            const ox = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
            const oy = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
            if (ox > 0 && oy > 1) problems.push(`"${a.text}" overlaps "${b.text}"`);
          }
        }
        return { problems, count: boxes.length, plotWidth: w };
      });
      expect(found.problems, `feature ${row.feature} at ${width} px (plot ${found.plotWidth} px)`).toEqual([]);
      expect(found.count).toBeGreaterThanOrEqual(5); // at least two ticks on each axis and the titles
    }
    await page.locator('.feature-histogram').screenshot({ path: testInfo.outputPath(`histogram-${width}.png`) });
  });
}
