import { Worker } from 'node:worker_threads';
import { StudioError } from '../errors.js';
import type { AnalysisPayload, AnalysisProgress, AnalysisReply, AnalysisResults, AnalysisType } from '../analysis/analysisProtocol.js';
import { analysisWorkerSpec } from './workerEntry.js';

/**
 * The service's handle on the analysis worker: started on first use, kept (its ONNX sessions
 * stay open between queries), restarted after a crash, which fails only the requests in flight.
 */
export class AnalysisClient {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<
    number,
    {
      type: AnalysisType;
      resolve: (v: unknown) => void;
      reject: (e: Error) => void;
      onProgress?: (p: AnalysisProgress) => void;
    }
  >();

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const spec = analysisWorkerSpec();
    const worker = new Worker(spec.file, { workerData: spec.workerData });
    worker.unref();
    worker.on('message', (reply: AnalysisReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      if ('progress' in reply) {
        p.onProgress?.(reply.progress);
        return;
      }
      this.pending.delete(reply.id);
      if (reply.ok) p.resolve(reply.result);
      else p.reject(new StudioError(reply.error.code, reply.error.message));
      if (this.pending.size === 0) worker.unref();
    });
    const fail = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = null;
      for (const p of this.pending.values()) p.reject(new StudioError('internal', `The analysis worker stopped (${why}). Try again; it restarts by itself.`));
      this.pending.clear();
    };
    worker.on('error', (err) => fail(err.message));
    worker.on('exit', (code) => fail(`exit code ${code}`));
    this.worker = worker;
    return worker;
  }

  /** Sends one request; resolves with what the protocol says that request type answers. */
  call<T extends AnalysisType>(
    payload: AnalysisPayload<T> & { type: T },
    transfer: ArrayBuffer[] = [],
    onProgress?: (p: AnalysisProgress) => void,
  ): Promise<AnalysisResults[T]> {
    const worker = this.ensure();
    const id = this.nextId++;
    worker.ref();
    return new Promise<AnalysisResults[T]>((resolve, reject) => {
      this.pending.set(id, { type: payload.type, resolve: resolve as (v: unknown) => void, reject, onProgress });
      worker.postMessage({ ...payload, id }, transfer);
    });
  }

  /**
   * Cancels every request of one type in flight (a long match). The worker computes in one
   * synchronous stretch, so cancelling means stopping it: other requests in flight fail with a
   * retry hint, and the next call starts a fresh worker. Resolves false when nothing was running.
   */
  async cancel(type: AnalysisType): Promise<boolean> {
    const w = this.worker;
    if (!w || ![...this.pending.values()].some((p) => p.type === type)) return false;
    this.worker = null;
    for (const p of this.pending.values()) {
      p.reject(
        p.type === type
          ? new StudioError('cancelled', 'Cancelled. Nothing was saved; run it again when you want the result.')
          : new StudioError('internal', 'The analysis worker was restarted to cancel a match. Try again.'),
      );
    }
    this.pending.clear();
    await w.terminate();
    return true;
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    for (const p of this.pending.values()) p.reject(new StudioError('cancelled', 'The studio is closing.'));
    this.pending.clear();
    if (w) await w.terminate();
  }
}
