import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { runIndex } from '../../src-main/core/indexer/runIndex.js';
import { IndexReader } from '../../src-main/core/store/indexReader.js';
import { SCHEMA_VERSION } from '../../src-main/core/store/schema.js';
import { makeTinyVit, type TinyVit } from '../helpers/makeTinyVit.js';
import { makeSae } from '../helpers/makeSae.js';
import { makeImageFolder } from '../helpers/makeImageFolder.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function snapshot(dir: string) {
  const r = IndexReader.open('x', dir);
  try {
    const rows = r.queryFeatures({ indexId: 'x', sort: 'index', desc: false, offset: 0, limit: 1000 }).rows;
    const details = rows.map((row) => r.featureDetail(row.feature)).map((d) => ({
      exemplars: d.exemplars.map((e) => [e.item, e.value, e.patchMap]),
      // Range samples (issue 17) are checkpointed with the rest: counts and kept items survive a kill.
      ranges: d.rangeSamples!.map((r) => [r.lo, r.hi, r.count, r.items.map((e) => [e.item, e.value, e.patchMap])]),
    }));
    const s = r.summary();
    return { rows, details, tokens: s.tokens, items: s.items, skipped: s.skipped };
  } finally {
    r.close();
  }
}

describe('resume after a kill, and bad input', () => {
  let work: string;
  let vit: TinyVit;
  let saePath: string;
  let dataDir: string;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-resume-'));
    vit = await makeTinyVit({ dir: path.join(work, 'vit'), imageSize: 32, patchSize: 8, dModel: 16, cls: true, registers: 2, seed: 11 });
    saePath = makeSae(path.join(work, 'sae'), { dIn: 16, dSae: 32, architecture: 'relu', seed: 2 });
    dataDir = (await makeImageFolder(path.join(work, 'data'), { perLabel: 6, corrupt: 1 })).dir;
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('a killed indexer resumes from its last checkpoint and ends with the same index', async () => {
    const base = { model: vit.manifestPath, layer: 'block_0', sae: saePath, data: dataDir, topK: 4, batch: 3, provider: 'cpu' as const };
    const clean = path.join(work, 'clean');
    await runIndex({ ...base, out: clean }, { checkpointIntervalMs: 0 });

    const killed = path.join(work, 'killed');
    const child = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, '../helpers/indexUntilKilled.ts'), JSON.stringify({ ...base, out: killed }), '9'], {
      encoding: 'utf8',
    });
    expect(child.signal).toBe('SIGKILL');
    const db = new Database(path.join(killed, 'index.sqlite'), { readonly: true });
    const progress = JSON.parse((db.prepare("SELECT value FROM meta WHERE key = 'progress'").get() as { value: string }).value);
    db.close();
    expect(progress.cursor).toBe(9);
    expect(progress.complete).toBe(false);

    const result = await runIndex({ ...base, out: killed }, { checkpointIntervalMs: 0 });
    expect(result.resumed).toBe(true);
    const resumed = snapshot(killed);
    expect(resumed).toEqual(snapshot(clean));
    expect(resumed.details.reduce((n, d) => n + d.ranges.length, 0)).toBeGreaterThan(resumed.details.length);
  });

  it('refuses to resume into a folder built from other inputs', async () => {
    const out = path.join(work, 'other');
    await runIndex({ model: vit.manifestPath, layer: 'block_0', sae: saePath, data: dataDir, out, topK: 4, provider: 'cpu' });
    await expect(runIndex({ model: vit.manifestPath, layer: 'block_1', sae: saePath, data: dataDir, out, topK: 4, provider: 'cpu' })).rejects.toThrow(
      /already holds an index built from different inputs \(layer block_0 vs block_1\)/,
    );
  });

  it('an empty folder is refused with what was looked for', async () => {
    const empty = path.join(work, 'empty');
    fs.mkdirSync(empty);
    await expect(runIndex({ model: vit.manifestPath, layer: 'block_0', sae: saePath, data: empty, out: path.join(work, 'o1') })).rejects.toThrow(
      /No images found in .*empty.*\.jpg/,
    );
  });

  it('a checkpoint whose d_in does not fit the layer is refused with both numbers', async () => {
    const wide = makeSae(path.join(work, 'sae-wide'), { dIn: 24, dSae: 32, architecture: 'relu', seed: 2 });
    await expect(runIndex({ model: vit.manifestPath, layer: 'block_0', sae: wide, data: dataDir, out: path.join(work, 'o2') })).rejects.toThrow(
      /d_in = 24 .*width 16/,
    );
  });

  it('a layer mapped to a missing ONNX output is refused, listing the outputs', async () => {
    const manifest = JSON.parse(fs.readFileSync(vit.manifestPath, 'utf8'));
    manifest.layers.block_9 = 'no_such_output';
    const bad = path.join(vit.dir, 'bad-manifest.json');
    fs.writeFileSync(bad, JSON.stringify(manifest));
    await expect(runIndex({ model: bad, layer: 'block_9', sae: saePath, data: dataDir, out: path.join(work, 'o3') })).rejects.toThrow(
      /no_such_output.*block_0/s,
    );
  });

  it('an index written by a newer studio is refused with a clear message', async () => {
    const out = path.join(work, 'future');
    await runIndex({ model: vit.manifestPath, layer: 'block_0', sae: saePath, data: dataDir, out, topK: 2, provider: 'cpu' });
    const db = new Database(path.join(out, 'index.sqlite'));
    db.pragma('user_version = 99');
    db.close();
    expect(() => IndexReader.open('f', out)).toThrow(new RegExp(`newer Feature Studio \\(index schema 99; this version reads up to ${SCHEMA_VERSION}\\)`));
  });

  it('an SAE whose normalisation scale is not in the checkpoint asks for it, and the override is used', async () => {
    const scaled = makeSae(path.join(work, 'sae-scaled'), { dIn: 16, dSae: 32, architecture: 'relu', seed: 2, normalizeActivations: 'expected_average_only_in' });
    const base = { model: vit.manifestPath, layer: 'block_0', sae: scaled, data: dataDir, topK: 2, provider: 'cpu' as const };
    await expect(runIndex({ ...base, out: path.join(work, 'n1') })).rejects.toThrow(/--norm scale --norm-scale/);
    await runIndex({ ...base, out: path.join(work, 'n2'), normalization: { mode: 'scale', scale: 0.5 } });
    const r = IndexReader.open('n', path.join(work, 'n2'));
    expect(r.summary().sae.normalization).toEqual({ mode: 'scale', scale: 0.5, hasMean: false });
    r.close();
  });

  it('a folder that is not an index says so', () => {
    expect(() => IndexReader.open('n', dataDir)).toThrow(/is not a Feature Studio index/);
  });
});
