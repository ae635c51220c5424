import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDemo, type DemoManifest } from '../../src-main/core/demo/buildDemo.js';
import { demoReport, type DemoReport } from '../../src-main/core/demo/demoReport.js';
import { COLOURS, SCENES } from '../../src-main/core/demo/shapesDataset.js';
import { IndexReader } from '../../src-main/core/store/indexReader.js';
import { openIndexDb } from '../../src-main/core/analysis/matchStore.js';
import { loadSae } from '../../src-main/core/sae/loadSae.js';
import type { CliDeps } from '../../src-main/hosts/cli/context.js';
import { runCli } from '../../src-main/hosts/cli/program.js';

// The full demo, built once through `studio demo --json` exactly as a user would, then checked
// against the generator's ground truth: its features must mean something.

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-demo-'));
const out = path.join(work, 'demo');
let printed: { indexes: string[]; seconds: number };
let demo: DemoManifest;
let report: DemoReport;
let progressLines = '';

beforeAll(async () => {
  let stdout = '';
  const deps: CliDeps = {
    createBackend: () => Promise.reject(new Error('demo needs no backend')),
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (progressLines += s) },
    env: {},
    onInterrupt: () => () => {},
    now: () => performance.now(),
    projectRoot: process.cwd(),
    buildRenderer: () => Promise.resolve(),
    openUrl: async () => "disabled" as const,
  };
  const code = await runCli(['demo', '--out', out, '--json'], deps);
  expect(code, progressLines).toBe(0);
  printed = JSON.parse(stdout.trim());
  demo = readDemo(out)!;
  report = demoReport(demo);
  // Printed for the log: the numbers the issue asks to see side by side.
  console.log(`demo built in ${printed.seconds.toFixed(1)} s`);
  for (const t of report.temporal) console.log(`temporal autocorrelation ${t.sae}: ${t.summary?.autocorrelation} (raw ${t.summary?.rawAutocorrelation})`);
}, 600_000);

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('studio demo', () => {
  it('prints {"indexes": [paths], "seconds": s} and writes every index', () => {
    expect(Object.keys(printed).sort()).toEqual(['indexes', 'seconds']);
    expect(printed.indexes).toHaveLength(4);
    for (const p of printed.indexes) expect(fs.existsSync(p)).toBe(true);
    expect(printed.seconds).toBeGreaterThan(0);
    expect(demo.size).toBe('full');
    expect(progressLines).toMatch(/\[3\/11\] Training the TopK SAE on backbone A.*FVU/);
  });

  it('for every colour and scene, a backbone-A TopK feature has ≥ 80% of its top 16 exemplars sharing it', () => {
    for (const value of [...COLOURS, ...SCENES]) {
      const best = report.purity.find((p) => p.value === value)!;
      expect(best, value).toBeDefined();
      expect(best.considered).toBe(16);
      expect(best.sharing / best.considered, `${best.factor} ${value}: feature ${best.feature}, ${best.sharing}/16`).toBeGreaterThanOrEqual(0.8);
    }
  });

  it('reports the temporal autocorrelation of the TopK and the Matryoshka SAE on the same clips', () => {
    expect(report.temporal.map((t) => t.sae)).toEqual(['a-topk', 'a-matryoshka']);
    for (const t of report.temporal) {
      expect(Number.isFinite(t.summary?.autocorrelation), t.sae).toBe(true);
      expect(Number.isFinite(t.summary?.rawAutocorrelation), t.sae).toBe(true);
    }
    // Same clips, same backbone: the raw coherence is the same number for both.
    expect(report.temporal[0]!.summary!.rawAutocorrelation).toBeCloseTo(report.temporal[1]!.summary!.rawAutocorrelation!, 10);
  });

  it('the two toy backbones have the layouts the issue names, and are named as toys', () => {
    const a = JSON.parse(fs.readFileSync(demo.backbones.a, 'utf8'));
    const b = JSON.parse(fs.readFileSync(demo.backbones.b, 'utf8'));
    expect(a.tokens).toMatchObject({ cls: true, registers: 0, patch_size: 16 });
    expect(b.tokens).toMatchObject({ cls: true, registers: 4, patch_size: 14 });
    for (const m of [a, b]) {
      expect(m.name).toMatch(/^Toy ViT/);
      expect(m.family).not.toMatch(/^(clip|dinov2)$/i);
    }
  });

  it('the Matryoshka SAE is a SAELens folder that keeps its group widths; the match is saved in both indexes', () => {
    const m = loadSae(demo.saes['a-matryoshka']);
    expect(m.groups).toEqual([32, 96, 256]);
    expect(loadSae(demo.saes['a-topk']).groups).toBeNull();
    const r = IndexReader.open('a', demo.indexes.aImages);
    try {
      const labels = new Set(r.featureDetail(0).exemplars.map((e) => e.label));
      expect(labels.size).toBeGreaterThan(0);
      expect([...labels].every((l) => l === null || (SCENES as readonly string[]).includes(l))).toBe(true);
    } finally {
      r.close();
    }
    for (const [a, b] of [[demo.indexes.aImages, demo.indexes.bImages], [path.join(demo.indexes.aClips, 'a-topk'), demo.indexes.bClips]] as const) {
      const db = openIndexDb(a);
      try {
        const runs = db.prepare('SELECT other_path FROM match_runs').all() as { other_path: string }[];
        expect(runs.map((x) => path.resolve(x.other_path))).toEqual([path.resolve(b)]);
      } finally {
        db.close();
      }
    }
  });

  it('fits task heads on both backbones; suppressing each colour\'s purest feature lowers that colour on its top exemplar', async () => {
    const { Intervener } = await import('../../src-main/core/intervene/intervener.js');
    const { loadTaskHead } = await import('../../src-main/core/intervene/taskHead.js');
    for (const b of ['a', 'b'] as const) {
      for (const k of ['colour', 'scene', 'segmentation'] as const) {
        const spec = JSON.parse(fs.readFileSync(path.join(demo.heads[b][k], 'head.json'), 'utf8')) as { train_accuracy: number };
        expect(spec.train_accuracy, `${b} ${k}`).toBeGreaterThan(0.85);
        expect(loadTaskHead(demo.heads[b][k]).d).toBe(b === 'a' ? 64 : 48);
      }
    }
    const iv = await Intervener.open({ model: demo.backbones.a, layer: 'block_1', sae: demo.saes['a-topk'], head: demo.heads.a.colour, provider: 'cpu' });
    const reader = IndexReader.open('a', demo.indexes.aImages);
    try {
      for (const p of report.purity.filter((x) => x.factor === 'colour')) {
        const item = reader.featureDetail(p.feature!).exemplars[0]!.item;
        await iv.setImage(path.join(demo.dataset, 'images', item));
        const { before, after } = await iv.run([{ feature: p.feature!, value: 0 }], null);
        const c = COLOURS.indexOf(p.value as (typeof COLOURS)[number]);
        expect(after.probs![c], `${p.value}: feature ${p.feature} on ${item}`).toBeLessThan(before.probs![c]!);
      }
    } finally {
      reader.close();
      await iv.close();
    }
  }, 60_000);

  it('running it again reuses the finished demo', async () => {
    const before = fs.statSync(path.join(out, 'demo.json')).mtimeMs;
    let stdout = '';
    const deps: CliDeps = {
      createBackend: () => Promise.reject(new Error('no backend')),
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: () => {} },
      env: {},
      onInterrupt: () => () => {},
      now: () => performance.now(),
      projectRoot: process.cwd(),
      buildRenderer: () => Promise.resolve(),
      openUrl: async () => "disabled" as const,
    };
    expect(await runCli(['demo', '--out', out, '--json'], deps)).toBe(0);
    expect(JSON.parse(stdout).seconds).toBeLessThan(5);
    expect(fs.statSync(path.join(out, 'demo.json')).mtimeMs).toBe(before);
  });
});
