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
