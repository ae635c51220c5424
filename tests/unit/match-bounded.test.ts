// Matching streamed from two real index databases in passes bounded by a memory budget equals
// matching the two item tables held in memory: the same lists (features, scores, co-activation
// counts, lift), mutual pairs, means and item counts, however many blocks the budget cuts A's
// features into and whichever features end up dense. The indexes pair by path with items on one
// side only and item ids that differ between them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runIndex } from '../../src-main/core/indexer/runIndex.js';
import { matchFeatures, matchPairedItems, type MatchOptions, type MatchResult, type SparseItemTable } from '../../src-main/core/analysis/matchFeatures.js';
import { effectiveBudget } from '../../src-main/core/analysis/matchBlocks.js';
import { openIndexDb, readExemplarItems, readItemTable } from '../../src-main/core/analysis/matchStore.js';
import { withPairedItems } from '../../src-main/core/analysis/pairedItemsDb.js';
import { matchIndexFolders } from '../../src-main/core/analysis/runMatch.js';
import { MatchStore } from '../../src-main/core/analysis/matchStore.js';
import { INDEX_DB_FILE } from '../../src-main/core/store/indexConfig.js';
import { makeTinyVit } from '../helpers/makeTinyVit.js';
import { makeSae } from '../helpers/makeSae.js';
import { makeImageFolder } from '../helpers/makeImageFolder.js';
import { sparseItemTable } from '../helpers/sparseItemTable.js';

const D_A = 48;
const D_B = 40;

/**
 * Renumbers an index's items in reverse (items, item_acts, exemplar lists), as an index built in
 * another scan order would number them: B's item order is then not A's, which matching must not
 * depend on (the pairs are walked in A's order).
 */
function reverseItemIds(db: Database.Database): void {
  const flip = (id: number) => 1_000 - id;
  db.transaction(() => {
    db.prepare('UPDATE items SET id = 1000 - id').run();
    db.prepare('UPDATE item_acts SET item = 1000 - item').run();
    for (const { feature, items } of db.prepare('SELECT feature, items FROM exemplars').all() as { feature: number; items: Buffer }[]) {
      const ids = Int32Array.from(new Int32Array(items.buffer.slice(items.byteOffset, items.byteOffset + items.byteLength)), flip);
      db.prepare('UPDATE exemplars SET items = ? WHERE feature = ?').run(Buffer.from(ids.buffer), feature);
    }
  })();
}

