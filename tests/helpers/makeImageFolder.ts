// A small labelled image folder (ImageNet style: one subfolder per class), generated from a seed.
// Each class has its own colour palette and texture scale, so SAE features on a toy backbone
// separate them and the label breakdown of exemplars is meaningful.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { mulberry32 } from './prng.js';


export interface ImageFolderOptions {
  labels?: string[];
  perLabel?: number;
  width?: number;
  height?: number;
  seed?: number;
  /** Also write files that look like images but cannot be decoded. */
  corrupt?: number;
}

export async function makeImageFolder(dir: string, opts: ImageFolderOptions = {}): Promise<{ dir: string; files: string[]; corrupt: string[] }> {
  const labels = opts.labels ?? ['desert', 'forest', 'ocean'];
  const perLabel = opts.perLabel ?? 8;
  const W = opts.width ?? 40;
  const H = opts.height ?? 36;
  const rand = mulberry32(opts.seed ?? 1);
  const files: string[] = [];
  for (const [li, label] of labels.entries()) {
    fs.mkdirSync(path.join(dir, label), { recursive: true });
    for (let i = 0; i < perLabel; i++) {
      const px = Buffer.alloc(W * H * 3);
      const block = 2 + ((li * 3 + i) % 6);
      const base = [(li * 97) % 256, (li * 53 + 80) % 256, (li * 151 + 30) % 256];
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const cell = (Math.floor(x / block) + Math.floor(y / block)) % 2;
          const noise = rand() * 60;
          const o = (y * W + x) * 3;
          for (let c = 0; c < 3; c++) px[o + c] = Math.min(255, Math.floor(base[c]! * (cell ? 1 : 0.4) + noise + ((x + y * c) % 32)));
        }
      }
      const rel = `${label}/${label}_${String(i).padStart(3, '0')}.png`;
      await sharp(px, { raw: { width: W, height: H, channels: 3 } }).png().toFile(path.join(dir, rel));
      files.push(rel);
    }
  }
  const corrupt: string[] = [];
  for (let i = 0; i < (opts.corrupt ?? 0); i++) {
    const rel = `${labels[0]}/broken_${i}.jpg`;
    fs.writeFileSync(path.join(dir, rel), Buffer.from('this is not a jpeg at all'));
    corrupt.push(rel);
  }
  return { dir, files: files.sort(), corrupt };
}
