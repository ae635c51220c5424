import type Database from 'better-sqlite3';

/** The features a checkpoint writes, each prepared (its row and blobs read) on demand. */
export interface CheckpointFeatures {
  /** Feature count of the accumulator (ids are 0 … count − 1). */
  count: number;
  /** The features this checkpoint writes, in order. */
  list: number[];
  /** A feature's statistics row (from the copy taken when the checkpoint began, so never stale). */
  prepareStats: (f: number) => () => unknown;
  /** A feature's exemplar and range-sample writes, read and packed when called (the costly part); [] when unchanged. */
  prepareSamples: (f: number) => (() => unknown)[];
}

const WRITTEN = 0;
const PENDING = 1;
const FROZEN = 2;

/**
 * One checkpoint's writes, applied in one transaction either at once (`finish`) or a slice at a
 * time (`step`) while the next batches run in onnxruntime, so a wide SAE's checkpoint (tens of
 * thousands of feature rows) does not stop indexing for seconds. It holds the state at its cursor
 * although later batches go on changing the accumulator: the statistics were copied in bulk when
 * it began (indexWriter.beginCheckpoint), and a feature's exemplars and range samples, packed only
 * when written (the costly part), are packed early by `freezeSamples` just before a batch changes
 * them (copy on write; after the first batches, few features' top-k still change). The
 * transaction stays open between slices and commits in `finish`: a run killed before that keeps
 * the previous checkpoint, exactly as if this one had not begun.
 */
export class CheckpointWrite {
  private head = 0;
  private nextFeature = 0;
  private committed = false;
  private readonly samples: Uint8Array;
  private readonly frozenSamples = new Map<number, (() => unknown)[]>();

  constructor(
    private readonly db: Database.Database,
    /** The item cursor this checkpoint records. */
    readonly cursor: number,
    /** Writes before the features (items, skips, traces). */
    private readonly ops: (() => unknown)[],
    private readonly features: CheckpointFeatures,
    /** The last write (the progress row with the cursor). */
    private readonly last: () => unknown,
    /** Called once the transaction has committed. */
    private readonly onCommit: () => void = () => undefined,
  ) {
    this.samples = new Uint8Array(features.count);
    for (const f of features.list) this.samples[f] = PENDING;
  }

  /** All writes applied (the transaction still needs `finish` to commit). */
  get written(): boolean {
    return this.head >= this.ops.length && this.nextFeature >= this.features.list.length;
  }

  /** Reads feature f's exemplars and range samples (about to change) unless already written. */
  freezeSamples(f: number): void {
    if (this.samples[f] !== PENDING) return;
    this.samples[f] = FROZEN;
    this.frozenSamples.set(f, this.features.prepareSamples(f));
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
        const samples = this.samples[f] === FROZEN ? this.frozenSamples.get(f)! : this.features.prepareSamples(f);
        this.samples[f] = WRITTEN;
        this.frozenSamples.delete(f);
        this.features.prepareStats(f)();
        for (const op of samples) op();
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
    this.onCommit();
  }
}
