// Benchmark (not a test): scrolling the features table and drawing the scatter at 100k features
// in headless Chromium (issue 19).
//
//   npm run build:renderer && npm run bench:scroll [-- --index DIR | --work DIR --features 100000 --items 400]
//       [--renderer out/renderer] [--seconds 10] [--settle 60] [--host-delay MS] [--trace DIR] [--screenshot FILE]
//
// --trace DIR records a Chrome trace of each scroll run into DIR (open it in chrome://tracing or
// the DevTools Performance panel) and prints what the long tasks spent their time on: script,
// style recalc (UpdateLayoutTree), layout, paint, GC, and the tasks by CPU time; then, in index
// order, it steps over cached rows a page and a wheel notch at a time and prints the CPU per step
// (figures that hold on a loaded machine, where wall-clock long tasks mostly measure waiting for
// a core).
// --screenshot FILE saves the view in index order before scrolling, with a few rows ticked and
// one selected, to compare row rendering.
//
// --host-delay makes every table page take at least MS on the host, answered one at a time like
// the real host: how scrolling behaves on an index whose pages are slow (issue 19 measured
// 0.5-1 s pages in frequency order before the sort columns were indexed).
//
// Serves an index through the real web host and core, opens the features view, and for index
// order and frequency order (descending) scrolls the table fast for --seconds: wheel-speed runs,
// fling-speed runs and scrollbar jumps, the same deterministic script every time. It prints
//   - long tasks over 50 ms (PerformanceObserver 'longtask') while scrolling,
//   - frames dropped (animation-frame gaps beyond one 60 Hz frame, summed),
//   - the longest time a row position stayed blank (skeleton) on screen,
//   - how long after the last scroll the viewport still showed blank rows (capped by --settle),
//   - queryFeatures requests sent and their bytes,
// and for the scatter: the long tasks while the view opens and while the scatter is redrawn
// after a resize. Run it on the old build (--renderer pointing at a build of the old sources)
// for a before/after table.
//
// Without --index it writes synthetic saev shards (Gaussian tokens plus a few hundred concept
// directions with Zipf-like popularity) and a TopK SAE, and builds the index with `studio index`
// into --work (kept and reused: a 100k-feature build takes minutes on two cores).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createStudioService, type StudioService } from '../src-main/core/service.js';
import { startWebHost } from '../src-main/hosts/web/webHost.js';
import { writeSyntheticShards } from './lib/syntheticShards.js';
import { makeSae } from '../tests/helpers/makeSae.js';
import { longTaskBreakdown, profileSelfTimes, taskCpu } from './lib/longTaskBreakdown.js';
import { arg } from './lib/benchArgs.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const features = Number(arg('features', '100000'));
const items = Number(arg('items', '400'));
const seconds = Number(arg('seconds', '10'));
const settleS = Number(arg('settle', '60'));
const rendererDir = path.resolve(arg('renderer', path.join(REPO, 'out/renderer')));
const work = path.resolve(arg('work', path.join(os.tmpdir(), 'bench-scroll')));
const givenIndex = arg('index', '');
const hostDelay = Number(arg('host-delay', '0'));
const screenshot = arg('screenshot', '') ? path.resolve(arg('screenshot', '')) : '';
const traceDir = arg('trace', '') ? path.resolve(arg('trace', '')) : '';

if (!fs.existsSync(path.join(rendererDir, 'index.html'))) {
  throw new Error(`No renderer build in ${rendererDir}: run \`npm run build:renderer\` first (or pass --renderer DIR).`);
}


