// Issue 18 item 6: a kill in the first milliseconds of a new index (while IndexWriter.create is
// making the folder, the database and its tables) used to leave a folder every later run refused
// ("already holds an index built from different inputs (no configuration)"). This kills a real
// indexing child at many instants of its first ~200 ms, including densely across the creation
// window measured on this machine, and checks that the same command then completes each time with
// the index an uninterrupted run writes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { runIndex } from '../../src-main/core/indexer/runIndex.js';
import { IndexReader } from '../../src-main/core/store/indexReader.js';
import { IndexWriter } from '../../src-main/core/store/indexWriter.js';
import { migrate } from '../../src-main/core/store/schema.js';
import { makeTinyVit } from '../helpers/makeTinyVit.js';
import { makeSae } from '../helpers/makeSae.js';
import { makeImageFolder } from '../helpers/makeImageFolder.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const child = path.join(here, '../helpers/indexKilledAfter.ts');

function snapshot(dir: string) {
  const r = IndexReader.open('x', dir);
  try {
    const rows = r.queryFeatures({ indexId: 'x', sort: 'index', desc: false, offset: 0, limit: 1000 }).rows;
    const exemplars = rows.map((row) => r.featureDetail(row.feature).exemplars.map((e) => [e.item, e.value, e.patchMap]));
    const s = r.summary();
    return { rows, exemplars, tokens: s.tokens, items: s.items, skipped: s.skipped, complete: s.complete };
  } finally {
    r.close();
  }
}

/** What the kill left: nothing, a half-created index (no configuration yet), or a started one. */
function stateOf(dir: string): 'nothing' | 'creating' | 'started' {
  if (!fs.existsSync(dir) || fs.readdirSync(dir).length === 0) return 'nothing';
  if (!IndexWriter.exists(dir)) return 'creating';
  const db = new Database(path.join(dir, 'index.sqlite'));
  try {
    const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
    return hasMeta && db.prepare("SELECT 1 FROM meta WHERE key = 'config'").get() ? 'started' : 'creating';
  } finally {
    db.close();
  }
}

function spawnIndexer(request: object, delayMs: number, anchor: 'start' | 'create' = 'start') {
  return spawnSync(process.execPath, ['--import', 'tsx', child, JSON.stringify(request), String(delayMs), anchor], {
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('a kill at any instant of creating an index resumes', () => {
  let work: string;
  let base: { model: string; layer: string; sae: string; data: string; topK: number; batch: number; provider: 'cpu' };

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-create-kill-'));
    const vit = await makeTinyVit({ dir: path.join(work, 'vit'), imageSize: 32, patchSize: 8, dModel: 16, cls: true, registers: 2, seed: 11 });
    const sae = makeSae(path.join(work, 'sae'), { dIn: 16, dSae: 32, architecture: 'relu', seed: 2 });
    const data = (await makeImageFolder(path.join(work, 'data'), { perLabel: 6, corrupt: 1 })).dir;
    base = { model: vit.manifestPath, layer: 'block_0', sae, data, topK: 4, batch: 3, provider: 'cpu' };
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('20 SIGKILLs in the first ~200 ms, each followed by the same command, end with the uninterrupted index', async () => {
    const clean = path.join(work, 'clean');
    await runIndex({ ...base, out: clean }, { checkpointIntervalMs: 0 });
    const expected = snapshot(clean);

    // How long IndexWriter.create takes in a child on this machine.
    const calibration = spawnIndexer({ ...base, out: path.join(work, 'calibration') }, -1);
    expect(calibration.status, calibration.stderr).toBe(0);
    const { createStart, createEnd } = JSON.parse(calibration.stdout.split('\n')[0]!) as { createStart: number; createEnd: number };

    // Ten kills spread over the first 200 ms after runIndex is called, and ten spread over the
    // creation itself (counted from the moment IndexWriter.create begins, 0 to 120% of its time).
    const kills: { delay: number; anchor: 'start' | 'create' }[] = [
      ...Array.from({ length: 10 }, (_, i) => ({ delay: i * 20, anchor: 'start' as const })),
      ...Array.from({ length: 10 }, (_, i) => ({ delay: Math.round(((createEnd - createStart) * 1.2 * i) / 9 * 10) / 10, anchor: 'create' as const })),
    ];

    const states: Record<string, number> = { nothing: 0, creating: 0, started: 0, finished: 0 };
    for (const [i, { delay, anchor }] of kills.entries()) {
      const out = path.join(work, `killed-${i}`);
      const run = spawnIndexer({ ...base, out }, delay, anchor);
      if (run.signal === 'SIGKILL') states[stateOf(out)]!++;
      else {
        expect(run.status, `child killed ${delay} ms after ${anchor}: ${run.stderr}`).toBe(0);
        states.finished!++;
      }
      // The same command again: it must complete, and write what an uninterrupted run writes.
      await runIndex({ ...base, out }, { checkpointIntervalMs: 0 });
      expect(snapshot(out), `kill ${delay} ms after ${anchor}`).toEqual(expected);
    }
    console.log('kill series', JSON.stringify({ states, createStart, createEnd }));
    // The series must actually have hit the creation window, or it proves nothing.
    expect(states.creating, JSON.stringify({ states, createStart, createEnd })).toBeGreaterThan(0);
  }, 120_000);

  it('a database without configuration that also holds other data is refused with an accurate message', async () => {
    const out = path.join(work, 'foreign');
    fs.mkdirSync(out);
    const db = new Database(path.join(out, 'index.sqlite'));
    migrate(db, out);
    db.prepare("INSERT INTO items (id, path) VALUES (0, 'x.jpg')").run();
    db.close();
    const err = await runIndex({ ...base, out }).catch((e: Error) => e);
    expect(String(err)).toMatch(/without an index configuration/);
    expect(String(err)).not.toMatch(/different inputs/);
    expect(fs.existsSync(path.join(out, 'index.sqlite'))).toBe(true); // left untouched
  });

  it('a folder holding something besides what creation writes is still refused, and not emptied', async () => {
    const out = path.join(work, 'busy');
    fs.mkdirSync(path.join(out, 'thumbs'), { recursive: true });
    fs.writeFileSync(path.join(out, 'notes.txt'), 'mine');
    await expect(runIndex({ ...base, out })).rejects.toThrow(/not empty and holds no index/);
    expect(fs.readFileSync(path.join(out, 'notes.txt'), 'utf8')).toBe('mine');
  });
});
