import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { StudioError } from '../errors.js';

// saev's cached activations: metadata.json + acts*.bin shards, each a C-contiguous float32 tensor
// [examples, layers, tokens, d] with CLS first (when recorded) and no register tokens. Current
// metadata names (family, ckpt, patches_per_ex, d_model, n_ex, patches_per_shard) and the legacy
// ones (vit_family, vit_ckpt, n_patches_per_img, d_vit, n_imgs, max_patches_per_shard) both load.

const metadataSchema = z
  .object({
    family: z.string().optional(),
    vit_family: z.string().optional(),
    ckpt: z.string().optional(),
    vit_ckpt: z.string().optional(),
    layers: z.array(z.union([z.number().int(), z.string()])).min(1),
    patches_per_ex: z.number().int().positive().optional(),
    n_patches_per_img: z.number().int().positive().optional(),
    cls_token: z.boolean(),
    d_model: z.number().int().positive().optional(),
    d_vit: z.number().int().positive().optional(),
    n_ex: z.number().int().nonnegative().optional(),
    n_imgs: z.number().int().nonnegative().optional(),
    patches_per_shard: z.number().int().positive().optional(),
    max_patches_per_shard: z.number().int().positive().optional(),
    dtype: z.string().optional(),
  })
  .passthrough();

const shardsSchema = z.array(z.object({ name: z.string().min(1), n_ex: z.number().int().nonnegative() }));

export interface SaevShards {
  dir: string;
  family: string;
  ckpt: string;
  layers: string[];
  patchesPerEx: number;
  cls: boolean;
  d: number;
  nEx: number;
  /** Examples per shard file, in order. */
  shards: { file: string; nEx: number; firstEx: number }[];
  grid: [number, number];
  /** Item labels from labels.bin, when it holds one label per example (or per patch: the most common). */
  labels: (string | null)[] | null;
}

export function isSaevShardDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'metadata.json')) && fs.readdirSync(dir).some((f) => /^acts\d+\.bin$/.test(f));
}

export function readSaevShards(dir: string): SaevShards {
  const abs = path.resolve(dir);
  const metaPath = path.join(abs, 'metadata.json');
  if (!fs.existsSync(metaPath)) throw new StudioError('bad-input', `${abs} is not a saev shard folder (no metadata.json).`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(metaPath, 'utf8'));
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
  const patchesPerEx = need(m.patches_per_ex ?? m.n_patches_per_img, 'patches_per_ex (or legacy n_patches_per_img)');
  const d = need(m.d_model ?? m.d_vit, 'd_model (or legacy d_vit)');
  const nEx = need(m.n_ex ?? m.n_imgs, 'n_ex (or legacy n_imgs)');
  if (m.dtype && m.dtype !== 'float32') throw new StudioError('bad-input', `${metaPath}: dtype ${m.dtype} is not supported (saev writes float32).`);
  const side = Math.round(Math.sqrt(patchesPerEx));
  if (side * side !== patchesPerEx) {
    throw new StudioError('bad-input', `${metaPath}: patches_per_ex = ${patchesPerEx} is not a square grid; the studio needs a square patch grid to draw heatmaps.`);
  }
  const layers = m.layers.map(String);
  const tokens = patchesPerEx + (m.cls_token ? 1 : 0);
  const bytesPerEx = layers.length * tokens * d * 4;

  // Examples per shard: shards.json when present, else saev's legacy sizing rule.
  let sizes: { name: string; n_ex: number }[];
  const shardsPath = path.join(abs, 'shards.json');
  if (fs.existsSync(shardsPath)) {
    const s = shardsSchema.safeParse(JSON.parse(fs.readFileSync(shardsPath, 'utf8')));
    if (!s.success) throw new StudioError('bad-input', `${shardsPath} is not a list of {name, n_ex}.`);
    sizes = s.data;
  } else {
    const budget = need(m.patches_per_shard ?? m.max_patches_per_shard, 'shards.json, or patches_per_shard (legacy max_patches_per_shard) to compute shard sizes');
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
    grid: [side, side],
    labels: readLabels(abs, nEx, patchesPerEx),
  };
}

/**
 * labels.bin: one label per example (uint8 or int64), or saev's per-patch uint8 labels, in which
 * case an item's label is its most common patch label.
 */
function readLabels(dir: string, nEx: number, patches: number): (string | null)[] | null {
  const file = path.join(dir, 'labels.bin');
  if (!fs.existsSync(file)) return null;
  const bytes = fs.readFileSync(file);
  if (bytes.length === nEx) return Array.from(bytes, (v) => String(v));
  if (bytes.length === nEx * 8) {
    const v = new BigInt64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    return Array.from(v, (x) => String(x));
  }
  if (bytes.length === nEx * patches) {
    const out: string[] = [];
    const counts = new Uint32Array(256);
    for (let e = 0; e < nEx; e++) {
      counts.fill(0);
      for (let p = 0; p < patches; p++) counts[bytes[e * patches + p]!]!++;
      let best = 0;
      for (let v = 1; v < 256; v++) if (counts[v]! > counts[best]!) best = v;
      out.push(String(best));
    }
    return out;
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
