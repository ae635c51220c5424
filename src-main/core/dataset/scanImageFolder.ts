import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../errors.js';
import { codeUnitCompare, ItemListBuilder, type ItemList } from './packedItemList.js';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.avif', '.tif', '.tiff', '.bmp'];

export interface ImageFolder {
  root: string;
  items: ItemList;
  labels: string[];
}

/**
 * Lists the images under `root` in a stable order (sorted by relative path, code-unit order, so
 * item ids are the same on every machine and a resumed run lines up). ImageNet/CUB style: when an
 * image sits in a subfolder, the first-level subfolder name is its label. Directory symlinks are
 * not followed (no loops, nothing outside the folder the user chose).
 */
export function scanImageFolder(root: string): ImageFolder {
  const abs = path.resolve(root);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(abs);
  } catch {
    throw new StudioError('bad-input', `Dataset folder not found: ${abs}`);
  }
  if (!stat.isDirectory()) throw new StudioError('bad-input', `Dataset path is not a folder: ${abs}`);

  // Each folder's entries are sorted with a folder's name followed by '/', so walking depth-first
  // lists the files in the order of their whole relative paths without holding them all first.
  const items = new ItemListBuilder();
  const walk = (dir: string, rel: string, label: string | null) => {
    const entries: { key: string; name: string; isDir: boolean }[] = [];
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      if (entry.isDirectory()) entries.push({ key: `${entry.name}/`, name: entry.name, isDir: true });
      else if ((entry.isFile() || entry.isSymbolicLink()) && IMAGE_EXTENSIONS.includes(path.extname(entry.name).toLowerCase())) {
        entries.push({ key: entry.name, name: entry.name, isDir: false });
      }
    }
    entries.sort((a, b) => codeUnitCompare(a.key, b.key));
    for (const e of entries) {
      const relPath = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDir) walk(path.join(dir, e.name), relPath, label ?? e.name);
      else items.push(relPath, label);
    }
  };
  walk(abs, '', null);
  if (items.length === 0) {
    throw new StudioError(
      'bad-input',
      `No images found in ${abs}. Looked for ${IMAGE_EXTENSIONS.join(' ')} files, in the folder and its subfolders (a subfolder's name is used as the label).`,
    );
  }
  const list = items.finish();
  return { root: abs, items: list, labels: list.distinctLabels() };
}
