import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../errors.js';
import type { DatasetItem } from '../store/indexWriter.js';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.avif', '.tif', '.tiff', '.bmp'];

export interface ImageFolder {
  root: string;
  items: DatasetItem[];
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

  const files: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full, relPath);
      else if ((entry.isFile() || entry.isSymbolicLink()) && IMAGE_EXTENSIONS.includes(path.extname(entry.name).toLowerCase())) {
        files.push(relPath);
      }
    }
  };
  walk(abs, '');
  if (files.length === 0) {
    throw new StudioError(
      'bad-input',
      `No images found in ${abs}. Looked for ${IMAGE_EXTENSIONS.join(' ')} files, in the folder and its subfolders (a subfolder's name is used as the label).`,
    );
  }
  files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const items = files.map((p) => {
    const slash = p.indexOf('/');
    return { path: p, label: slash > 0 ? p.slice(0, slash) : null };
  });
  const labels = [...new Set(items.map((i) => i.label).filter((l): l is string => l !== null))].sort();
  return { root: abs, items, labels };
}
