import * as ort from 'onnxruntime-node';
import type { ProviderChoice, ProviderName } from '../../contract/index.js';
import { attr, OnnxGraphBuilder } from '../onnx/graphBuilder.js';
import { createSession } from '../onnx/providers.js';

// The trainer's one dense step, pre = xc W_enc + b_enc ([rows, dIn] x [dIn, width]), on
// onnxruntime (MLAS GEMM on all cores, or a GPU provider). The trainer holds W_enc transposed
// ([width, dIn]), so the graph is one Gemm with transB. The weights change every step, so they are
// graph inputs, not initialisers: one session serves the whole run.

export class OnnxDenseProduct {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly dIn: number,
    readonly width: number,
    /** The provider the session really runs on. */
    readonly provider: ProviderName,
    /** Why the requested provider was not used, when it was not. */
    readonly fallbackReason: string | null,
  ) {}

  static async create(dIn: number, width: number, provider: ProviderChoice = 'cpu'): Promise<OnnxDenseProduct> {
    const b = new OnnxGraphBuilder('sae_train_dense_product');
    b.addInput('xc', 'float32', ['rows', dIn]);
    b.addInput('W_encT', 'float32', [width, dIn]);
    b.addInput('b_enc', 'float32', [width]);
    b.node('Gemm', ['xc', 'W_encT', 'b_enc'], ['pre'], { transB: attr.int(1) });
    b.addOutput('pre', 'float32', ['rows', width]);
    const created = await createSession(b.toBytes(), provider);
    return new OnnxDenseProduct(created.session, dIn, width, created.provider, created.fallbackReason);
  }

  /** pre [rows, width] for xc [rows, dIn] (row-major) and the current weights, W_enc transposed ([width, dIn]). */
  async run(xc: Float32Array, rows: number, W_encT: Float32Array, b_enc: Float32Array): Promise<Float32Array> {
    const { dIn, width } = this;
    const out = await this.session.run({
      xc: new ort.Tensor('float32', xc.length === rows * dIn ? xc : xc.subarray(0, rows * dIn), [rows, dIn]),
      W_encT: new ort.Tensor('float32', W_encT, [width, dIn]),
      b_enc: new ort.Tensor('float32', b_enc, [width]),
    });
    return out.pre!.data as Float32Array;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
