/** saev-style names: CLIP-24K for a 24,576-wide CLIP SAE; DINOv2-3K; FAMILY-128 for small ones. */
export function indexName(family: string, width: number): string {
  const known: Record<string, string> = { clip: 'CLIP', dinov2: 'DINOv2', siglip: 'SigLIP', videomae: 'VideoMAE' };
  const prefix = known[family.toLowerCase()] ?? family.toUpperCase();
  return `${prefix}-${widthLabel(width)}`;
}

export function widthLabel(width: number): string {
  if (width >= 1024 && width % 1024 === 0) return `${width / 1024}K`;
  if (width >= 1000 && width % 1000 === 0) return `${width / 1000}K`;
  return String(width);
}

/**
 * Older group indexes stored their name as `MODEL-WIDTH member` (e.g. `TOY-A-256 a-topk`), which
 * breaks the paper's `MODEL-WIDTH/INDEX` feature ids. Split such a name into the id part and the
 * member label, which the UI shows separately.
 */
export function splitMemberName(stored: string, member: string | null): { name: string; member: string | null } {
  const m = /^(\S+)\s+(\S.*)$/.exec(stored.trim());
  if (m && (member === null || m[2] === member)) return { name: m[1]!, member: m[2]! };
  return { name: stored.trim(), member };
}

/** The rule lives in the contract so the rename field applies the same one. */
export { indexNameProblem } from '../../contract/index.js';
