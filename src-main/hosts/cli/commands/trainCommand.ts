import path from 'node:path';
import { loadManifest } from '../../../core/backbone/manifest.js';
import { ImageFolderSource } from '../../../core/indexer/sources/imageFolderSource.js';
import { asInputError } from '../../../core/indexer/sources/inputErrors.js';
import { SaevShardSource } from '../../../core/indexer/sources/saevShardSource.js';
import { holdsVideos, VideoClipSource, videoSampling } from '../../../core/indexer/sources/videoClipSource.js';
import { clipPatchRows } from '../../../core/train/clipRows.js';
import { patchRowsOf, patchRowStream, type PatchRowSource } from '../../../core/train/rowStream.js';
import { trainSae, writeTrainedSae, type TrainArch, type TrainProgress } from '../../../core/train/saeTrainer.js';
import { StudioError } from '../../../core/errors.js';
import { parseGroups } from '../parseGroups.js';
import type { ProviderChoice } from '../../../contract/index.js';
import { EXIT, type CliDeps } from '../context.js';

// `studio train --layer L --out DIR --arch topk|batchtopk|matryoshka --width N --k K [--groups a,b,c]
//  [--steps S] [--seed X] [--dense-product onnx|js]` and one data source:
//   --model M --data DIR                 patch activations of a backbone over an image folder;
//   --model M --data DIR --kind videos   over a folder of clips (videos, frame folders, animated
//                                        GIF/WebP; picked by default when it holds video files),
//                                        every sampled frame's patches (--frames/--fps/--max-frames);
//   --shards DIR                         saev activation shards (no backbone runs; --layer is one of
//                                        the shards' layers).
// CLS rows are dropped; the data is cycled through as often as needed. Ctrl-C stops training and
// still writes what it has. The SAE is written as a SAELens folder (see writeTrainedSae).

export interface TrainCliOptions {
  model?: string;
  layer: string;
  data?: string;
  shards?: string;
  kind?: 'images' | 'videos';
  frames?: number;
  fps?: number;
  maxFrames?: number;
  out: string;
  arch: TrainArch;
  width: number;
  k: number;
  groups?: string;
  steps: number;
  seed: number;
  batch: number;
  lr?: number;
  /** Where the encoder's dense product runs (default onnx). */
  denseProduct?: 'js' | 'onnx';
  provider: ProviderChoice;
}

interface OpenedRows {
  rows: PatchRowSource;
  /** Dataset items, for skip messages. */
  itemName: (item: number) => string;
  dataName: string;
  modelName: string;
  close: () => Promise<void>;
}

/** Why the data options do not make one source, or null when they do. */
function dataOptionsProblem(opts: TrainCliOptions): string | null {
  const usage = 'give --model MANIFEST --data DIR (images or clips through a backbone), or --shards DIR (saev activations)';
  if (!opts.data && !opts.shards) return `no training data: ${usage}`;
  if (opts.data && opts.shards) return `--data and --shards are two data sources; ${usage}, not both`;
  if (opts.shards) {
    const videoOnly = (['kind', 'frames', 'fps', 'maxFrames'] as const).filter((key) => opts[key] !== undefined);
    if (videoOnly.length > 0) {
      const flag = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      return `${videoOnly.map(flag).join(', ')} apply to --data, not to --shards`;
    }
  }
  if (opts.data && !opts.model) return `--data needs --model MANIFEST: the backbone that turns ${opts.data} into activations`;
  return null;
}

/** Videos when asked, or (kind not given) when frame sampling is given or the folder holds video files. */
function isVideoData(opts: TrainCliOptions, data: string): boolean {
  if (opts.kind) return opts.kind === 'videos';
  if (opts.frames !== undefined || opts.fps !== undefined || opts.maxFrames !== undefined) return true;
  return holdsVideos(data);
}

