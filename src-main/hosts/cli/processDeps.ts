import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StudioBackendOptions } from '../../core/backend.js';
import { openBrowser } from '../launch/openBrowser.js';
import { buildRenderer } from './buildRenderer.js';
import type { CliDeps } from './context.js';

// The real dependencies of a CLI run in this process: real streams, signals and service. Used by
// `studio` (main.ts) and by `npm start` when it serves the studio in a browser.

/** The checkout: the nearest folder above this file (src-main/hosts/cli/, or the CLI bundle's out/cli/<build>/) with a package.json. */
function projectRootAbove(dir: string): string {
  for (let at = dir; path.dirname(at) !== at; at = path.dirname(at)) {
    if (existsSync(path.join(at, 'package.json'))) return at;
  }
  return path.resolve(dir, '..', '..', '..');
}

export const PROJECT_ROOT = projectRootAbove(path.dirname(fileURLToPath(import.meta.url)));

async function createBackend(options: StudioBackendOptions) {
  // Imported lazily so `studio --help` and usage errors do not load onnxruntime and SQLite.
  const { createStudioService } = await import('../../core/service.js');
  return createStudioService(options);
}

export function processCliDeps(): CliDeps {
  return {
    createBackend,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    onInterrupt(handler) {
      process.on('SIGINT', handler);
      return () => process.off('SIGINT', handler);
    },
    now: () => Date.now(),
    projectRoot: PROJECT_ROOT,
    buildRenderer,
    openUrl: (url) => openBrowser(url, process.env),
  };
}
