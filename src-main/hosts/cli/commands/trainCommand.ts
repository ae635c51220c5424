import path from 'node:path';
import { ImageFolderSource } from '../../../core/indexer/sources/imageFolderSource.js';
import { activationRowStream } from '../../../core/train/rowStream.js';
import { trainSae, writeTrainedSae, type TrainArch, type TrainProgress } from '../../../core/train/saeTrainer.js';
import { StudioError } from '../../../core/errors.js';
import type { ProviderChoice } from '../../../contract/index.js';
import { EXIT, type CliDeps } from '../context.js';

// `studio train --model M --layer L --data DIR --out DIR --arch topk|batchtopk|matryoshka --width N --k K
//  [--groups a,b,c] [--steps S] [--seed X]`: train an SAE on patch activations streamed from a
// backbone over an image folder (CLS dropped), cycling through the images as often as needed.
// Ctrl-C stops training and still writes what it has.

export interface TrainCliOptions {
  model: string;
  layer: string;
  data: string;
  out: string;
  arch: TrainArch;
  width: number;
  k: number;
  groups?: string;
  steps: number;
  seed: number;
  batch: number;
  lr?: number;
  provider: ProviderChoice;
}

export function parseGroups(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  const parts = text.split(',').map((s) => s.trim());
  const groups = parts.map(Number);
  if (parts.some((p) => !/^\d+$/.test(p)) || groups.some((g) => g < 1)) {
    throw new StudioError('bad-input', `--groups expects cumulative widths like 16,64,256; got "${text}"`);
  }
  return groups;
}

export async function trainCommand(opts: TrainCliOptions, deps: CliDeps): Promise<number> {
  const groups = parseGroups(opts.groups);
  const source = await ImageFolderSource.open(path.resolve(opts.model), opts.layer, path.resolve(opts.data), opts.provider);
  const ac = new AbortController();
  const unsubscribe = deps.onInterrupt(() => ac.abort());
  try {
    const d = source.d;
    const batchSource = activationRowStream(source, { seed: opts.seed, dataName: opts.data });

    const start = deps.now();
    let lastLine = 0;
    const line = (p: TrainProgress) =>
      `step ${p.step}/${p.steps}  loss ${p.loss.toFixed(4)}  FVU ${p.fvu.toFixed(4)}  L0 ${p.l0.toFixed(1)}  dead ${p.dead}  ` +
      `(${(p.tokens / Math.max((deps.now() - start) / 1000, 1e-3)).toFixed(0)} tokens/s)`;
    const sae = await trainSae(batchSource, {
      dIn: d, width: opts.width, k: opts.k, arch: opts.arch, groups, steps: opts.steps, seed: opts.seed,
      batchSize: opts.batch, lr: opts.lr, signal: ac.signal, progressEvery: 1,
      onProgress: (p) => {
        const now = deps.now();
        if (p.step !== p.steps && now - lastLine < 500 && p.step !== 1) return;
        lastLine = now;
        deps.stderr.write(deps.stderr.isTTY ? `\r${line(p)}` : `${line(p)}\n`);
      },
    });
    if (deps.stderr.isTTY) deps.stderr.write('\n');
    const written = writeTrainedSae(sae, path.resolve(opts.out), { hookName: opts.layer, model: source.model.name });
    const last = sae.history.at(-1);
    deps.stdout.write(
      `${sae.aborted ? 'Interrupted after' : 'Trained'} ${sae.stepsDone} steps (${sae.tokens} tokens)` +
        (last ? `: FVU ${last.fvu.toFixed(4)}, L0 ${last.l0.toFixed(1)}, dead ${last.dead}` : '') +
        `\nWrote ${written.loadPath}\n`,
    );
    return sae.aborted ? EXIT.interrupted : EXIT.ok;
  } finally {
    unsubscribe();
    await source.close();
  }
}
