// Child process for the creation kill series: runs the indexer and SIGKILLs itself `delayMs`
// after an anchor — a real crash at an arbitrary instant, including in the middle of synchronous
// SQLite work. Anchor 'start': when runIndex is called. Anchor 'create': when IndexWriter.create
// begins, so kills land inside index creation however slow the machine is at that moment (a
// fixed delay from the start drifts out of that few-ms window when other tests load the cores).
// The killer is a worker thread (its own event loop, so it fires even while the main thread is
// busy) started beforehand and released through shared memory.
// With delay -1 nothing is killed and the child prints when IndexWriter.create ran (ms after the
// start), so the parent can spread kills over the creation window.
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { runIndex } from '../../src-main/core/indexer/runIndex.js';
import { IndexWriter } from '../../src-main/core/store/indexWriter.js';

const request = JSON.parse(process.argv[2]!);
const delayMs = Number(process.argv[3]);
const anchor = process.argv[4] === 'create' ? 1 : 0;

// [0]: runIndex called, [1]: IndexWriter.create begins, [2]: never set (the worker sleeps on it).
const flags = new Int32Array(new SharedArrayBuffer(12));
const raise = (i: number) => {
  Atomics.store(flags, i, 1);
  Atomics.notify(flags, i);
};
if (delayMs >= 0) {
  const killer = new Worker(
    `const { workerData: w } = require('node:worker_threads');
     Atomics.wait(w.flags, w.anchor, 0);
     if (w.delayMs > 0) Atomics.wait(w.flags, 2, 0, w.delayMs);
     process.kill(w.pid, 'SIGKILL');`,
    { eval: true, workerData: { flags, anchor, delayMs, pid: process.pid } },
  );
  await new Promise((resolve) => killer.once('online', resolve));
  killer.unref(); // waiting for 'online' needs the worker to hold the event loop; the run does not
}

let t0 = 0;
const create = IndexWriter.create.bind(IndexWriter);
IndexWriter.create = (...args: Parameters<typeof IndexWriter.create>) => {
  raise(1);
  const start = performance.now() - t0;
  const writer = create(...args);
  if (delayMs < 0) console.log(JSON.stringify({ createStart: start, createEnd: performance.now() - t0 }));
  return writer;
};

t0 = performance.now();
raise(0);
await runIndex(request, { checkpointIntervalMs: 0 });
if (delayMs < 0) console.log(JSON.stringify({ total: performance.now() - t0 }));
