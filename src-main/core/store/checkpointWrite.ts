import type Database from 'better-sqlite3';

/** The features a checkpoint writes, each prepared (its row and blobs read) on demand. */
export interface CheckpointFeatures {
  /** Feature count of the accumulator (ids are 0 … count − 1). */
  count: number;
  /** The features this checkpoint writes, in order. */
  list: number[];
  /** A feature's writes, read from the accumulator when called. */
  prepare: (f: number) => (() => unknown)[];
}

const WRITTEN = 0;
const PENDING = 1;
const FROZEN = 2;

/**
 * One checkpoint's writes, applied in one transaction either at once (`finish`) or a slice at a
 * time (`step`) while the next batches run in onnxruntime, so a wide SAE's checkpoint (tens of
 * thousands of feature rows) no longer stops indexing for seconds. A feature's row is read when it
 * is written; before a batch changes features this checkpoint has not written yet, the run calls
 * `freeze` with them and their rows are read first (copy on write), so the checkpoint holds the
 * state at its cursor. The transaction stays open between slices and commits in `finish`: a run
 * killed before that keeps the previous checkpoint, exactly as if this one had not begun.
 */
export class CheckpointWrite {
  private head = 0;
  private nextFeature = 0;
  private committed = false;
  private readonly state: Uint8Array;
  private readonly frozen = new Map<number, (() => unknown)[]>();

  constructor(
    private readonly db: Database.Database,
    /** The item cursor this checkpoint records. */
    readonly cursor: number,
    /** Writes before the features (items, skips, traces). */
    private readonly ops: (() => unknown)[],
    private readonly features: CheckpointFeatures,
    /** The last write (the progress row with the cursor). */
    private readonly last: () => unknown,
  ) {
    this.state = new Uint8Array(features.count);
    for (const f of features.list) this.state[f] = PENDING;
  }

  /** All writes applied (the transaction still needs `finish` to commit). */
  get written(): boolean {
    return this.head >= this.ops.length && this.nextFeature >= this.features.list.length;
  }

  /** Reads the rows of these features (a batch is about to change them) unless already written. */
  freeze(features: ArrayLike<number>): void {
    for (let i = 0; i < features.length; i++) {
      const f = features[i]!;
      if (this.state[f] !== PENDING) continue;
      this.state[f] = FROZEN;
      this.frozen.set(f, this.features.prepare(f));
    }
  }

  /** Applies writes for about `ms` milliseconds (at least a few). */
  step(ms: number): void {
    if (this.committed) return;
    if (!this.db.inTransaction) this.db.exec('BEGIN IMMEDIATE');
    const end = performance.now() + ms;
    try {
      while (this.head < this.ops.length) {
        this.ops[this.head++]!();
        // The clock is read every 64 writes: a row takes microseconds.
        if ((this.head & 63) === 0 && performance.now() >= end) return;
      }
      const list = this.features.list;
      while (this.nextFeature < list.length) {
        const f = list[this.nextFeature++]!;
        const ops = this.state[f] === FROZEN ? this.frozen.get(f)! : this.features.prepare(f);
        this.state[f] = WRITTEN;
        this.frozen.delete(f);
        for (const op of ops) op();
        if ((this.nextFeature & 15) === 0 && performance.now() >= end) return;
      }
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      this.committed = true;
      throw err;
    }
  }

  /** Applies what is left and commits. */
  finish(): void {
    if (this.committed) return;
    this.step(Infinity);
    try {
      this.last();
      this.db.exec('COMMIT');
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw err;
    } finally {
      this.committed = true;
    }
  }
}
