import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { workerSpec } from '../jobs/workerEntry.js';

// The state word shared with the worker (an Int32Array on a SharedArrayBuffer).
export const CHECKPOINTER_STARTING = 0;
export const CHECKPOINTER_IDLE = 1;
export const CHECKPOINTER_BUSY = 2;

export interface WalCheckpointRequest {
  file: string;
}

/** How long closing waits for a copy in flight before closing anyway (the WAL stays valid). */
const CLOSE_WAIT_MS = 30_000;

/**
 * Moves an index's WAL checkpoints (copying the write-ahead log into the database file, and its
 * fsync) off the thread that writes the index. SQLite runs one inside any commit that leaves the
 * log past 1000 pages, which a build's checkpoints (several MB each) always do: at a million items
 * those commits held indexing up for 0.3 to 1.7 s. Once the worker is ready, the writer's own
 * automatic checkpoints are turned off and each commit asks the worker for one instead (skipped
 * while one is running: the next takes all frames committed by then). Until it is ready, or if it
 * cannot start, SQLite's automatic checkpoints go on as before.
 */
export class WalCheckpointer {
  private readonly state = new Int32Array(new SharedArrayBuffer(4));
  private readonly worker: Worker;
  private handedOver = false;
  private closed = false;

  constructor(
    private readonly db: Database.Database,
    private readonly file: string,
  ) {
    const spec = workerSpec('walCheckpointWorker');
    this.worker = new Worker(spec.file, { workerData: { ...spec.workerData, state: this.state } });
    // A worker that fails to load stays "starting": commits then keep checkpointing themselves.
    this.worker.on('error', () => undefined);
    this.worker.unref();
  }

  /** After a commit: asks the worker to checkpoint, unless it is not ready or already at it. */
  afterCommit(): void {
    if (this.closed) return;
    if (Atomics.compareExchange(this.state, 0, CHECKPOINTER_IDLE, CHECKPOINTER_BUSY) !== CHECKPOINTER_IDLE) return;
    if (!this.handedOver) {
      this.db.pragma('wal_autocheckpoint = 0');
      this.handedOver = true;
    }
    const request: WalCheckpointRequest = { file: this.file };
    this.worker.postMessage(request);
  }

  /** Blocks until the worker has loaded, at most `ms` (tests); whether it has. */
  waitUntilReady(ms: number): boolean {
    Atomics.wait(this.state, 0, CHECKPOINTER_STARTING, ms);
    return Atomics.load(this.state, 0) !== CHECKPOINTER_STARTING;
  }

  /** Whether the worker has taken over the checkpoints (tests). */
  get active(): boolean {
    return this.handedOver;
  }

  /**
   * Waits for a checkpoint in flight (the worker's connection must be closed before the writer's,
   * so that closing the writer, the last connection, checkpoints the rest and removes the log),
   * then stops the worker. Synchronous, as closing a database is.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const until = Date.now() + CLOSE_WAIT_MS;
    while (Atomics.load(this.state, 0) === CHECKPOINTER_BUSY && Date.now() < until) {
      Atomics.wait(this.state, 0, CHECKPOINTER_BUSY, until - Date.now());
    }
    void this.worker.terminate();
  }
}
