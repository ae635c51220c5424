import { expect, test } from '@playwright/test';
import type { StudioService } from '../../src-main/core/service.js';
import type { WebHost } from '../../src-main/hosts/web/webHost.js';
import { closeE2e, openFixtureE2e } from '../helpers/e2eHost.js';
import { parseStudioLink } from '../../src-main/hosts/cli/commands/openCommand.js';

// Issue 17: the default heatmap leaves the image readable (a silent patch shows the thumbnail's
// own pixel), the mode is remembered across reloads, and a copied link lands on the same view.

test.describe.configure({ mode: 'serial' });

let work: string;
let service: StudioService;
let host: WebHost;
let indexId: string;

test.beforeAll(async () => {
  test.setTimeout(120_000);
  ({ work, service, host, indexId } = await openFixtureE2e('heat'));
});

test.afterAll(async () => {
  await closeE2e(host, service, work);
});

/** Pixel at the centre of patch p as seen: thumbnail alone, and thumbnail with the overlay canvas drawn over it. */
function seenPixels(tile: import('@playwright/test').Locator, p: number, grid: readonly [number, number]) {
  return tile.evaluate(
    (fig, [p, rows, cols]) => {
      const img = fig.querySelector('img') as HTMLImageElement;
      const overlay = fig.querySelector('canvas[data-testid="overlay"]') as HTMLCanvasElement;
      const c = document.createElement('canvas');
      c.width = overlay.width;
      c.height = overlay.height;
      const ctx = c.getContext('2d')!;
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(img, 0, 0, c.width, c.height);
      const x = Math.floor(((p % cols) + 0.5) * (c.width / cols));
      const y = Math.floor((Math.floor(p / cols) + 0.5) * (c.height / rows));
      const before = Array.from(ctx.getImageData(x, y, 1, 1).data);
      ctx.drawImage(overlay, 0, 0);
      const after = Array.from(ctx.getImageData(x, y, 1, 1).data);
      return { before, after, overlayAlpha: overlay.getContext('2d')!.getImageData(x, y, 1, 1).data[3] };
    },
    [p, grid[0], grid[1]] as const,
  );
}

test('default heatmap keeps a silent patch equal to the thumbnail; the mode is remembered after reload', async ({ page }, testInfo) => {
  await page.setViewportSize({ width: 1440, height: 900 });
  const features = await service.queryFeatures({ indexId, sort: 'frequency', desc: true, offset: 0, limit: 50 });
  // A feature whose first exemplar has both silent and firing patches.
  let feature = -1;
  for (const row of features.rows) {
    const d = await service.featureDetail({ indexId, feature: row.feature });
    const m = d.exemplars[0]?.patchMap;
    if (m && m.some((v) => v <= 0) && m.some((v) => v > 0.5 * d.upper)) {
      feature = row.feature;
      break;
    }
  }
  expect(feature).toBeGreaterThanOrEqual(0);
  const detail = await service.featureDetail({ indexId, feature });
  const first = detail.exemplars[0]!;
  await page.goto(new URL(`#/index/${indexId}/feature/${feature}`, host.url).href);
  const tile = page.getByTestId('exemplar').first();
  await expect(tile).toHaveAttribute('data-heatmap', 'image-first');
  await expect(tile.locator('img')).toHaveJSProperty('complete', true);

  const silent = first.patchMap.findIndex((v) => v <= 0);
  const strong = first.patchMap.indexOf(Math.max(...first.patchMap));
  const s = await seenPixels(tile, silent, detail.grid);
  expect(s.overlayAlpha).toBe(0);
  expect(s.after).toEqual(s.before);
  const t = await seenPixels(tile, strong, detail.grid);
  expect(t.overlayAlpha).toBeGreaterThan(200); // 0.9 at the top of the scale
  expect(t.after).not.toEqual(t.before);
  await page.screenshot({ path: testInfo.outputPath('heatmap-image-first.png') });

  // Outline, remembered across a reload (per user: this browser profile's storage).
  await page.getByTestId('heatmap-mode-outline').click();
  await expect(tile).toHaveAttribute('data-heatmap', 'outline');
  await page.reload();
  await expect(page.getByTestId('exemplar').first()).toHaveAttribute('data-heatmap', 'outline');
  await expect(page.getByTestId('heatmap-mode-outline')).toHaveAttribute('aria-checked', 'true');
  await page.screenshot({ path: testInfo.outputPath('heatmap-outline.png') });
  await page.getByTestId('heatmap-mode-side-by-side').click();
  await expect(page.getByTestId('exemplar').first().locator('.frame')).toHaveCount(2);
  await page.screenshot({ path: testInfo.outputPath('heatmap-side-by-side.png') });
  await page.getByTestId('heatmap-mode-image-first').click();
});

test('a link copied from a feature view opens the same view in a fresh page and through the CLI parser', async ({ page, context }) => {
  const features = await service.queryFeatures({ indexId, sort: 'index', desc: false, offset: 0, limit: 10 });
  const feature = features.rows[3]!.feature;
  await page.goto(new URL(`#/index/${indexId}/feature/${feature}`, host.url).href);
  await expect(page.getByTestId('feature-id').first()).toBeVisible();
  await page.getByTestId('copy-link').click();
  const link = (await page.getByTestId('copy-link').getAttribute('data-link'))!;
  expect(link).toBe(`${new URL(host.url).origin}/#/index/${indexId}/feature/${feature}`);
  expect(link).not.toContain('token');

  // A fresh page of the same browser profile (signed in by the host's cookie) lands on the view.
  const fresh = await context.newPage();
  await fresh.goto(link);
  await expect(fresh).toHaveURL(new RegExp(`#/index/${indexId}/feature/${feature}$`));
  await expect(fresh.getByTestId('exemplar').first()).toBeVisible();
  await expect(fresh.getByTestId('feature-id').first()).toHaveText(await page.getByTestId('feature-id').first().innerText());

  // `studio open LINK` reads the route and opens it on its own run's address (token included).
  const route = parseStudioLink(link)!;
  const other = await context.browser()!.newContext();
  const viaCli = await other.newPage();
  await viaCli.goto(new URL(`#${route}`, host.url).href);
  await expect(viaCli).toHaveURL(new RegExp(`#/index/${indexId}/feature/${feature}$`));
  await expect(viaCli.getByTestId('exemplar').first()).toBeVisible();
  await other.close();
});
