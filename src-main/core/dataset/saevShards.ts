import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { StudioError } from '../errors.js';
import { readSaevDatasetConfig, type SaevDatasetConfig } from './saevDatasetConfig.js';
import { readCheckedFileSync, readCheckedTextSync } from '../util/checkedRead.js';

// saev's cached activations: metadata.json + acts*.bin shards, each a C-contiguous float32 tensor
// [examples, layers, tokens, d] with CLS first (when recorded) and no register tokens. saev renamed
// the metadata fields twice; every generation loads:
//   protocol 1.x (to Sep 2025): vit_family, vit_ckpt, n_patches_per_img, d_vit, n_imgs, max_patches_per_shard
//   protocol 2.0 (Oct 2025):    family, ckpt, patches_per_ex, d_model, n_ex, patches_per_shard
//   protocol 2.1 (Oct 2025 on): family, ckpt, content_tokens_per_example, d_model, n_examples, max_tokens_per_shard
// and shards.json entries count their examples as n_imgs, n_ex or n_examples respectively.

const metadataSchema = z
  .object({
    family: z.string().optional(),
    vit_family: z.string().optional(),
    ckpt: z.string().optional(),
    vit_ckpt: z.string().optional(),
    layers: z.array(z.union([z.number().int(), z.string()])).min(1),
    content_tokens_per_example: z.number().int().positive().optional(),
    patches_per_ex: z.number().int().positive().optional(),
    n_patches_per_img: z.number().int().positive().optional(),
    cls_token: z.boolean(),
    d_model: z.number().int().positive().optional(),
    d_vit: z.number().int().positive().optional(),
    n_examples: z.number().int().nonnegative().optional(),
    n_ex: z.number().int().nonnegative().optional(),
    n_imgs: z.number().int().nonnegative().optional(),
    max_tokens_per_shard: z.number().int().positive().optional(),
    patches_per_shard: z.number().int().positive().optional(),
    max_patches_per_shard: z.number().int().positive().optional(),
    data: z.unknown().optional(),
    dataset: z.string().nullable().optional(),
    dtype: z.string().optional(),
    protocol: z.string().optional(),
  })
  .passthrough();

const shardEntrySchema = z
  .object({
    name: z.string().min(1),
    n_examples: z.number().int().nonnegative().optional(),
    n_ex: z.number().int().nonnegative().optional(),
    n_imgs: z.number().int().nonnegative().optional(),
  })
  .transform((e, ctx) => {
    const n = e.n_examples ?? e.n_ex ?? e.n_imgs;
    if (n === undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `entry ${e.name} has no n_examples (or n_ex, n_imgs)` });
    return { name: e.name, n_ex: n ?? 0 };
  });
const shardsSchema = z.array(shardEntrySchema);

export interface SaevShards {
  dir: string;
  family: string;
  ckpt: string;
  layers: string[];
  /** Content (patch) tokens per example, CLS excluded. */
  patchesPerEx: number;
  cls: boolean;
  d: number;
  nEx: number;
  /** Examples per shard file, in order. */
  shards: { file: string; nEx: number; firstEx: number }[];
  /** The patch grid when the token count is a square; null otherwise (a manifest must say it). */
  grid: [number, number] | null;
  /** Item labels from labels.bin, when it holds one label per example (or per patch: the most common). */
  labels: ExampleLabels | null;
  /** The dataset saev recorded (class and root), from `data` / `dataset`. */
  dataset: SaevDatasetConfig;
  protocol: string | null;
}

