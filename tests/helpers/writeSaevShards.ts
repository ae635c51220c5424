// Writes saev-style activation shards from a backbone run over an image folder, so the shard
// reader is tested against activations whose source is known. Layout per saev's protocol:
// acts%06d.bin = float32 [examples, layers, tokens (CLS first), d], no registers.
import fs from 'node:fs';
import path from 'node:path';
import { loadManifest } from '../../src-main/core/backbone/manifest.js';
import { BackboneSession } from '../../src-main/core/backbone/backboneSession.js';
import { preprocessImage } from '../../src-main/core/backbone/preprocess.js';
import { torchvisionImageFolder } from '../../src-main/core/dataset/torchvisionOrder.js';

export async function writeSaevShards(opts: {
  manifestPath: string;
  layers: string[];
  images: string;
  out: string;
  examplesPerShard: number;
  legacy?: boolean;
}): Promise<{ nEx: number; d: number; patches: number }> {
  const manifest = loadManifest(opts.manifestPath);
  const folder = torchvisionImageFolder(opts.images);
  const sessions = await Promise.all(opts.layers.map((l) => BackboneSession.open(manifest, l, 'cpu')));
  const { cls, registers, grid } = manifest.tokens;
  const patches = grid[0] * grid[1];
  const tokens = patches + (cls ? 1 : 0);
  const d = sessions[0]!.d;
  fs.mkdirSync(opts.out, { recursive: true });
  const nEx = folder.items.length;
  const shards: { name: string; n_ex: number }[] = [];
  for (let first = 0, s = 0; first < nEx; first += opts.examplesPerShard, s++) {
    const count = Math.min(opts.examplesPerShard, nEx - first);
    const data = new Float32Array(count * opts.layers.length * tokens * d);
    for (let e = 0; e < count; e++) {
      const { pixels } = await preprocessImage(path.join(folder.root, folder.items.path(first + e)), manifest.preprocess);
      for (const [li, session] of sessions.entries()) {
        const out = await session.run(pixels, 1);
        const dst = (e * opts.layers.length + li) * tokens * d;
        if (cls) data.set(out.tokens.subarray(0, d), dst);
        const p0 = ((cls ? 1 : 0) + registers) * d;
        data.set(out.tokens.subarray(p0, p0 + patches * d), dst + (cls ? d : 0));
      }
    }
    const name = `acts${String(s).padStart(6, '0')}.bin`;
    fs.writeFileSync(path.join(opts.out, name), Buffer.from(data.buffer));
    shards.push({ name, n_ex: count });
  }
  const budget = opts.examplesPerShard * tokens * opts.layers.length;
  const layers = opts.layers.map((l) => Number(l.replace('block_', '')));
  const metadata = opts.legacy
    ? { vit_family: manifest.family, vit_ckpt: manifest.name, layers, n_patches_per_img: patches, cls_token: cls, d_vit: d, n_imgs: nEx, max_patches_per_shard: budget, seed: 0 }
    : { family: manifest.family, ckpt: manifest.name, layers, patches_per_ex: patches, cls_token: cls, d_model: d, n_ex: nEx, patches_per_shard: budget, data: {}, dtype: 'float32', protocol: '2.0' };
  fs.writeFileSync(path.join(opts.out, 'metadata.json'), JSON.stringify(metadata));
  if (!opts.legacy) fs.writeFileSync(path.join(opts.out, 'shards.json'), JSON.stringify(shards));
  await Promise.all(sessions.map((s) => s.close()));
  return { nEx, d, patches };
}
