// Child process for the resume test: runs the indexer and SIGKILLs itself right after the
// checkpoint that passes `killAt` items — a real crash, with no cleanup code running.
import { runIndex } from '../../src-main/core/indexer/runIndex.js';

const [request, killAt] = [JSON.parse(process.argv[2]!), Number(process.argv[3])];
await runIndex(request, {
  checkpointIntervalMs: 0,
  afterCheckpoint: (cursor) => {
    if (cursor >= killAt) process.kill(process.pid, 'SIGKILL');
  },
});
console.log('finished without being killed');
