import { Worker } from 'node:worker_threads';
import { StudioError } from '../errors.js';
import type { AnalysisReply, AnalysisRequest } from '../../worker/analysisProtocol.js';
import { analysisWorkerSpec } from './workerEntry.js';

type Payload = AnalysisRequest extends infer R ? (R extends AnalysisRequest ? Omit<R, 'id'> : never) : never;

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
      type: Payload['type'];
      resolve: (v: unknown) => void;
      reject: (e: Error) => void;
      onProgress?: (p: { phase: 'reading' | 'matching' | 'saving'; done: number; total: number }) => void;
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
      else p.reject(new StudioError(reply.error.code as never, reply.error.message));
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

  call<T>(
    payload: Payload,
    transfer: ArrayBuffer[] = [],
    onProgress?: (p: { phase: 'reading' | 'matching' | 'saving'; done: number; total: number }) => void,
  ): Promise<T> {
    const worker = this.ensure();
    const id = this.nextId++;
    worker.ref();
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { type: payload.type, resolve: resolve as (v: unknown) => void, reject, onProgress });
      worker.postMessage({ ...payload, id }, transfer);
    });
  }

  /**
   * Cancels every request of one type in flight (a long match). The worker computes in one
   * synchronous stretch, so cancelling means stopping it: other requests in flight fail with a
   * retry hint, and the next call starts a fresh worker. Resolves false when nothing was running.
   */
  async cancel(type: Payload['type']): Promise<boolean> {
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