function buildIndex(): string {
  const d = 64;
  const dir = path.join(work, `index-${features}x${items}`);
  if (fs.existsSync(path.join(dir, 'bench-scroll-built'))) return dir;
  const shards = path.join(work, `shards-${items}`);
  writeSyntheticShards({ dir: shards, items, patches: 16, d, seed: 0x5c2011 });
  const sae = makeSae(path.join(work, 'saes'), { dIn: d, dSae: features, architecture: 'topk', k: 20, seed: 19, format: 'safetensors', name: `scroll-${features}` });
  fs.rmSync(dir, { recursive: true, force: true });
  process.stderr.write(`building ${features} features x ${items} items into ${dir} (minutes) ...\n`);
  const run = spawnSync(process.execPath, [path.join(REPO, 'bin/studio.mjs'), 'index', '--shards', shards, '--layer', '0', '--sae', sae, '--out', dir], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (run.status !== 0) throw new Error(`index build failed (${run.status}):\n${run.stderr.slice(-3000)}`);
  fs.writeFileSync(path.join(dir, 'bench-scroll-built'), '');
  return dir;
}

/** The service with queryFeatures answered one at a time, each after at least --host-delay ms. */
function slowPages(service: StudioService): StudioService {
  if (!hostDelay) return service;
  let queue: Promise<unknown> = Promise.resolve();
  return new Proxy(service, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (prop !== 'queryFeatures') return typeof value === 'function' ? value.bind(target) : value;
      return (args: Parameters<StudioService['queryFeatures']>[0]) => {
        const answer = queue.then(async () => {
          await new Promise((r) => setTimeout(r, hostDelay));
          return target.queryFeatures(args);
        });
        queue = answer.catch(() => undefined);
        return answer;
      };
    },
  });
}

