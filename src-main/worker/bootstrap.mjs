// Entry for a worker run from the TypeScript sources (tsx, vitest, `npm start`'s web studio):
// registers tsx in this thread, then loads the worker named in workerData. The bundles spawn
// their own built workers instead: out/main/indexWorker.js (Electron) and out/cli/<build>/
// indexWorker.js and analysisWorker.js (`studio`, scripts/build-cli.mjs).
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.entry);
