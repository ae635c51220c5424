import { fileURLToPath } from 'node:url';

/** The worker threads the studio starts (each an entry of the Electron and CLI builds). */
export type WorkerName = 'indexWorker' | 'analysisWorker' | 'walCheckpointWorker';

/**
 * Where a worker lives. Running from TypeScript sources (tsx, vitest), it is started through a
 * small bootstrap that registers tsx in the new thread; in the Electron and CLI builds each worker
 * is bundled beside the bundle that starts it, as `<name>.js`.
 */
export function workerSpec(name: WorkerName): { file: string; workerData: Record<string, unknown> } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    return {
      file: fileURLToPath(new URL('../../worker/bootstrap.mjs', here)),
      workerData: { entry: new URL(`../../worker/${name}.ts`, here).href },
    };
  }
  return { file: fileURLToPath(new URL(`./${name}.js`, here)), workerData: {} };
}

/** The indexing worker (one per indexing job). */
export const indexWorkerSpec = () => workerSpec('indexWorker');

/** The analysis worker (matching, patch queries). */
export const analysisWorkerSpec = () => workerSpec('analysisWorker');
