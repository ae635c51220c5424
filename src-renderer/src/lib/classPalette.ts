/**
 * Categorical colours for a head's classes (segmentation maps, legends): Okabe–Ito first (distinct
 * for colour-blind readers), then Paul Tol's muted set; beyond 16 classes colours repeat. Kept apart
 * from plasma, which only ever means "activation".
 */
const PALETTE = [
  '#e69f00', '#56b4e9', '#009e73', '#f0e442', '#0072b2', '#d55e00', '#cc79a7', '#999999',
  '#332288', '#88ccee', '#44aa99', '#117733', '#999933', '#ddcc77', '#cc6677', '#882255',
];

export function classColour(c: number): string {
  return PALETTE[((c % PALETTE.length) + PALETTE.length) % PALETTE.length]!;
}

/** [r, g, b] of a class colour, for canvas fills with alpha. */
export function classRgb(c: number): [number, number, number] {
  const hex = classColour(c);
  return [parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16)];
}
