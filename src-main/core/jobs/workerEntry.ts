import { fileURLToPath } from 'node:url';

/**
 * Where the indexing worker lives. Running from TypeScript sources (tsx, vitest), the worker is
 * started through a small bootstrap that registers tsx in the new thread; in the Electron build
 * the worker is bundled beside the main bundle as indexWorker.js.
 */
export function indexWorkerSpec(): { file: string; workerData: Record<string, unknown> } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    return {
      file: fileURLToPath(new URL('../../worker/bootstrap.mjs', here)),
      workerData: { entry: new URL('../../worker/indexWorker.ts', here).href },
    };
  }
  return { file: fileURLToPath(new URL('./indexWorker.js', here)), workerData: {} };
}

/** Where the analysis worker (matching, patch queries) lives; same scheme as the indexing worker. */
export function analysisWorkerSpec(): { file: string; workerData: Record<string, unknown> } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    return {
      file: fileURLToPath(new URL('../../worker/bootstrap.mjs', here)),
      workerData: { entry: new URL('../../worker/analysisWorker.ts', here).href },
    };
  }
  return { file: fileURLToPath(new URL('./analysisWorker.js', here)), workerData: {} };
}
