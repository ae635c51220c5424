import { StudioError } from '../../core/errors.js';

/** `--groups 16,64,256`: cumulative Matryoshka widths (checked against the SAE where they are used). */
export function parseGroups(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  const parts = text.split(',').map((s) => s.trim());
  const groups = parts.map(Number);
  if (parts.some((p) => !/^\d+$/.test(p)) || groups.some((g) => g < 1)) {
    throw new StudioError('bad-input', `--groups expects cumulative widths like 16,64,256; got "${text}"`);
  }
  return groups;
}
