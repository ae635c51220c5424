// One backbone layer as a callable: pixels [batch, 3, S, S] -> tokens [batch, T, d] of the
// manifest's layer. Opening checks everything a bad manifest or export could get wrong (input
// name, output name, token layout, width) so the indexer fails before its first batch, clearly.
import { existsSync } from 'node:fs';
import { NotOnnxModelError } from '../onnx/onnxModel.js';
import { readCheckedFile, UnsafeFileError } from '../util/checkedRead.js';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ModelInfo, ProviderChoice, ProviderName, TokenLayout } from '../../contract/index.js';
import { createSession, type CreateSessionOptions } from '../onnx/providers.js';
import { layerOutputName, modelInfo, patchOffset, tokenCount, type BackboneManifest } from './manifest.js';
import { pruneToOutputs } from '../onnx/graphSurgery.js';

export interface BackboneLayout extends TokenLayout {
  /** Tokens per image: CLS + registers + patches. */
  tokens: number;
  /** Index of the first patch token (= CLS + registers). */
  patchOffset: number;
  /** Patches per image (grid rows x columns). */
  patches: number;
}

export interface BackboneOutput {
  /** [batch, T, d] row-major. */
  tokens: Float32Array;
  T: number;
  d: number;
}

/** Static [batch, T, d] dims from graph metadata, or null when they are symbolic. */
function staticTokenDims(meta: ort.InferenceSession.ValueMetadata | undefined): { T: number; d: number } | null {
  if (!meta || !meta.isTensor || meta.shape.length !== 3) return null;
  const [, T, d] = meta.shape;
  return typeof T === 'number' && typeof d === 'number' && T > 0 && d > 0 ? { T, d } : null;
}

export class BackboneSession {
  private constructor(
    readonly manifest: BackboneManifest,
    readonly layer: string,
    readonly outputName: string,
    readonly provider: ProviderName,
    /** Why the requested provider was not used, when it was not. */
    readonly fallbackReason: string | null,
    readonly layout: BackboneLayout,
    /** Width of the layer's tokens (d_model). */
    readonly d: number,
    private readonly session: ort.InferenceSession,
  ) {}

