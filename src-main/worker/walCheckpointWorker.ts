import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../core/store/openDatabase.js';
import { CHECKPOINTER_IDLE, CHECKPOINTER_STARTING, type WalCheckpointRequest } from '../core/store/walCheckpointer.js';

// Copies one index's write-ahead log into its database file when asked (core/store/
// walCheckpointer.ts), on a connection of its own, so the build's thread never waits for that
// copy and its fsync. The shared state word says when a copy is running; it is set back to idle
// after the connection is closed, so the writer may close the index as the last connection.

if (!parentPort) throw new Error('walCheckpointWorker must run as a worker thread');
const { state } = workerData as { state: Int32Array };

parentPort.on('message', (request: WalCheckpointRequest) => {
  try {
    const db = openDatabase(request.file);
    try {
      // PASSIVE: copies what no reader still needs and never waits for the writer.
      db.pragma('wal_checkpoint(PASSIVE)');
    } finally {
      db.close();
    }
  } catch {
    // The next commit asks again, and closing the index checkpoints whatever is left.
  } finally {
    Atomics.store(state, 0, CHECKPOINTER_IDLE);
    Atomics.notify(state, 0);
  }
});

Atomics.compareExchange(state, 0, CHECKPOINTER_STARTING, CHECKPOINTER_IDLE); // loaded: ready for requests
Atomics.notify(state, 0);
