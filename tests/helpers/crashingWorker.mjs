// A stand-in indexing worker that dies as soon as it is given a job, like a native crash would.
import { parentPort } from 'node:worker_threads';

parentPort.on('message', () => process.exit(3));
