// Benchmark (not a test): opening a 100k-feature index and its first feature page (issue 19:
// "open in under a second and the first feature page in under 200 ms including exemplar images";
// the scatter in a compact form, drawn without long tasks).
//
//   npm run build:renderer && npm run bench:open [-- --index DIR | --work DIR --features 100000 --items 2000]
//       [--renderer out/renderer] [--rounds 3]
//
// Without --index it writes synthetic saev shards (scripts/lib/syntheticShards.ts) with one JPEG
// per item, and builds the index with `studio index --shards --images` into --work (kept and reused),
// so exemplars have real images. It prints:
//   - the scatter payload: JSON numbers (what the web host sent before) against the float32 wire
//     (scatterWire), bytes and the milliseconds to encode and to parse + decode them;
//   - the core, cold (a fresh service each round): openIndex, then each call the features view makes;
//   - Chromium against the real web host, a fresh page each round: navigation to the first table
//     rows, to the scatter on screen and fully painted, the long tasks (> 50 ms) meanwhile, the
//     /api requests the view sent and when; then the first feature page (the most frequent feature,
//     the one with the most exemplars) from the click to every exemplar image loaded;
//   - for an on-demand index, with its thumbnails deleted before each round: the table's first
//     row clicked at once, and after the pointer rested on it 150 and 300 ms, from the click to
//     every exemplar image on screen loaded (what making thumbnails on demand costs a first view,
//     and what the table's prefetch on resting hides of it).
// Figures are medians over --rounds.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { chromium, type Page } from 'playwright-core';
import * as contract from '../src-main/contract/index.js';
import type { ResultWire, ScatterData } from '../src-main/contract/index.js';
import { createStudioService } from '../src-main/core/service.js';
import { startWebHost } from '../src-main/hosts/web/webHost.js';
import { IndexReader } from '../src-main/core/store/indexReader.js';
import { thumbnailMode } from '../src-main/core/store/indexConfig.js';
import { timedStudio, writeSyntheticShards } from './lib/syntheticShards.js';
import { makeSae } from '../tests/helpers/makeSae.js';
import { arg } from './lib/benchArgs.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const features = Number(arg('features', '100000'));
const items = Number(arg('items', '2000'));
const rounds = Number(arg('rounds', '3'));
const rendererDir = path.resolve(arg('renderer', path.join(REPO, 'out/renderer')));
const work = path.resolve(arg('work', path.join(os.tmpdir(), 'bench-open')));
const givenIndex = arg('index', '');

if (!fs.existsSync(path.join(rendererDir, 'index.html'))) {
  throw new Error(`No renderer build in ${rendererDir}: run \`npm run build:renderer\` first (or pass --renderer DIR).`);
}

/**
 * One small JPEG per item (smooth random colours) in saev's ImageFolder layout: ten class folders,
 * named so that sorted order (classes, then files) is item order.
 */
async function writeImages(dir: string): Promise<void> {
  if (fs.existsSync(path.join(dir, 'done'))) return;
  for (let i = 0; i < items; i++) {
    const folder = path.join(dir, `class_${Math.floor((i * 10) / items)}`);
    fs.mkdirSync(folder, { recursive: true });
    const small = Buffer.alloc(8 * 8 * 3);
    for (let j = 0; j < small.length; j++) small[j] = (i * 131 + j * 71 + ((i * j) % 97)) % 256;
    await sharp(small, { raw: { width: 8, height: 8, channels: 3 } })
      .resize(256, 256, { kernel: 'cubic' })
      .jpeg({ quality: 85 })
      .toFile(path.join(folder, `img_${String(i).padStart(6, '0')}.jpg`));
  }
  fs.writeFileSync(path.join(dir, 'done'), '');
}