async function openRows(opts: TrainCliOptions, deps: CliDeps): Promise<OpenedRows> {
  if (opts.shards) {
    if (opts.model) deps.stderr.write('note: --model is not used with --shards: the shards already hold the activations.\n');
    const source = SaevShardSource.open(path.resolve(opts.shards), opts.layer, null, opts.model ? path.resolve(opts.model) : null);
    return {
      rows: patchRowsOf(source),
      itemName: (i) => `example ${i < source.items.length ? source.items.path(i) : i}`,
      dataName: opts.shards,
      modelName: source.model.name,
      close: () => source.close(),
    };
  }
  const model = path.resolve(opts.model!);
  const data = path.resolve(opts.data!);
  if (isVideoData(opts, data)) {
    const source = await VideoClipSource.open(model, opts.layer, data, opts.provider, videoSampling(opts), null);
    return {
      rows: clipPatchRows(source),
      itemName: (i) => (i < source.items.length ? source.items.path(i) : String(i)),
      dataName: opts.data!,
      modelName: source.model.name,
      close: () => source.close(),
    };
  }
  const manifest = asInputError(() => loadManifest(model));
  if (manifest.tokens.frames !== undefined) {
    throw new StudioError('bad-request', `${manifest.name} is a clip backbone (tokens.frames ${manifest.tokens.frames}); it takes clips: use --kind videos.`);
  }
  const source = await ImageFolderSource.open(model, opts.layer, data, opts.provider);
  return {
    rows: patchRowsOf(source),
    itemName: (i) => (i < source.items.length ? source.items.path(i) : String(i)),
    dataName: opts.data!,
    modelName: source.model.name,
    close: () => source.close(),
  };
}

export async function trainCommand(opts: TrainCliOptions, deps: CliDeps): Promise<number> {
  const problem = dataOptionsProblem(opts);
  if (problem) {
    deps.stderr.write(`error: ${problem}\n`);
    return EXIT.usage;
  }
  const groups = parseGroups(opts.groups);
  const opened = await openRows(opts, deps);
  const ac = new AbortController();
  const unsubscribe = deps.onInterrupt(() => ac.abort());
  try {
    const d = opened.rows.d;
    const start = deps.now();
    let lastLine = 0;
    let midLine = false;
    const batchSource = patchRowStream(opened.rows, {
      seed: opts.seed,
      dataName: opened.dataName,
      onSkip: (item, reason) => {
        deps.stderr.write(`${midLine ? '\n' : ''}skipped ${opened.itemName(item)}: ${reason}\n`);
        midLine = false;
      },
    });

    const line = (p: TrainProgress) =>
      `step ${p.step}/${p.steps}  loss ${p.loss.toFixed(4)}  FVU ${p.fvu.toFixed(4)}  L0 ${p.l0.toFixed(1)}  dead ${p.dead}  ` +
      `(${(p.tokens / Math.max((deps.now() - start) / 1000, 1e-3)).toFixed(0)} tokens/s)`;
    const sae = await trainSae(batchSource, {
      dIn: d, width: opts.width, k: opts.k, arch: opts.arch, groups, steps: opts.steps, seed: opts.seed,
      batchSize: opts.batch, lr: opts.lr, signal: ac.signal, progressEvery: 1,
      denseProduct: opts.denseProduct ?? 'onnx', provider: opts.provider,
      onProgress: (p) => {
        const now = deps.now();
        if (p.step !== p.steps && now - lastLine < 500 && p.step !== 1) return;
        lastLine = now;
        deps.stderr.write(deps.stderr.isTTY ? `\r${line(p)}` : `${line(p)}\n`);
        midLine = deps.stderr.isTTY === true;
      },
    });
    if (midLine) deps.stderr.write('\n');
    const written = writeTrainedSae(sae, path.resolve(opts.out), { hookName: opts.layer, model: opened.modelName });
    const last = sae.history.at(-1);
    deps.stdout.write(
      `${sae.aborted ? 'Interrupted after' : 'Trained'} ${sae.stepsDone} steps (${sae.tokens} tokens)` +
        (last ? `: FVU ${last.fvu.toFixed(4)}, L0 ${last.l0.toFixed(1)}, dead ${last.dead}` : '') +
        `\nWrote ${written.loadPath}\n`,
    );
    return sae.aborted ? EXIT.interrupted : EXIT.ok;
  } finally {
    unsubscribe();
    await opened.close();
  }
}