describe('matching in bounded passes', () => {
  let work: string;
  let dbA: Database.Database;
  let dbB: Database.Database;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-match-bounded-'));
    const vit = await makeTinyVit({ dir: path.join(work, 'vit'), imageSize: 32, patchSize: 8, dModel: 16, seed: 3 });
    const dataA = (await makeImageFolder(path.join(work, 'data-a'), { perLabel: 10 })).dir;
    // B's dataset lacks one of A's images and has one of its own, so ids shift between the two.
    const dataB = path.join(work, 'data-b');
    fs.cpSync(dataA, dataB, { recursive: true });
    const [first] = fs.readdirSync(path.join(dataB, 'desert')).sort();
    fs.renameSync(path.join(dataB, 'desert', first!), path.join(work, 'removed.png'));
    fs.mkdirSync(path.join(dataB, 'aaa'));
    fs.copyFileSync(path.join(work, 'removed.png'), path.join(dataB, 'aaa', 'only-b.png'));
    for (const [name, data, dSae, seed] of [['a', dataA, D_A, 1], ['b', dataB, D_B, 2]] as const) {
      const sae = makeSae(path.join(work, `sae-${name}`), { dIn: 16, dSae, architecture: 'topk', k: 6, seed });
      await runIndex({ model: vit.manifestPath, layer: 'block_1', sae, data, out: path.join(work, name), topK: 4, provider: 'cpu' });
    }
    dbA = openIndexDb(path.join(work, 'a'));
    dbB = openIndexDb(path.join(work, 'b'));
    reverseItemIds(dbB);
  }, 120_000);
  afterAll(() => {
    dbA?.close();
    dbB?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  const options = (): MatchOptions => {
    const exA = readExemplarItems(dbA);
    const exB = readExemplarItems(dbB);
    return { perFeature: 5, exemplarsA: (f) => exA.get(f) ?? null, exemplarsB: (f) => exB.get(f) ?? null };
  };
  const streamed = (extra: MatchOptions) => withPairedItems(dbA, path.join(work, 'b', INDEX_DB_FILE), (items) => matchPairedItems(items, D_A, D_B, { ...options(), ...extra }));

  /** Everything a match says, compared to the bit. */
  function expectSame(r: MatchResult, ref: MatchResult): void {
    for (const key of ['itemsCommon', 'itemsOnlyA', 'itemsOnlyB', 'examplesOnlyA', 'examplesOnlyB', 'coActivePairs', 'liveA', 'liveB', 'mutual', 'meansA', 'meansB'] as const) {
      expect(r[key], key).toEqual(ref[key]);
    }
    for (const dir of ['aToB', 'bToA'] as const) {
      for (const key of ['other', 'score', 'co', 'lift'] as const) expect(r[dir][key], `${dir}.${key}`).toEqual(ref[dir][key]);
    }
  }

  it('gives the in-memory result at any budget, in one block or many, with dense and posting features', () => {
    const ref = matchFeatures(readItemTable(dbA, D_A), readItemTable(dbB, D_B), options());
    // The reference has something to agree on: pairing by path with items on one side only, and
    // matches with lift in both directions.
    expect([ref.itemsCommon, ref.itemsOnlyA, ref.itemsOnlyB]).toEqual([29, 1, 1]);
    expect(ref.examplesOnlyA[0]).toMatch(/^desert\//);
    expect(ref.examplesOnlyB).toEqual(['aaa/only-b.png']);
    expect(ref.blocks).toBe(1);
    expect(ref.mutual.length).toBeGreaterThan(3);
    expect(Array.from(ref.aToB.lift).filter((x) => x > 0).length).toBeGreaterThan(D_A);
    expect(Array.from(ref.bToA.lift).filter((x) => x > 0).length).toBeGreaterThan(D_B);

    // Budgets from the smallest (one dense row of B: 640 bytes) up to more than the whole match needs.
    const budgets = [1, ...Array.from({ length: 24 }, (_, i) => 700 + 250 * i), 20_000, undefined];
    const runs = budgets.map((budget) => {
      const progress: [string, number, number][] = [];
      const r = streamed({ memoryBudgetBytes: budget, onProgress: (phase, done, total) => progress.push([phase, done, total]) });
      expectSame(r, ref);
      // The working memory of a pass stays within the budget (at least one dense row of B).
      expect(r.workingBytes).toBeLessThanOrEqual(effectiveBudget(budget ?? Infinity, D_B) + 4);
      expect(r.passes).toBe(r.blocks + 2); // moments, one per block, lift
      // Progress: the first pass reads, the others match, never going back.
      expect(progress[0]![0]).toBe('reading');
      const matching = progress.filter(([phase]) => phase === 'matching');
      expect(matching.length).toBeGreaterThanOrEqual(r.blocks);
      matching.forEach(([, done, total], i) => {
        expect(done).toBeLessThanOrEqual(total);
        if (i > 0) expect(done).toBeGreaterThanOrEqual(matching[i - 1]![1]);
      });
      return r;
    });
    const tiniest = runs[0]!;
    const unbounded = runs[runs.length - 1]!;
    // The smallest budget takes many blocks, with features of both kinds; no budget, one block.
    expect(tiniest.blocks).toBeGreaterThan(10);
    expect(tiniest.denseFeatures).toBeGreaterThan(0);
    expect(tiniest.denseFeatures).toBeLessThan(ref.liveA);
    expect(runs.filter((r) => r.blocks > 1 && r.blocks < 10).length).toBeGreaterThan(5);
    expect([unbounded.blocks, unbounded.denseFeatures]).toEqual([1, 0]);

    // Tables in memory split the same way give the same result too.
    const tiny = matchFeatures(readItemTable(dbA, D_A), readItemTable(dbB, D_B), { ...options(), memoryBudgetBytes: 1 });
    expect(tiny.blocks).toBeGreaterThan(10);
    expectSame(tiny, ref);
  });

  it('runs in a match of two index folders at the budget asked for, and saves what it found', () => {
    const side = (name: string, features: number) => ({ indexId: name, path: path.join(work, name), name, features });
    const summary = matchIndexFolders(side('a', D_A), side('b', D_B), undefined, { memoryBudgetMiB: 1 });
    const ref = matchFeatures(readItemTable(dbA, D_A), readItemTable(dbB, D_B), { ...options(), perFeature: 10 });
    expect(summary).toMatchObject({ itemsCommon: 29, itemsOnlyA: 1, itemsOnlyB: 1, mutual: ref.mutual.length, coActivePairs: ref.coActivePairs });
    const best = new MatchStore(dbA).bestMatches(path.join(work, 'b'), 0);
    for (const row of best) expect(row.other).toBe(ref.aToB.other[row.feature * 10]);
    expect(best.length).toBe(Array.from({ length: D_A }, (_, f) => ref.aToB.other[f * 10]).filter((o) => o! >= 0).length);
  });
});

/** A table of `rows` (feature -> value per item), items named item/<i>. */
function table(rows: Map<number, number>[], features: number): SparseItemTable {
  return sparseItemTable(rows.map((_, i) => `item/${i}`), rows, features);
}

describe('a dense feature and a posting feature in one block', () => {
  it('stores the B rows of the items the dense one counted for the posting one, and scores both right', () => {
    // A feature 0 fires on every item (postings would cost more than a dense row of B's 4
    // features: dense); feature 1 on three of them (postings). In the first block both share the
    // items, which the first pass counted under feature 0.
    const n = 12;
    const a = Array.from({ length: n }, (_, i) => new Map([[0, 1 + (i % 5)], ...(i < 3 ? [[1, 2 + i] as [number, number]] : [])]));
    const b = Array.from({ length: n }, (_, i) => new Map([[i % 4, 1 + (i % 3)], ...(i < 3 ? [[3, 5 - i] as [number, number]] : [])]));
    const r = matchFeatures(table(a, 2), table(b, 4), { perFeature: 4 });
    expect([r.blocks, r.denseFeatures]).toEqual([1, 1]);
    const column = (rows: Map<number, number>[], f: number) => rows.map((row) => row.get(f) ?? 0);
    const pearson = (x: number[], y: number[]) => {
      const mean = (z: number[]) => z.reduce((s, v) => s + v, 0) / n;
      const [mx, my] = [mean(x), mean(y)];
      const cov = x.reduce((s, v, i) => s + (v - mx) * (y[i]! - my), 0);
      const sd = (z: number[], m: number) => Math.sqrt(z.reduce((s, v) => s + (v - m) ** 2, 0));
      return cov / (sd(x, mx) * sd(y, my));
    };
    for (const f of [0, 1]) {
      const x = column(a, f);
      const expected = [0, 1, 2, 3]
        .filter((o) => column(b, o).some((v, i) => v > 0 && x[i]! > 0))
        .map((o) => ({ o, score: pearson(x, column(b, o)) }))
        .sort((p, q) => q.score - p.score);
      expect(Array.from(r.aToB.other.subarray(f * 4, f * 4 + expected.length))).toEqual(expected.map((e) => e.o));
      expected.forEach((e, k) => expect(r.aToB.score[f * 4 + k]).toBeCloseTo(e.score, 5));
    }
  });
});