/** Runs in the page before the app: long tasks and animation-frame gaps into window.__bench. */
function instrument(): void {
  const w = window as unknown as { __bench: { longTasks: { start: number; duration: number }[]; frames: number[] } };
  w.__bench = { longTasks: [], frames: [] };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) w.__bench.longTasks.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: 'longtask', buffered: true });
  const tick = (t: number) => {
    w.__bench.frames.push(t);
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

interface ScrollFigures {
  idleLongTasks: number;
  longTasks: number;
  longestTaskMs: number;
  droppedFrames: number;
  maxBlankMs: number;
  blankFramesPct: number;
  /** Per phase (wheel, fling, jumps, back): frames showing a blank row, %. */
  blankByPhase: number[];
  settleMs: number;
  /** Animation frames seen while scrolling. */
  frames: number;
  requests: number;
  requestKB: number;
}

/**
 * The scroll script, run in the page on animation frames so its timing does not depend on the
 * driver: one-second phases of wheel scrolling, a fling, scrollbar jumps to far positions and a
 * fast scroll back, repeated; the jumps are deterministic.
 * Each frame it records which row positions on screen are blank (aria-busy skeleton rows).
 */
async function scrollInPage(page: Page, ms: number, settleMs: number): Promise<Omit<ScrollFigures, 'requests' | 'requestKB'>> {
  return page.evaluate(
    async ({ ms, settleMs }) => {
      const w = window as unknown as { __bench: { longTasks: { start: number; duration: number }[]; frames: number[] } };
      const scroller = document.querySelector<HTMLElement>('[data-testid="feature-table"]')!;
      let seed = 12345;
      const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
      // The harness reads no layout: it tracks the scroll position it set and finds blank rows
      // by their aria-rowindex and the table's fixed row height, so it adds no forced layouts.
      const ROW = 28;
      const viewHeight = scroller.clientHeight;
      const max = scroller.scrollHeight - viewHeight;
      let pos = scroller.scrollTop;
      const scrollTo = (y: number) => {
        pos = Math.max(0, Math.min(max, Math.round(y)));
        scroller.scrollTop = pos;
      };
      const blankSince = new Map<number, number>();
      let maxBlank = 0;
      let blankFrames = 0;
      let frames = 0;
      const phaseFrames = [0, 0, 0, 0];
      const phaseBlank = [0, 0, 0, 0];
      /** Blank rows inside the scroller's box right now, by position. */
      /** Row positions on screen that show no feature: a skeleton, or nothing rendered yet. */
      const blankOnScreen = (): number[] => {
        const filled = new Set<number>();
        scroller.querySelectorAll<HTMLElement>('[data-testid="feature-row"]').forEach((row) => filled.add(Number(row.getAttribute('aria-rowindex')) - 2));
        const out: number[] = [];
        for (let p = Math.floor(pos / ROW); p * ROW < pos + viewHeight && p * ROW < max + viewHeight; p++) if (!filled.has(p)) out.push(p);
        return out;
      };
      const observe = (now: number): number => {
        const blank = blankOnScreen();
        frames++;
        if (blank.length) blankFrames++;
        const seen = new Set(blank);
        for (const p of blank) if (!blankSince.has(p)) blankSince.set(p, now);
        for (const [p, since] of blankSince) {
          if (!seen.has(p)) {
            maxBlank = Math.max(maxBlank, now - since);
            blankSince.delete(p);
          }
        }
        return blank.length;
      };
      const frame = () => new Promise<number>((r) => requestAnimationFrame(r));
      // Noise floor: long tasks in 2 s of doing nothing (a loaded machine shows some).
      const idleFrom = w.__bench.longTasks.length;
      await new Promise((r) => setTimeout(r, 2000));
      const idleLongTasks = w.__bench.longTasks.length - idleFrom;
      const t0 = await frame();
      const taskFrom = w.__bench.longTasks.length;
      const frameFrom = w.__bench.frames.length;
      // Speeds are per second, not per frame, so a busy main thread meets bigger jumps (as a
      // user's wheel or scrollbar would give it) instead of a slower script.
      let now = t0;
      let prev = t0;
      let nextJump = t0;
      while (now - t0 < ms) {
        const dt = (now - prev) / 1000;
        const phase = Math.floor((now - t0) / 1000) % 4;
        if (phase === 0) scrollTo(pos + 7_200 * dt); // wheel: ~260 rows/s
        else if (phase === 1) scrollTo(pos + 120_000 * dt); // fling: ~40 pages/s
        else if (phase === 2) {
          if (now >= nextJump) {
            scrollTo(random() * max); // scrollbar drags: ~7 jumps/s
            nextJump = now + 150;
          }
        } else scrollTo(pos - 60_000 * dt); // back up: ~20 pages/s
        prev = now;
        now = await frame();
        const blank = observe(now);
        phaseFrames[phase]!++;
        if (blank) phaseBlank[phase]!++;
      }
      const tasks = w.__bench.longTasks.filter((t, i) => i >= taskFrom && t.start >= t0 && t.start <= now);
      const stamps = w.__bench.frames.slice(frameFrom).filter((t) => t >= t0 && t <= now);
      let dropped = 0;
      for (let i = 1; i < stamps.length; i++) dropped += Math.max(0, Math.round((stamps[i]! - stamps[i - 1]!) / (1000 / 60)) - 1);
      // After the last scroll: how long until no blank row is on screen.
      const stop = now;
      while (observe(now) > 0 && now - stop < settleMs) now = await frame();
      for (const since of blankSince.values()) maxBlank = Math.max(maxBlank, now - since);
      return {
        idleLongTasks,
        longTasks: tasks.length,
        longestTaskMs: Math.max(0, ...tasks.map((t) => t.duration)),
        droppedFrames: dropped,
        maxBlankMs: maxBlank,
        blankFramesPct: (100 * blankFrames) / Math.max(1, frames),
        blankByPhase: phaseBlank.map((b, i) => (100 * b) / Math.max(1, phaseFrames[i]!)),
        settleMs: now - stop,
        frames: stamps.length,
      };
    },
    { ms, settleMs },
  );
}

/**
 * CPU per scroll step over rows already cached, where wall-clock long tasks say little (a
 * machine whose cores are busy stretches a 5 ms task to 100 ms): the first 3,000 rows are
 * fetched, then the table steps a page (30 rows) and a wheel notch (3 rows) at a time, two
 * frames per step, under a trace; CPU is the main thread's thread time.
 */
async function cachedStepCpu(browser: Browser, page: Page): Promise<string[]> {
  await page.evaluate(async () => {
    const s = document.querySelector<HTMLElement>('[data-testid="feature-table"]')!;
    for (let y = 0; y < 3000 * 28; y += 600) {
      s.scrollTop = y;
      await new Promise((r) => setTimeout(r, 40));
    }
  });
  const out: string[] = [];
  for (const [label, rows, steps] of [
    ['page steps (30 rows)', 30, 80],
    ['wheel steps (3 rows)', 3, 200],
  ] as const) {
    await page.evaluate(() => void (document.querySelector<HTMLElement>('[data-testid="feature-table"]')!.scrollTop = 0));
    await page.waitForTimeout(300);
    await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline'] });
    const loadingSteps = await page.evaluate(
      async ({ px, steps }) => {
        const s = document.querySelector<HTMLElement>('[data-testid="feature-table"]')!;
        const frame = () => new Promise((r) => requestAnimationFrame(r));
        let loading = 0;
        for (let i = 1; i <= steps; i++) {
          s.scrollTop = i * px;
          await frame();
          await frame();
          if (s.querySelector('[aria-busy="true"]')) loading++;
        }
        return loading;
      },
      { px: rows * 28, steps },
    );
    const c = taskCpu(JSON.parse((await browser.stopTracing()).toString('utf8')), 50);
    out.push(`${label}: ${(c.totalMs / steps).toFixed(1)} ms CPU per step, longest task ${c.maxMs.toFixed(1)} ms CPU (p95 ${c.p95Ms.toFixed(1)}), ${c.over} tasks over 50 ms CPU; steps still showing a loading row after two frames: ${loadingSteps} of ${steps}`);
  }
  return out;
}

async function main(): Promise<void> {
  fs.mkdirSync(work, { recursive: true });
  const indexDir = givenIndex ? path.resolve(givenIndex) : buildIndex();
  const settingsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-scroll-settings-'));
  const service = await createStudioService({ settingsDir, host: 'web', openAtStart: indexDir });
  const indexId = (await service.appInfo()).startIndexId!;
  const summary = await service.indexSummary({ indexId });
  const host = await startWebHost({ backend: slowPages(service), port: 0, rendererDir });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const results: [string, ScrollFigures][] = [];
  const scatter: string[] = [];
  const breakdowns: string[] = [];
  const cachedSteps: string[] = [];
  try {
    for (const [label, query] of [
      ['index order', ''],
      ['frequency order', '?sort=frequency&dir=desc'],
    ] as const) {
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      const page = await context.newPage();
      // tsx compiles this file with keepNames, so functions sent to the page call __name.
      await page.addInitScript('globalThis.__name = (f) => f;');
      await page.addInitScript(instrument);
      let requests = 0;
      let bytes = 0;
      page.on('request', (r) => {
        if (r.url().includes('/api/queryFeatures')) requests++;
      });
      page.on('response', (r) => {
        if (r.url().includes('/api/queryFeatures')) bytes += Number(r.headers()['content-length'] ?? 0);
      });
      const t0 = Date.now();
      await page.goto(new URL(`#/index/${encodeURIComponent(indexId)}/features${query}`, host.url).href);
      await page.locator('[data-testid="feature-row"]').first().waitFor({ timeout: 120_000 });
      if (label === 'index order') {
        // Open: from navigation to the scatter on screen, then a redraw of it at a new width.
        await page.locator('[data-testid="scatter"]').waitFor({ timeout: 120_000 });
        // Renderers that paint the points in slices mark the canvas when done; older ones draw at once.
        await page.waitForFunction(() => document.querySelector('[data-testid="scatter"]')?.getAttribute('data-painted') !== 'false', undefined, { timeout: 60_000 });
        await page.waitForTimeout(1500);
        const open = await page.evaluate(() => (window as unknown as { __bench: { longTasks: { duration: number }[] } }).__bench.longTasks.map((t) => t.duration));
        scatter.push(`open (navigation → rows and scatter shown, ${Date.now() - t0} ms): ${open.length} long tasks, longest ${Math.max(0, ...open).toFixed(0)} ms, total ${open.reduce((a, b) => a + b, 0).toFixed(0)} ms`);
        const before = open.length;
        await page.setViewportSize({ width: 1200, height: 900 });
        await page.waitForTimeout(1500);
        const redraw = await page.evaluate((n) => (window as unknown as { __bench: { longTasks: { duration: number }[] } }).__bench.longTasks.slice(n).map((t) => t.duration), before);
        scatter.push(`redraw after resize: ${redraw.length} long tasks, longest ${Math.max(0, ...redraw).toFixed(0)} ms`);
        await page.setViewportSize({ width: 1400, height: 900 });
        if (screenshot) {
          await page.getByTestId('row-check').nth(2).click();
          await page.getByTestId('row-check').nth(3).click();
          await page.waitForTimeout(300);
          await page.screenshot({ path: screenshot });
        }
      }
      await page.waitForTimeout(1000);
      requests = 0;
      bytes = 0;
      const cdp = traceDir ? await context.newCDPSession(page) : null;
      if (cdp) {
        await cdp.send('Profiler.enable');
        await cdp.send('Profiler.setSamplingInterval', { interval: 500 });
        await cdp.send('Profiler.start');
        await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline'] });
      }
      const figures = await scrollInPage(page, seconds * 1000, settleS * 1000);
      if (cdp) {
        const { profile } = await cdp.send('Profiler.stop');
        const trace = await browser.stopTracing();
        fs.mkdirSync(traceDir, { recursive: true });
        const file = path.join(traceDir, `scroll-${label.replace(/ /g, '-')}.json`);
        fs.writeFileSync(file, trace);
        const events = JSON.parse(trace.toString('utf8'));
        const top = (b: ReturnType<typeof longTaskBreakdown>) => b.selfMs.slice(0, 8).map(([name, ms]) => `${name} ${ms.toFixed(0)}`).join(', ');
        const long = longTaskBreakdown(events, 50);
        const all = longTaskBreakdown(events, 0);
        breakdowns.push(`${label} (${file}):`);
        const c = taskCpu(events, 50);
        breakdowns.push(
          `  by CPU time: ${c.over} tasks over 50 ms, longest ${c.maxMs.toFixed(1)} ms, p95 ${c.p95Ms.toFixed(1)} ms, ${c.totalMs.toFixed(0)} ms in ${c.tasks} tasks (${(c.totalMs / Math.max(1, figures.frames)).toFixed(2)} ms per frame shown)`,
        );
        breakdowns.push(`  ${long.tasks} tasks over 50 ms, ${long.totalMs.toFixed(0)} ms in all; self ms: ${top(long)}`);
        breakdowns.push(`  all ${all.tasks} tasks, ${all.totalMs.toFixed(0)} ms busy (${all.cpuMs.toFixed(0)} ms CPU); self ms: ${top(all)}`);
        fs.writeFileSync(path.join(traceDir, `scroll-${label.replace(/ /g, '-')}.cpuprofile`), JSON.stringify(profile));
        breakdowns.push(`  script self ms: ${profileSelfTimes(profile).map(([name, ms]) => `${name} ${ms.toFixed(0)}`).join(', ')}`);
      }
      results.push([label, { ...figures, requests, requestKB: bytes / 1024 }]);
      if (traceDir && label === 'index order') cachedSteps.push(...(await cachedStepCpu(browser, page)));
      await context.close();
    }
  } finally {
    await browser.close();
    await host.close();
    await service.close();
    fs.rmSync(settingsDir, { recursive: true, force: true });
  }

  console.log(`\nindex: ${indexDir} (${summary.features} features); renderer: ${path.relative(REPO, rendererDir) || rendererDir}; host delay per page ${hostDelay} ms; ${seconds} s of scrolling; ${os.cpus().length} cores`);
  const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(1));
  const capped = (ms: number) => (ms >= settleS * 1000 ? `>${settleS * 1000}` : fmt(ms));
  console.log(`| figure | ${results.map(([l]) => l).join(' | ')} |`);
  console.log(`|---|${results.map(() => '---:').join('|')}|`);
  const rows: [string, (f: ScrollFigures) => string][] = [
    ['long tasks > 50 ms in 2 s idle (noise floor)', (f) => fmt(f.idleLongTasks)],
    ['long tasks > 50 ms while scrolling', (f) => fmt(f.longTasks)],
    ['longest task ms', (f) => fmt(f.longestTaskMs)],
    ['frames dropped', (f) => fmt(f.droppedFrames)],
    ['max ms a row stayed blank on screen', (f) => capped(f.maxBlankMs)],
    ['frames showing a blank row %', (f) => fmt(f.blankFramesPct)],
    ['  wheel / fling / jumps / back %', (f) => f.blankByPhase.map((v) => v.toFixed(0)).join(' / ')],
    ['blank rows after the last scroll ms', (f) => capped(f.settleMs)],
    ['queryFeatures requests sent', (f) => fmt(f.requests)],
    ['queryFeatures KB received', (f) => fmt(f.requestKB)],
  ];
  for (const [name, get] of rows) console.log(`| ${name} | ${results.map(([, f]) => get(f)).join(' | ')} |`);
  console.log(`\nscatter (${summary.features} points):\n  ${scatter.join('\n  ')}`);
  if (cachedSteps.length) console.log(`\nscroll steps over cached rows (CPU time from the trace: steady on a loaded machine):\n  ${cachedSteps.join('\n  ')}`);
  if (breakdowns.length) console.log(`\nlong tasks while scrolling, from the trace (tracing adds overhead):\n  ${breakdowns.join('\n  ')}`);
}

await main();