export function readSaevShards(dir: string): SaevShards {
  const abs = path.resolve(dir);
  const metaPath = path.join(abs, 'metadata.json');
  if (!fs.existsSync(metaPath)) throw new StudioError('bad-input', `${abs} is not a saev shard folder (no metadata.json).`);
  let raw: unknown;
  try {
    raw = JSON.parse(readCheckedTextSync(metaPath, 'shardMeta'));
  } catch (err) {
    throw new StudioError('bad-input', `${metaPath} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = metadataSchema.safeParse(raw);
  if (!parsed.success) {
    throw new StudioError('bad-input', `${metaPath}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`);
  }
  const m = parsed.data;
  const need = <T>(value: T | undefined, names: string): T => {
    if (value === undefined) throw new StudioError('bad-input', `${metaPath} lacks ${names}.`);
    return value;
  };
  const patchesPerEx = need(
    m.content_tokens_per_example ?? m.patches_per_ex ?? m.n_patches_per_img,
    'content_tokens_per_example (or the older patches_per_ex, n_patches_per_img)',
  );
  const d = need(m.d_model ?? m.d_vit, 'd_model (or the older d_vit)');
  const nEx = need(m.n_examples ?? m.n_ex ?? m.n_imgs, 'n_examples (or the older n_ex, n_imgs)');
  if (m.dtype && m.dtype !== 'float32') throw new StudioError('bad-input', `${metaPath}: dtype ${m.dtype} is not supported (saev writes float32).`);
  // A square count is taken as a square grid; anything else needs a manifest that states the grid.
  const side = Math.round(Math.sqrt(patchesPerEx));
  const grid: [number, number] | null = side * side === patchesPerEx ? [side, side] : null;
  const layers = m.layers.map(String);
  const tokens = patchesPerEx + (m.cls_token ? 1 : 0);
  const bytesPerEx = layers.length * tokens * d * 4;

  // Examples per shard: shards.json when present, else saev's legacy sizing rule.
  let sizes: { name: string; n_ex: number }[];
  const shardsPath = path.join(abs, 'shards.json');
  if (fs.existsSync(shardsPath)) {
    let json: unknown;
    try {
      json = JSON.parse(readCheckedTextSync(shardsPath, 'shardMeta'));
    } catch (err) {
      throw new StudioError('bad-input', `${shardsPath} is not valid JSON (${(err as Error).message}); delete it to fall back on the computed shard sizes.`);
    }
    const s = shardsSchema.safeParse(json);
    if (!s.success) {
      throw new StudioError('bad-input', `${shardsPath} should be a list of {name, n_examples} (or n_ex, n_imgs): ${s.error.issues.map((i) => i.message).join('; ')}.`);
    }
    sizes = s.data;
  } else {
    const budget = need(
      m.max_tokens_per_shard ?? m.patches_per_shard ?? m.max_patches_per_shard,
      'shards.json, or max_tokens_per_shard (older patches_per_shard, max_patches_per_shard) to compute shard sizes',
    );
    const perShard = Math.floor(budget / (tokens * layers.length));
    if (perShard < 1) throw new StudioError('bad-input', `${metaPath}: a shard budget of ${budget} patches holds no example of ${tokens * layers.length} tokens.`);
    sizes = [];
    for (let first = 0, i = 0; first < nEx; first += perShard, i++) {
      sizes.push({ name: `acts${String(i).padStart(6, '0')}.bin`, n_ex: Math.min(perShard, nEx - first) });
    }
  }
  let firstEx = 0;
  const shards = sizes.map((s) => {
    const file = path.join(abs, s.name);
    if (!fs.existsSync(file)) throw new StudioError('bad-input', `Shard ${s.name} listed for ${abs} is missing.`);
    const size = fs.statSync(file).size;
    if (size < s.n_ex * bytesPerEx) {
      throw new StudioError(
        'bad-input',
        `Shard ${file} has ${size} bytes; ${s.n_ex} examples of [${layers.length} layers, ${tokens} tokens, d=${d}] float32 need ${s.n_ex * bytesPerEx}.`,
      );
    }
    const entry = { file, nEx: s.n_ex, firstEx };
    firstEx += s.n_ex;
    return entry;
  });
  if (firstEx !== nEx) throw new StudioError('bad-input', `${abs}: shards hold ${firstEx} examples but metadata says n_ex = ${nEx}.`);

  return {
    dir: abs,
    family: m.family ?? m.vit_family ?? 'vit',
    ckpt: m.ckpt ?? m.vit_ckpt ?? 'unknown',
    layers,
    patchesPerEx,
    cls: m.cls_token,
    d,
    nEx,
    shards,
    grid,
    labels: readLabels(abs, nEx, patchesPerEx),
    dataset: readSaevDatasetConfig(m.data, m.dataset),
    protocol: m.protocol ?? null,
  };
}

/** Example i's label (the class number as text). */
export interface ExampleLabels {
  at(example: number): string;
}

/**
 * labels.bin: one label per example (uint8 or int64), or saev's per-patch uint8 labels, in which
 * case an item's label is its most common patch label.
 */
function readLabels(dir: string, nEx: number, patches: number): ExampleLabels | null {
  const file = path.join(dir, 'labels.bin');
  if (!fs.existsSync(file)) return null;
  const bytes = readCheckedFileSync(file, 'labels');
  // Kept as the file's numbers, not a string per example (a million strings held for a whole run).
  if (bytes.length === nEx) return { at: (i) => String(bytes[i]!) };
  if (bytes.length === nEx * 8) {
    const v = new BigInt64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    return { at: (i) => String(v[i]!) };
  }
  if (bytes.length === nEx * patches) {
    const best = new Uint8Array(nEx);
    const counts = new Uint32Array(256);
    for (let e = 0; e < nEx; e++) {
      counts.fill(0);
      for (let p = 0; p < patches; p++) counts[bytes[e * patches + p]!]!++;
      let b = 0;
      for (let v = 1; v < 256; v++) if (counts[v]! > counts[b]!) b = v;
      best[e] = b;
    }
    return { at: (i) => String(best[i]!) };
  }
  throw new StudioError('bad-input', `${file} has ${bytes.length} bytes: neither one label per example (${nEx}) nor one per patch (${nEx * patches}).`);
}

/** Reads examples [start, end) of one layer as [count, tokens, d] float32 (CLS first when present). */
export function readShardExamples(sh: SaevShards, layerIdx: number, start: number, end: number): Float32Array {
  const tokens = sh.patchesPerEx + (sh.cls ? 1 : 0);
  const vec = tokens * sh.d;
  const out = new Float32Array((end - start) * vec);
  const L = sh.layers.length;
  let written = 0;
  for (const shard of sh.shards) {
    const lo = Math.max(start, shard.firstEx);
    const hi = Math.min(end, shard.firstEx + shard.nEx);
    if (lo >= hi) continue;
    const fd = fs.openSync(shard.file, 'r');
    try {
      for (let ex = lo; ex < hi; ex++) {
        const offset = ((ex - shard.firstEx) * L + layerIdx) * vec * 4;
        const view = new Uint8Array(out.buffer, written * 4, vec * 4);
        const got = fs.readSync(fd, view, 0, vec * 4, offset);
        if (got !== vec * 4) throw new StudioError('bad-input', `Shard ${shard.file} ended early at example ${ex}.`);
        written += vec;
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  return out;
}
