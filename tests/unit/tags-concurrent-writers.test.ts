// Issue 18 item 3: with a CLI import running, web edits that answered 200 were lost (the edit read
// a record and replaced it in separate transactions, so a write by another process in between was
// overwritten), and "database is locked" showed only as a warning. Here four processes, each with
// its own connection to one index and a shared settings folder, write tags at the same time: a
// bulk importer, a CLI-like editor and two serve-like editors. Afterwards every write that reported
// success must be in the index, and in the app-wide store it mirrors to.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { runIndex } from '../../src-main/core/indexer/runIndex.js';
import { IndexReader } from '../../src-main/core/store/indexReader.js';
import { TagService } from '../../src-main/core/tags/tagService.js';
import { makeTinyVit } from '../helpers/makeTinyVit.js';
import { makeSae } from '../helpers/makeSae.js';
import { makeImageFolder } from '../helpers/makeImageFolder.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const writer = path.join(here, '../helpers/tagWriter.ts');

interface Line {
  ok?: boolean;
  features?: number[];
  tag?: string;
  note?: string;
  error?: string;
  warning?: string;
}

function runWriter(args: string[]): Promise<Line[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`writer ${args[2]} exited with ${code}: ${err}`));
      else resolve(out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line));
    });
  });
}

/** feature -> its free tags and note texts, as stored in this database. */
function stored(file: string, saeHash: string): Map<number, { tags: Set<string>; notes: Set<string> }> {
  const db = new Database(file, { readonly: true });
  try {
    const out = new Map<number, { tags: Set<string>; notes: Set<string> }>();
    const at = (f: number) => out.get(f) ?? out.set(f, { tags: new Set(), notes: new Set() }).get(f)!;
    for (const r of db.prepare('SELECT feature, tag FROM feature_free_tags WHERE sae_hash = ?').all(saeHash) as { feature: number; tag: string }[]) at(r.feature).tags.add(r.tag);
    for (const r of db.prepare('SELECT feature, text FROM feature_notes WHERE sae_hash = ?').all(saeHash) as { feature: number; text: string }[]) at(r.feature).notes.add(r.text);
    return out;
  } finally {
    db.close();
  }
}

function lost(lines: Line[], db: Map<number, { tags: Set<string>; notes: Set<string> }>): string[] {
  const missing: string[] = [];
  for (const l of lines) {
    if (!l.ok) continue;
    for (const f of l.features!) {
      if (!db.get(f)?.tags.has(l.tag!)) missing.push(`tag ${l.tag} on feature ${f}`);
      if (l.note && !db.get(f)?.notes.has(l.note)) missing.push(`note '${l.note}' on feature ${f}`);
    }
  }
  return missing;
}

describe('tag writes from several processes at once', () => {
  let work: string;
  let indexDir: string;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-tag-race-'));
    const vit = await makeTinyVit({ dir: path.join(work, 'vit'), imageSize: 32, patchSize: 8, dModel: 16, cls: true, registers: 0, seed: 3 });
    const sae = makeSae(path.join(work, 'sae'), { dIn: 16, dSae: 32, architecture: 'relu', seed: 4 });
    const data = (await makeImageFolder(path.join(work, 'data'), { perLabel: 2 })).dir;
    indexDir = path.join(work, 'index');
    await runIndex({ model: vit.manifestPath, layer: 'block_0', sae, data, out: indexDir, topK: 2, provider: 'cpu' });
  }, 60_000);
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('an importer, a CLI editor and two serve-like editors: no edit that reported success is lost', async () => {
    const settings = path.join(work, 'settings');
    // Start together once every child has loaded (tsx start-up takes a second or two here).
    const startAt = Date.now() + 6000;
    const stopAt = startAt + 3000;
    const roles: [string, string][] = [
      ['import', 'import'],
      ['cli', 'edits'],
      ['serve-a', 'edits'],
      ['serve-b', 'edits'],
    ];
    const results = await Promise.all(roles.map(([name, mode]) => runWriter([indexDir, settings, name, mode, String(startAt), String(stopAt)])));
    const lines = results.flat();

    const reader = IndexReader.open('check', indexDir);
    const hash = reader.config.sae.hash;
    reader.close();
    const succeeded = lines.filter((l) => l.ok);
    const failed = lines.filter((l) => l.ok === false);
    const warnings = lines.filter((l) => l.warning);
    const perWriter = roles.map(([name], i) => `${name} ${results[i]!.filter((l) => l.ok).length}`).join(', ');
    const missingInIndex = lost(lines, stored(path.join(indexDir, 'index.sqlite'), hash));
    const missingInApp = lost(lines, stored(path.join(settings, 'tags.sqlite'), hash));
    const summary = `${succeeded.length} writes succeeded (${perWriter}), ${failed.length} failed, ${warnings.length} warnings; ` +
      `lost: ${missingInIndex.length} in the index, ${missingInApp.length} in the app store; e.g. ${[...missingInIndex, ...missingInApp].slice(0, 3).join('; ')}` +
      `${failed[0] ? `; first failure: ${failed[0].error}` : ''}${warnings[0] ? `; first warning: ${warnings[0].warning}` : ''}`;
    console.log(summary);

    // Every writer really wrote while the others did.
    for (const r of results) expect(r.filter((l) => l.ok).length, summary).toBeGreaterThan(0);
    expect(succeeded.length, summary).toBeGreaterThan(30);
    expect(missingInIndex, summary).toEqual([]);
    expect(missingInApp, summary).toEqual([]);
    // A lock wait ending in "database is locked" would be a failure the caller sees, never a warning.
    expect(warnings.filter((w) => /locked|busy/i.test(w.warning!)), summary).toEqual([]);
  }, 60_000);

  it('a lock held past the busy timeout fails the edit, with nothing written, instead of a warning', () => {
    const settings = path.join(work, 'settings-locked');
    const reader = IndexReader.open('locked', indexDir);
    const tags = new TagService(settings);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      tags.syncOnOpen(reader);
      const appDb = (tags as unknown as { app(): Database.Database }).app();
      // Waiting the real timeout (10 s) would slow the suite; the behaviour is the same at 150 ms.
      reader.db.pragma('busy_timeout = 150');
      appDb.pragma('busy_timeout = 150');
      const before = reader.tags().get(20);

      // Another process holds the index's write lock.
      const other = new Database(path.join(indexDir, 'index.sqlite'));
      other.exec('BEGIN IMMEDIATE');
      expect(() => tags.edit(reader, { indexId: 'locked', features: [20], addTags: ['while-locked'] })).toThrow(/tags were not saved.*locked/s);
      other.exec('ROLLBACK');
      other.close();

      // Another process holds the app-wide store's lock: the whole edit fails, the index included.
      const otherApp = new Database(path.join(settings, 'tags.sqlite'));
      otherApp.exec('BEGIN IMMEDIATE');
      expect(() => tags.edit(reader, { indexId: 'locked', features: [20], addTags: ['while-app-locked'] })).toThrow(/tags were not saved.*locked/s);
      otherApp.exec('ROLLBACK');
      otherApp.close();

      expect(reader.tags().get(20)).toEqual(before);
      expect(warnings.filter((w) => /locked|busy/i.test(w))).toEqual([]);
      // Once the lock is free the same edit goes through.
      expect(tags.edit(reader, { indexId: 'locked', features: [20], addTags: ['after'] }).records[0]!.tags).toContain('after');
    } finally {
      process.off('warning', onWarning);
      tags.close();
      reader.close();
    }
  });
});
