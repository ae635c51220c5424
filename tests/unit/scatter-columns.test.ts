import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IndexReader } from '../../src-main/core/store/indexReader.js';
import { buildFixtureIndex } from '../helpers/buildFixtureIndex.js';

// The scatter's columns come from a real index's features table, one float32 pair per feature by
// number; a finished build keeps them in meta (computed in the build, not by the host that opens
// it), an index from before gets them kept on its first read, and another progress record (a
// resumed or rebuilt index) reads them again.

const D_SAE = 40;
let work: string;
let reader: IndexReader;

/** What the columns must hold: the table's values, rounded to float32 as the wire carries them. */
function fromTable(r: IndexReader): { logFrequency: number[]; logMean: number[] } {
  const rows = r.db.prepare('SELECT log_freq, mean FROM features ORDER BY id').raw().all() as [number, number][];
  return { logFrequency: rows.map(([lf]) => Math.fround(lf)), logMean: rows.map(([, m]) => Math.fround(Math.log10(m + 1e-10))) };
}

const plain = (d: { logFrequency: Float32Array; logMean: Float32Array }) => ({ logFrequency: Array.from(d.logFrequency), logMean: Array.from(d.logMean) });
const keptCount = () => reader.db.prepare("SELECT COUNT(*) FROM meta WHERE key IN ('scatter_columns', 'scatter_columns_progress')").pluck().get();

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'scatter-columns-'));
  const { indexDir } = await buildFixtureIndex(path.join(work, 'fixture'), { perLabel: 2, dSae: D_SAE });
  reader = IndexReader.open('scatter', indexDir);
}, 180_000);

afterAll(() => {
  reader?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('scatter columns', () => {
  it('hold every feature by number, kept by the finished build and, for an older index, by the first read', () => {
    expect(keptCount()).toBe(2); // the build kept them
    expect(plain(reader.scatter())).toEqual(fromTable(reader));
    reader.db.prepare("DELETE FROM meta WHERE key IN ('scatter_columns', 'scatter_columns_progress')").run();
    expect(keptCount()).toBe(0);
    const first = reader.scatter();
    expect(first.logFrequency).toBeInstanceOf(Float32Array);
    expect(first.logFrequency).toHaveLength(D_SAE);
    const expected = fromTable(reader);
    expect(expected.logFrequency.some((v) => v > -9)).toBe(true); // live features, not only dead ones
    expect(plain(first)).toEqual(expected);
    expect(keptCount()).toBe(2);
    // The kept blob gives the same values (a change the progress record does not announce is not seen).
    reader.db.prepare('UPDATE features SET log_freq = -1.5, mean = 100 WHERE id = 3').run();
    expect(plain(reader.scatter())).toEqual(expected);
  });

  it('are read again for another progress record', () => {
    const progress = { ...reader.progress(), tokens: reader.progress().tokens + 1 };
    reader.db.prepare("UPDATE meta SET value = ? WHERE key = 'progress'").run(JSON.stringify(progress));
    const again = reader.scatter();
    expect(again.logFrequency[3]).toBe(-1.5);
    expect(again.logMean[3]).toBe(2);
    expect(plain(again)).toEqual(fromTable(reader));
  });
});
