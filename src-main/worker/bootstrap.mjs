// Development entry for the indexing worker: registers tsx in this thread so the TypeScript
// worker runs without a build (CLI, web host, tests). The Electron build spawns the bundled
// out/main/indexWorker.js instead.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.entry);
