/** What mapping needs of a model's view of the image (a QueryImageView). */
export interface GridView {
  grid: [number, number];
  /** The model's crop in source-image fractions [x0, y0, x1, y1]. */
  crop: [number, number, number, number];
}

/**
 * Maps a patch selection on one model's grid to another model's grid through the source image:
 * each target patch gets the fraction of its area covered by selected source patches (its weight),
 * so CLIP 14x14 and DINOv2 16x16 (each with its own crop) compare on the same region.
 */
export function mapSelection(
  patches: [number, number][],
  from: GridView,
  to: GridView,
): { patches: [number, number][]; weights: number[] } {
  const rect = (v: GridView, r: number, c: number) => {
    const [x0, y0, x1, y1] = v.crop;
    const w = (x1 - x0) / v.grid[1];
    const h = (y1 - y0) / v.grid[0];
    return [x0 + c * w, y0 + r * h, x0 + (c + 1) * w, y0 + (r + 1) * h] as const;
  };
  const src = patches.map(([r, c]) => rect(from, r, c));
  const out: [number, number][] = [];
  const weights: number[] = [];
  for (let r = 0; r < to.grid[0]; r++) {
    for (let c = 0; c < to.grid[1]; c++) {
      const t = rect(to, r, c);
      const area = (t[2] - t[0]) * (t[3] - t[1]);
      let covered = 0;
      for (const s of src) {
        const w = Math.min(t[2], s[2]) - Math.max(t[0], s[0]);
        const h = Math.min(t[3], s[3]) - Math.max(t[1], s[1]);
        if (w > 0 && h > 0) covered += w * h;
      }
      const weight = area > 0 ? Math.min(1, covered / area) : 0;
      if (weight > 1e-6) {
        out.push([r, c]);
        weights.push(weight);
      }
    }
  }
  return { patches: out, weights };
}
