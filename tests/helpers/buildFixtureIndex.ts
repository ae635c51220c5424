// Builds a small but real index (generated toy ViT + generated SAE + generated labelled images)
// for end-to-end tests and screenshots: every number in it came through the real indexer.
import fs from 'node:fs';
import path from 'node:path';
import { runIndex } from '../../src-main/core/indexer/runIndex.js';
import { makeTinyVit } from './makeTinyVit.js';
import { makeSae } from './makeSae.js';
import { makeImageFolder } from './makeImageFolder.js';

export interface FixtureIndex {
  work: string;
  indexDir: string;
  dataDir: string;
  manifestPath: string;
  saePath: string;
}

export async function buildFixtureIndex(
  work: string,
  opts: { perLabel?: number; dSae?: number; thumbnails?: 'eager' | 'on-demand' } = {},
): Promise<FixtureIndex> {
  fs.mkdirSync(work, { recursive: true });
  const vit = await makeTinyVit({ dir: path.join(work, 'vit'), imageSize: 96, patchSize: 16, dModel: 24, cls: true, seed: 21, family: 'clip' });
  // A Matryoshka-style TopK SAE (nested groups recorded in the sidecar), so views show its groups.
  const dSae = opts.dSae ?? 192;
  const saePath = makeSae(path.join(work, 'sae'), {
    dIn: 24,
    dSae,
    architecture: 'topk',
    k: 6,
    seed: 8,
    format: 'safetensors',
    groups: [dSae / 4, dSae / 2, dSae],
  });
  const data = await makeImageFolder(path.join(work, 'data'), {
    labels: ['beach', 'desert', 'forest', 'ocean', 'snow'],
    perLabel: opts.perLabel ?? 12,
    width: 120,
    height: 108,
    corrupt: 1,
    seed: 4,
  });
  const indexDir = path.join(work, 'index');
  await runIndex(
    { model: vit.manifestPath, layer: 'block_1', sae: saePath, data: data.dir, out: indexDir, topK: 16, batch: 8, provider: 'cpu', thumbnails: opts.thumbnails },
    { checkpointIntervalMs: 0 },
  );
  return { work, indexDir, dataDir: data.dir, manifestPath: vit.manifestPath, saePath };
}
