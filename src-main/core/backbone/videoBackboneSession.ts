// Clip (tubelet) backbones such as VideoMAE: pixels [batch, frames, 3, S, S] -> tokens
// [batch, T, d] with T = CLS + registers + (frames / tubelet) x grid patches, time-major (token
// prefix + t·P + p is tubelet step t, patch p), which is how a Conv3d tubelet embedding flattens.
import { existsSync } from 'node:fs';
import { NotOnnxModelError } from '../onnx/onnxModel.js';
import { readCheckedFile, UnsafeFileError } from '../util/checkedRead.js';
import * as ort from 'onnxruntime-node';
import type { ProviderChoice, ProviderName } from '../../contract/index.js';
import { createSession } from '../onnx/providers.js';
import { pruneToOutputs } from '../onnx/graphSurgery.js';
import { layerOutputName, type BackboneManifest } from './manifest.js';

export class VideoBackboneSession {
  private constructor(
    readonly manifest: BackboneManifest,
    readonly layer: string,
    readonly outputName: string,
    readonly provider: ProviderName,
    readonly frames: number,
    readonly steps: number,
    /** Tokens per clip. */
    readonly tokens: number,
    readonly d: number,
    private readonly session: ort.InferenceSession,
  ) {}

  static isClipManifest(manifest: BackboneManifest): boolean {
    return manifest.tokens.frames !== undefined;
  }

  static async open(manifest: BackboneManifest, layer: string, provider: ProviderChoice = 'auto'): Promise<VideoBackboneSession> {
    const outputName = layerOutputName(manifest, layer);
    const t = manifest.tokens;
    if (t.frames === undefined || t.tubelet === undefined) throw new Error(`${manifest.manifestPath} is not a clip backbone (no tokens.frames / tokens.tubelet)`);
    if (!existsSync(manifest.modelPath)) throw new Error(`backbone model ${manifest.modelPath} (named by manifest ${manifest.manifestPath}) does not exist`);
    let created: Awaited<ReturnType<typeof createSession>>;
    try {
      created = await createSession(pruneToOutputs(await readCheckedFile(manifest.modelPath, 'onnx'), [outputName]), provider);
    } catch (err) {
      // Refused or not ONNX at all: the path will not load either, so say so naming the file.
      if (err instanceof UnsafeFileError) throw err;
      if (err instanceof NotOnnxModelError) throw new NotOnnxModelError(manifest.modelPath, err.reason, { cause: err });
      created = await createSession(manifest.modelPath, provider);
    }
    const session = created.session;
    const steps = t.frames / t.tubelet;
    const P = t.grid[0] * t.grid[1];
    const tokens = (t.cls ? 1 : 0) + t.registers + steps * P;
    try {
      if (!session.inputNames.includes(manifest.inputName)) throw new Error(`${manifest.modelPath} has no input '${manifest.inputName}'; its inputs are: ${session.inputNames.join(', ')}`);
      const S = manifest.inputSize;
      const probe = new ort.Tensor('float32', new Float32Array(t.frames * 3 * S * S), [1, t.frames, 3, S, S]);
      const out = (await session.run({ [manifest.inputName]: probe }, [outputName]))[outputName]!;
      if (out.dims.length !== 3 || out.dims[1] !== tokens) {
        throw new Error(
          `${manifest.modelPath} output '${outputName}' has shape [${out.dims.join(', ')}], but manifest ${manifest.manifestPath} describes ${tokens} tokens ` +
            `(${t.cls ? 'CLS + ' : ''}${t.registers} registers + ${steps} tubelet steps x ${t.grid[0]}x${t.grid[1]} patches)`,
        );
      }
      return new VideoBackboneSession(manifest, layer, outputName, created.provider, t.frames, steps, tokens, out.dims[2]!, session);
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  /** Runs `batch` clips ([batch, frames, 3, S, S] normalised, concatenated). */
  async run(pixels: Float32Array, batch: number): Promise<{ tokens: Float32Array; T: number; d: number }> {
    const S = this.manifest.inputSize;
    if (pixels.length !== batch * this.frames * 3 * S * S) throw new Error(`clip backbone input must be ${batch} x ${this.frames} x 3 x ${S} x ${S} floats, got ${pixels.length}`);
    const input = new ort.Tensor('float32', pixels, [batch, this.frames, 3, S, S]);
    const out = (await this.session.run({ [this.manifest.inputName]: input }, [this.outputName]))[this.outputName]!;
    const [, T, d] = out.dims as number[];
    if (T !== this.tokens || d !== this.d) throw new Error(`clip backbone output came back as [${out.dims.join(', ')}], expected [${batch}, ${this.tokens}, ${this.d}]`);
    return { tokens: out.data as Float32Array, T: T!, d: d! };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
