import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src-main/core/store/openDatabase.js';
import { WalCheckpointer } from '../../src-main/core/store/walCheckpointer.js';

describe('WAL checkpoints in a worker', () => {
  let work: string;
  beforeAll(() => (work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-wal-'))));
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  /** Commits `pages` 4 KiB pages' worth of rows in one transaction. */
  const write = (db: ReturnType<typeof openDatabase>, pages: number, from: number) => {
    const put = db.prepare('INSERT INTO t (id, blob) VALUES (?, ?)');
    db.transaction(() => {
      for (let i = 0; i < pages; i++) put.run(from + i, Buffer.alloc(3900, i % 251));
    })();
  };

  it('copies the log into the database file on its own thread, and commits no longer do', async () => {
    const file = path.join(work, 'a.sqlite');
    const db = openDatabase(file, { create: true });
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, blob BLOB)');
    write(db, 100, 0); // under SQLite's 1000-page threshold: the rows sit in the log only
    const before = fs.statSync(file).size;
    expect(before).toBeLessThan(100 * 4096);

    const checkpointer = new WalCheckpointer(db, file);
    // The worker is loading: commits keep checkpointing themselves until it is ready.
    for (let tries = 0; !checkpointer.active && tries < 500; tries++) {
      await new Promise((r) => setTimeout(r, 20));
      checkpointer.afterCommit();
    }
    expect(checkpointer.active).toBe(true);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    await expect.poll(() => fs.statSync(file).size, { timeout: 10_000 }).toBeGreaterThan(100 * 3900);

    // 1500 pages: past the threshold, yet the commit leaves the file as it was (no checkpoint of
    // its own); the worker, asked after it, copies the rows in.
    const settled = fs.statSync(file).size;
    write(db, 1500, 1000);
    expect(fs.statSync(file).size).toBe(settled);
    checkpointer.afterCommit();
    await expect.poll(() => fs.statSync(file).size, { timeout: 10_000 }).toBeGreaterThan(settled + 1500 * 3900);

    checkpointer.close();
    db.close();
    // Closed as the last connection: the rest checkpointed and the log removed.
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
    const check = openDatabase(file, { readonly: true });
    expect(check.prepare('SELECT COUNT(*) AS n, SUM(length(blob)) AS bytes FROM t').get()).toEqual({ n: 1600, bytes: 1600 * 3900 });
    check.close();
  });
});
