import fs from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { DOMParser } from '@xmldom/xmldom';
import type { StudioService } from '../../src-main/core/service.js';
import type { WebHost } from '../../src-main/hosts/web/webHost.js';
import { closeE2e, openFixtureE2e } from '../helpers/e2eHost.js';

// Issue 17: a feature's exemplar grid exported as SVG and PNG from the real renderer against the
// web host and a real index: the SVG must hold that feature's exemplars (thumbnails embedded, read
// through the token-guarded thumbnail route) and its id; the PNG must be a PNG at twice the size.

test.describe.configure({ mode: 'serial' });

let work: string;
let service: StudioService;
let host: WebHost;
let indexId: string;

test.beforeAll(async () => {
  test.setTimeout(120_000);
  ({ work, service, host, indexId } = await openFixtureE2e('figures'));
});

test.afterAll(async () => {
  await closeE2e(host, service, work);
});

async function download(page: Page, testId: string): Promise<{ name: string; bytes: Buffer }> {
  await page.getByTestId('figure-export-toggle').click();
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
  const file = await dl.path();
  return { name: dl.suggestedFilename(), bytes: fs.readFileSync(file!) };
}

test('exports the exemplar grid as SVG and PNG with the feature id and its exemplars', async ({ page }, testInfo) => {
  await page.setViewportSize({ width: 1440, height: 900 });
  const summary = await service.indexSummary({ indexId });
  const top = (await service.queryFeatures({ indexId, sort: 'frequency', desc: true, offset: 0, limit: 1 })).rows[0]!.feature;
  const detail = await service.featureDetail({ indexId, feature: top });
  expect(detail.exemplars.length).toBeGreaterThan(1);

  await page.goto(new URL(`#/index/${indexId}/feature/${top}`, host.url).toString());
  await expect(page.getByTestId('exemplar')).toHaveCount(detail.exemplars.length);

  const svgFile = await download(page, 'figure-export-exemplars-svg');
  expect(svgFile.name).toBe(`${summary.name.replace(/\//g, '_')}_${top}-exemplars.svg`);
  const svgText = svgFile.bytes.toString('utf8');
  fs.writeFileSync(testInfo.outputPath('exemplars.svg'), svgText);
  const problems: string[] = [];
  const doc = new DOMParser({ errorHandler: { warning: () => {}, error: (m) => problems.push(m), fatalError: (m) => problems.push(m) } }).parseFromString(svgText, 'image/svg+xml');
  expect(problems).toEqual([]);
  const root = doc.documentElement;
  expect(root.tagName).toBe('svg');
  const texts = Array.from(root.getElementsByTagName('text') as unknown as ArrayLike<{ textContent: string | null }>).map((t) => t.textContent ?? '');
  expect(texts).toContain(`${summary.name}/${top}`);
  expect(texts.join(' ')).toContain(summary.dataset);

  // One embedded thumbnail per exemplar, read through the web host (so as image data, not a URL).
  const images = Array.from(root.getElementsByTagName('image') as unknown as ArrayLike<{ getAttribute(n: string): string | null }>);
  expect(images).toHaveLength(detail.exemplars.length);
  for (const img of images) expect(img.getAttribute('xlink:href')).toMatch(/^data:image\/(webp|png|jpeg);base64,/);
  const items = Array.from(root.getElementsByTagName('g') as unknown as ArrayLike<{ getAttribute(n: string): string | null }>)
    .map((g) => g.getAttribute('data-item'))
    .filter((v): v is string => v !== null && v !== '');
  expect(items).toEqual(detail.exemplars.map((e) => e.item));
  expect(svgText).toContain('class="colour-bar"');

  // The browser renders the exported file as an image (what a reader's viewer does).
  const rendered = await page.evaluate(async (svg) => {
    const url = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
    const img = new Image();
    await new Promise((res, rej) => ((img.onload = res), (img.onerror = rej), (img.src = url)));
    return { w: img.naturalWidth, h: img.naturalHeight };
  }, svgText);
  const width = Number(root.getAttribute('width'));
  const height = Number(root.getAttribute('height'));
  expect(rendered).toEqual({ w: width, h: height });

  const pngFile = await download(page, 'figure-export-exemplars-png');
  expect(pngFile.name).toBe(`${summary.name.replace(/\//g, '_')}_${top}-exemplars.png`);
  fs.writeFileSync(testInfo.outputPath('exemplars.png'), pngFile.bytes);
  expect([...pngFile.bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  // IHDR: width and height, big-endian, right after the chunk header.
  expect(pngFile.bytes.readUInt32BE(16)).toBe(Math.round(width * 2));
  expect(pngFile.bytes.readUInt32BE(20)).toBe(Math.round(height * 2));

  // The histogram exports from the same control.
  const hist = await download(page, 'figure-export-histogram-svg');
  expect(hist.name).toBe(`${summary.name.replace(/\//g, '_')}_${top}-histogram.svg`);
  const histText = hist.bytes.toString('utf8');
  fs.writeFileSync(testInfo.outputPath('histogram.svg'), histText);
  expect(histText).toContain(`${summary.name}/${top}`);
  expect((histText.match(/class="bar"/g) ?? []).length).toBe(detail.row.histogram.filter((c) => c > 0).length);
});
