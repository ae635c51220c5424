import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StudioBackendOptions } from '../../core/backend.js';
import { buildRenderer } from './buildRenderer.js';
import { runCli } from './program.js';

// Process entry of `studio` (bin/studio.mjs loads this through tsx): real streams, real signals,
// the real service. Everything else is in program.ts and commands/, tested with a fake backend.

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

async function createBackend(options: StudioBackendOptions) {
  // Imported lazily so `studio --help` and usage errors do not load onnxruntime and SQLite.
  const { createStudioService } = await import('../../core/service.js');
  return createStudioService(options);
}

const code = await runCli(process.argv.slice(2), {
  createBackend,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  onInterrupt(handler) {
    process.on('SIGINT', handler);
    return () => process.off('SIGINT', handler);
  },
  now: () => Date.now(),
  projectRoot,
  buildRenderer,
});
process.exitCode = code;
// Worker threads or open handles of the service must not keep a finished command alive.
setTimeout(() => process.exit(code), 1000).unref();