  /** Opens manifest.modelPath on `provider` (falling back to CPU) and validates the layer. */
  static async open(
    manifest: BackboneManifest,
    layer: string,
    provider: ProviderChoice = 'auto',
    options: CreateSessionOptions = {},
  ): Promise<BackboneSession> {
    const outputName = layerOutputName(manifest, layer);
    const modelFile = path.basename(manifest.modelPath);
    if (!existsSync(manifest.modelPath)) {
      throw new Error(
        `backbone model ${manifest.modelPath} (named by manifest ${manifest.manifestPath}) does not exist; ` +
          `export it next to the manifest or fix the manifest's "model" field`,
      );
    }
    const created = await openPruned(manifest.modelPath, outputName, provider, options);
    const { session } = created;
    try {
      if (!session.inputNames.includes(manifest.inputName)) {
        throw new Error(
          `${modelFile} has no input '${manifest.inputName}' (manifest ${manifest.manifestPath} input.name); its inputs are: ${session.inputNames.join(', ')}`,
        );
      }
      if (!session.outputNames.includes(outputName)) {
        throw new Error(
          `layer '${layer}' maps to ONNX output '${outputName}', which ${modelFile} does not have; its outputs are: ${session.outputNames.join(', ')}`,
        );
      }
      checkInputShape(session, manifest, modelFile);

      const expectedT = tokenCount(manifest.tokens);
      const dims =
        staticTokenDims(session.outputMetadata.find((m) => m.name === outputName)) ??
        (await dryRun(session, manifest, outputName, modelFile));
      if (dims.T !== expectedT) {
        const t = manifest.tokens;
        throw new Error(
          `${modelFile} output '${outputName}' has ${dims.T} tokens, but manifest ${manifest.manifestPath} describes ` +
            `${expectedT} (${t.cls ? 'CLS + ' : ''}${t.registers} registers + ${t.grid[0]}x${t.grid[1]} patches); ` +
            `fix tokens.cls / tokens.registers / tokens.grid`,
        );
      }
      if (manifest.dModel !== null && manifest.dModel !== dims.d) {
        throw new Error(`${modelFile} output '${outputName}' has width ${dims.d}, but manifest ${manifest.manifestPath} says d_model ${manifest.dModel}`);
      }
      const layout: BackboneLayout = {
        ...manifest.tokens,
        grid: [...manifest.tokens.grid],
        tokens: expectedT,
        patchOffset: patchOffset(manifest.tokens),
        patches: manifest.tokens.grid[0] * manifest.tokens.grid[1],
      };
      return new BackboneSession(manifest, layer, outputName, created.provider, created.fallbackReason, layout, dims.d, session);
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  get inputSize(): number {
    return this.manifest.inputSize;
  }

  /** What an index records about this backbone and layer. */
  info(): ModelInfo {
    return modelInfo(this.manifest, this.layer, this.d);
  }

  /** Runs `batch` images (CHW normalised, concatenated) and returns the layer's tokens. */
  async run(pixels: Float32Array, batch: number): Promise<BackboneOutput> {
    const S = this.manifest.inputSize;
    if (!Number.isInteger(batch) || batch < 1 || pixels.length !== batch * 3 * S * S) {
      throw new Error(`backbone input must be ${batch} x 3 x ${S} x ${S} = ${batch * 3 * S * S} floats, got ${pixels.length}`);
    }
    const input = new ort.Tensor('float32', pixels, [batch, 3, S, S]);
    // Naming the fetch makes onnxruntime return (and copy out) only this output.
    const result = await this.session.run({ [this.manifest.inputName]: input }, [this.outputName]);
    const out = result[this.outputName]!;
    const [, T, d] = out.dims as number[];
    if (T !== this.layout.tokens || d !== this.d) {
      throw new Error(`backbone output '${this.outputName}' came back as [${out.dims.join(', ')}], expected [${batch}, ${this.layout.tokens}, ${this.d}]`);
    }
    return { tokens: out.data as Float32Array, T: T!, d: d! };
  }

  /** Frees the onnxruntime session; the object is unusable afterwards. */
  async close(): Promise<void> {
    await this.session.release();
  }
}

function checkInputShape(session: ort.InferenceSession, manifest: BackboneManifest, modelFile: string): void {
  const meta = session.inputMetadata.find((m) => m.name === manifest.inputName);
  if (!meta || !meta.isTensor || meta.shape.length === 0) return; // unknown shape: the dry run or first batch will tell
  if (meta.shape.length !== 4) {
    throw new Error(`${modelFile} input '${manifest.inputName}' has shape [${meta.shape.join(', ')}]; expected [batch, 3, H, W]`);
  }
  const [, c, h, w] = meta.shape;
  const S = manifest.inputSize;
  const bad = (v: number | string | undefined, want: number) => typeof v === 'number' && v !== want;
  if (bad(c, 3) || bad(h, S) || bad(w, S)) {
    throw new Error(
      `${modelFile} input '${manifest.inputName}' has shape [${meta.shape.join(', ')}], but manifest ${manifest.manifestPath} says input.size ${S} (expected [batch, 3, ${S}, ${S}])`,
    );
  }
}

/** Learns [T, d] by running one black image when the graph leaves them symbolic. */
async function dryRun(
  session: ort.InferenceSession,
  manifest: BackboneManifest,
  outputName: string,
  modelFile: string,
): Promise<{ T: number; d: number }> {
  const S = manifest.inputSize;
  const input = new ort.Tensor('float32', new Float32Array(3 * S * S), [1, 3, S, S]);
  let out: ort.Tensor;
  try {
    out = (await session.run({ [manifest.inputName]: input }, [outputName]))[outputName]!;
  } catch (err) {
    throw new Error(`${modelFile} failed on a 1 x 3 x ${S} x ${S} test input (manifest input.size ${S}): ${(err as Error).message.split('\n')[0]}`, {
      cause: err,
    });
  }
  if (out.dims.length !== 3) {
    throw new Error(`${modelFile} output '${outputName}' has shape [${out.dims.join(', ')}]; expected [batch, tokens, d_model]`);
  }
  return { T: out.dims[1]!, d: out.dims[2]! };
}

/**
 * onnxruntime computes every node feeding any graph output, so a model that also outputs
 * last_hidden_state would run all its blocks for an early layer. Open a copy pruned to the one
 * output we read; when pruning is not possible (output missing, external weights that a byte
 * buffer cannot reach), open the file as it is and let the checks above explain any problem.
 */
async function openPruned(
  modelPath: string,
  outputName: string,
  provider: ProviderChoice,
  options: CreateSessionOptions,
): Promise<Awaited<ReturnType<typeof createSession>>> {
  let pruned: Uint8Array | null = null;
  try {
    pruned = pruneToOutputs(await readCheckedFile(modelPath, 'onnx'), [outputName]);
  } catch (err) {
    // A device/FIFO/oversized file, or bytes that are no ONNX model at all, will not load from
    // the path either: say so naming the file, instead of handing it on to onnxruntime.
    if (err instanceof UnsafeFileError) throw err;
    if (err instanceof NotOnnxModelError) throw new NotOnnxModelError(modelPath, err.reason, { cause: err });
    pruned = null;
  }
  if (pruned) {
    try {
      return await createSession(pruned, provider, options);
    } catch {
      // e.g. weights stored beside the model: fall through to the file itself.
    }
  }
  return createSession(modelPath, provider, options);
}