async function buildIndex(): Promise<string> {
  const d = 64;
  const dir = path.join(work, `index-${features}x${items}`);
  if (fs.existsSync(path.join(dir, 'bench-open-built'))) return dir;
  const shards = writeSyntheticShards({ dir: path.join(work, `shards-${items}`), items, patches: 16, d, seed: 0x0be7 });
  const images = path.join(work, `images-${items}`);
  await writeImages(images);
  const sae = makeSae(path.join(work, 'saes'), { dIn: d, dSae: features, architecture: 'topk', k: 20, seed: 0x0be7, format: 'safetensors', name: `open-${features}` });
  fs.rmSync(dir, { recursive: true, force: true });
  process.stderr.write(`building ${features} features x ${items} items into ${dir} (minutes) ...\n`);
  // The shards' geometry (4 x 4 patches of 56 px, d 64) with CLIP's preprocessing, so thumbnails crop as CLIP would.
  const manifest = path.join(work, 'synthetic-clip-4x4.json');
  const clip = JSON.parse(fs.readFileSync(path.join(REPO, 'resources/manifests/clip-vit-b16.json'), 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(manifest, JSON.stringify({ ...clip, name: 'synthetic 4x4', tokens: { cls: true, registers: 0, patch_size: 56, grid: [4, 4] }, layers: { '0': '0' }, d_model: d }));
  const run = timedStudio(REPO, ['index', '--shards', shards, '--images', images, '--model', manifest, '--layer', '0', '--sae', sae, '--out', dir]);
  process.stderr.write(`built in ${run.wallS.toFixed(0)} s\n`);
  fs.writeFileSync(path.join(dir, 'bench-open-built'), '');
  return dir;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN;
};
const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(v < 10 ? 1 : 0) : '-');

function time<T>(f: () => T): [number, T] {
  const t0 = performance.now();
  const r = f();
  return [performance.now() - t0, r];
}

/**
 * The float32 wire, when this source tree has one: run from an older tree (its copy of this
 * file, for a before/after of the page figures) the payload table is left out.
 */
const scatterWire = (contract as { scatterWire?: ResultWire<ScatterData> }).scatterWire;

/** The scatter as JSON numbers (the old wire) against the float32 wire, in this process. */
function scatterPayload(data: ScatterData, scatterWire: ResultWire<ScatterData>): string[] {
  const old: number[] = [];
  const now: number[] = [];
  const oldParse: number[] = [];
  const nowParse: number[] = [];
  let oldBytes = 0;
  let nowBytes = 0;
  for (let r = 0; r < Math.max(3, rounds); r++) {
    // Before: number[] columns (float64 values of the same float32s) written as JSON text.
    const asArrays = { logFrequency: Array.from(data.logFrequency), logMean: Array.from(data.logMean) };
    const [t1, oldText] = time(() => JSON.stringify({ ok: true, result: asArrays }));
    const [t2, nowText] = time(() => JSON.stringify({ ok: true, result: scatterWire.toJson(data) }));
    old.push(t1);
    now.push(t2);
    oldParse.push(time(() => JSON.parse(oldText) as unknown)[0]);
    nowParse.push(time(() => scatterWire.fromJson((JSON.parse(nowText) as { result: unknown }).result))[0]);
    oldBytes = Buffer.byteLength(oldText);
    nowBytes = Buffer.byteLength(nowText);
  }
  return [
    `| scatter payload (${data.logFrequency.length} points) | JSON numbers (before) | float32 base64 (now) |`,
    '|---|---:|---:|',
    `| bytes | ${(oldBytes / 1e6).toFixed(2)} MB | ${(nowBytes / 1e6).toFixed(2)} MB |`,
    `| encode ms (host) | ${ms(median(old))} | ${ms(median(now))} |`,
    `| parse + decode ms (client, Node) | ${ms(median(oldParse))} | ${ms(median(nowParse))} |`,
  ];
}

interface PageFigures {
  rowsMs: number;
  scatterShownMs: number;
  scatterPaintedMs: number;
  longTasks: { start: number; duration: number }[];
  requests: string[];
  featureMs: number;
  featureImagesMs: number;
  images: number;
  imagesLoaded: number;
}

interface BenchMarks {
  longTasks: { start: number; duration: number }[];
  marks: Record<string, number>;
  click: number;
}

/**
 * Runs in the page before the app: long tasks, and on every animation frame the first time each
 * milestone is on screen (ms since navigation start, the page's own clock).
 */
function instrument(): void {
  const bench: BenchMarks = { longTasks: [], marks: {}, click: -1 };
  (window as unknown as { __bench: BenchMarks }).__bench = bench;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) bench.longTasks.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: 'longtask', buffered: true });
  const mark = (name: string, now: number) => {
    if (!(name in bench.marks)) bench.marks[name] = now;
  };
  // A real click on a table row (the cold-thumbnail rounds) starts the feature-page clock.
  document.addEventListener(
    'click',
    (e) => {
      if ((e.target as Element | null)?.closest?.('[data-testid="feature-row"]')) bench.click = performance.now();
    },
    true,
  );
  const tick = (now: number) => {
    if (document.querySelector('[data-testid="feature-row"]')) mark('rows', now);
    const scatter = document.querySelector('[data-testid="scatter"]');
    if (scatter) mark('scatter', now);
    if (scatter?.getAttribute('data-painted') === 'true') mark('painted', now);
    if (bench.click >= 0) {
      const tiles = Array.from(document.querySelectorAll('[data-testid="exemplar"]'));
      if (tiles.length) mark('exemplars', now);
      // Every exemplar image on screen settled: loaded, or shown as missing (lazy ones below the fold do not count).
      const waiting = tiles.some((tile) => {
        const img = tile.querySelector('img');
        if (!img || (img.complete && img.naturalWidth > 0)) return false;
        const r = img.getBoundingClientRect();
        return r.top < innerHeight && r.bottom > 0;
      });
      if (tiles.length && !waiting) mark('images', now);
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

/** The /api and thumbnail requests since `from` (page clock): sent → answered, and their size. */
async function apiTimeline(page: Page, from: number, origin: number): Promise<string[]> {
  return page.evaluate(
    ({ from, origin }) =>
      (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
        .filter((e) => (e.name.includes('/api/') || e.name.includes('/thumb/')) && e.startTime >= from)
        .map((e) => `${e.name.includes('/api/') ? e.name.split('/api/')[1] : `thumb ${e.name.split('/').pop()}`} ${(e.startTime - origin).toFixed(0)}→${(e.responseEnd - origin).toFixed(0)} ms ${(e.encodedBodySize / 1024).toFixed(0)} KB`),
    { from, origin },
  );
}

async function pageRound(page: Page, base: string, indexId: string, feature: number): Promise<PageFigures> {
  const bench = () => page.evaluate(() => (window as unknown as { __bench: BenchMarks }).__bench);
  await page.goto(new URL(`#/index/${encodeURIComponent(indexId)}/features`, base).href);
  await page.waitForFunction(() => 'painted' in (window as unknown as { __bench: BenchMarks }).__bench.marks, undefined, { timeout: 60_000 });
  await page.waitForTimeout(800);
  const opened = await bench();
  const requests = await apiTimeline(page, 0, 0);

  // The first feature page: an in-app navigation, as a click on a row makes.
  const click = await page.evaluate((hash) => {
    const b = (window as unknown as { __bench: BenchMarks }).__bench;
    b.click = performance.now();
    location.hash = hash;
    return b.click;
  }, `#/index/${encodeURIComponent(indexId)}/feature/${feature}`);
  await page.waitForFunction(() => 'images' in (window as unknown as { __bench: BenchMarks }).__bench.marks, undefined, { timeout: 60_000 });
  const after = await bench();
  const counts = await page.evaluate(() => {
    const tiles = Array.from(document.querySelectorAll('[data-testid="exemplar"]'));
    return { images: tiles.length, loaded: tiles.filter((t) => (t.querySelector('img')?.naturalWidth ?? 0) > 0).length };
  });
  requests.push('— feature page (from the click) —', ...(await apiTimeline(page, click, click)));
  return {
    rowsMs: opened.marks.rows!,
    scatterShownMs: opened.marks.scatter!,
    scatterPaintedMs: opened.marks.painted!,
    longTasks: opened.longTasks,
    requests,
    featureMs: after.marks.exemplars! - click,
    featureImagesMs: after.marks.images! - click,
    images: counts.images,
    imagesLoaded: counts.loaded,
  };
}

/**
 * An on-demand index with none of its thumbnails made: the table's first row in frequency order clicked at once, or
 * after the pointer rested on it for `restMs` (the table then asks for that feature's page and
 * thumbnails). Returns ms from the click to every exemplar image on screen loaded.
 */
async function coldRowRound(page: Page, base: string, indexId: string, indexDir: string, restMs: number): Promise<number> {
  const thumbs = path.join(indexDir, 'thumbs');
  for (const f of fs.readdirSync(thumbs)) if (f.endsWith('.webp')) fs.rmSync(path.join(thumbs, f));
  // Most frequent first: the first row is the feature with the most exemplars (a full page of them).
  await page.goto(new URL(`#/index/${encodeURIComponent(indexId)}/features?sort=frequency&dir=desc`, base).href);
  await page.waitForFunction(() => 'painted' in (window as unknown as { __bench: BenchMarks }).__bench.marks, undefined, { timeout: 60_000 });
  await page.waitForTimeout(800);
  const row = page.getByTestId('feature-row').first();
  if (restMs > 0) {
    await row.hover();
    await page.waitForTimeout(restMs);
  }
  await row.click();
  await page.waitForFunction(() => 'images' in (window as unknown as { __bench: BenchMarks }).__bench.marks, undefined, { timeout: 60_000 });
  const b = await page.evaluate(() => (window as unknown as { __bench: BenchMarks }).__bench);
  return b.marks.images! - b.click;
}

async function main(): Promise<void> {
  fs.mkdirSync(work, { recursive: true });
  const indexDir = givenIndex ? path.resolve(givenIndex) : await buildIndex();
  const lines: string[] = [];

  // 1. The core, cold: a fresh service per round.
  const core = new Map<string, number[]>();
  const add = (k: string, v: number) => core.set(k, [...(core.get(k) ?? []), v]);
  let indexId = '';
  let topFeature = 0;
  let scatter: ScatterData | null = null;
  for (let r = 0; r < rounds; r++) {
    const settingsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-open-settings-'));
    const service = await createStudioService({ settingsDir, host: 'web' });
    try {
      let t = performance.now();
      const summary = await service.openIndex({ path: indexDir });
      add('openIndex', performance.now() - t);
      indexId = summary.id;
      t = performance.now();
      await service.queryFeatures({ indexId, sort: 'index', desc: false, offset: 0, limit: 100 });
      add('queryFeatures (first page)', performance.now() - t);
      t = performance.now();
      await service.tagOverview({ indexId });
      add('tagOverview', performance.now() - t);
      t = performance.now();
      scatter = await service.scatter({ indexId });
      add('scatter', performance.now() - t);
      const top = await service.queryFeatures({ indexId, sort: 'frequency', desc: true, offset: 0, limit: 1 });
      topFeature = top.rows[0]!.feature;
      t = performance.now();
      await service.featureDetail({ indexId, feature: topFeature });
      add(`featureDetail (feature ${topFeature})`, performance.now() - t);
    } finally {
      await service.close();
      fs.rmSync(settingsDir, { recursive: true, force: true });
    }
  }
  if (scatterWire) lines.push(...scatterPayload(scatter!, scatterWire), '');
  lines.push('| core, cold (median ms) | |', '|---|---:|');
  for (const [k, v] of core) lines.push(`| ${k} | ${ms(median(v))} |`);

  // 2. Chromium against the web host.
  const settingsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-open-settings-'));
  const service = await createStudioService({ settingsDir, host: 'web', openAtStart: indexDir });
  indexId = (await service.appInfo()).startIndexId!;
  const host = await startWebHost({ backend: service, port: 0, rendererDir });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const figures: PageFigures[] = [];
  const reader = IndexReader.open('bench-open', indexDir);
  const onDemand = thumbnailMode(reader.config) === 'on-demand';
  reader.close();
  /** Click → images loaded with no thumbnail made, by how long the pointer rested on the row first. */
  const REST_MS = [0, 150, 300];
  const cold = new Map<number, number[]>();
  try {
    for (let r = 0; r < rounds; r++) {
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      const page = await context.newPage();
      await page.addInitScript('globalThis.__name = (f) => f;');
      await page.addInitScript(instrument);
      // The host's first answer sets the token cookie; later navigations carry it.
      await page.goto(host.url);
      figures.push(await pageRound(page, host.url, indexId, topFeature));
      await context.close();
    }
    if (onDemand) {
      for (let r = 0; r < rounds; r++) {
        for (const restMs of REST_MS) {
          const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
          const page = await context.newPage();
          await page.addInitScript('globalThis.__name = (f) => f;');
          await page.addInitScript(instrument);
          await page.goto(host.url);
          cold.set(restMs, [...(cold.get(restMs) ?? []), await coldRowRound(page, host.url, indexId, indexDir, restMs)]);
          await context.close();
        }
      }
    }
  } finally {
    await browser.close();
    await host.close();
    await service.close();
    fs.rmSync(settingsDir, { recursive: true, force: true });
  }
  const m = (f: (p: PageFigures) => number) => ms(median(figures.map(f)));
  lines.push(
    '',
    `| Chromium, web host (median of ${rounds} fresh pages, ms) | |`,
    '|---|---:|',
    `| navigation start → first table rows | ${m((p) => p.rowsMs)} |`,
    `| navigation start → scatter on screen | ${m((p) => p.scatterShownMs)} |`,
    `| navigation start → scatter fully painted | ${m((p) => p.scatterPaintedMs)} |`,
    `| long tasks > 50 ms while opening (count) | ${m((p) => p.longTasks.length)} |`,
    `| longest task while opening | ${m((p) => Math.max(0, ...p.longTasks.map((t) => t.duration)))} |`,
    `| feature page (feature ${topFeature}): click → exemplars shown | ${m((p) => p.featureMs)} |`,
    `| feature page: click → exemplar images on screen loaded | ${m((p) => p.featureImagesMs)} |`,
    `| exemplars / images loaded | ${figures[0]!.images} / ${figures[0]!.imagesLoaded} |`,
  );
  if (onDemand) {
    lines.push('', `| no thumbnail made yet: the most frequent feature's row, click → exemplar images loaded (median of ${rounds}, ms) | |`, '|---|---:|');
    for (const [restMs, v] of cold) lines.push(`| ${restMs ? `pointer rested ${restMs} ms on the row first` : 'clicked at once'} | ${ms(median(v))} |`);
  } else {
    lines.push('', 'The index has eager thumbnails: the cold on-demand rounds were left out.');
  }
  const last = figures[figures.length - 1]!;
  lines.push('', `/api requests of the last round (sent→answered, ms from navigation start / from the click):`, ...last.requests.map((r) => `  ${r}`));
  lines.push(`long tasks of each round (duration @ start, ms): ${figures.map((f) => `[${f.longTasks.map((t) => `${t.duration.toFixed(0)} @ ${t.start.toFixed(0)}`).join(', ')}]`).join(' ')}`);
  console.log(`\nindex: ${indexDir} (${scatter!.logFrequency.length} features); renderer: ${path.relative(REPO, rendererDir) || rendererDir}; ${os.cpus().length} cores\n`);
  console.log(lines.join('\n'));
}

await main();
