import fs from 'node:fs';
import path from 'node:path';
import { IMAGE_EXTENSIONS, type ImageFolder } from './scanImageFolder.js';
import { StudioError } from '../errors.js';
import { codeUnitCompare, ItemListBuilder } from './packedItemList.js';

/**
 * The example order of torchvision's ImageFolder, which saev used when it wrote its shards:
 * class folders sorted by name, then each class's files in sorted walk order. Example i of the
 * shards is image i of this list.
 */
export function torchvisionImageFolder(root: string): ImageFolder {
  const abs = path.resolve(root);
  if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) throw new StudioError('bad-input', `Image folder not found: ${abs}`);
  const classes = fs
    .readdirSync(abs, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort(codeUnitCompare);
  const items = new ItemListBuilder();
  const walk = (dir: string, rel: string, label: string) => {
    const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => codeUnitCompare(a.name, b.name));
    // os.walk yields a folder's files before descending into its subfolders.
    for (const e of entries) {
      if (e.isFile() && IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase())) items.push(`${rel}/${e.name}`, label);
    }
    for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.')) walk(path.join(dir, e.name), `${rel}/${e.name}`, label);
  };
  for (const c of classes) walk(path.join(abs, c), c, c);
  if (items.length === 0) throw new StudioError('bad-input', `No images in class subfolders of ${abs} (ImageFolder layout: one folder per class).`);
  return { root: abs, items: items.finish(), labels: classes };
}
