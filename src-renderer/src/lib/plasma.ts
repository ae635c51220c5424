// The one activation colour map of the studio. matplotlib's `plasma` is a 256-entry listed map;
// we keep every 8th entry (plus the last) as control points and interpolate linearly between
// them, which reproduces the full table to within two 8-bit steps (every 16th would be off by 5
// near the yellow end, where the curve bends).

/** [position in the 256-entry table, r, g, b] with channels in 0..1, from matplotlib _plasma_data. */
const CONTROL_POINTS: ReadonlyArray<readonly [number, number, number, number]> = [
  [0, 0.050383, 0.029803, 0.527975],
  [8, 0.132381, 0.022258, 0.56325],
  [16, 0.193374, 0.018354, 0.59033],
  [24, 0.248032, 0.014439, 0.612868],
  [32, 0.299855, 0.009561, 0.631624],
  [40, 0.35015, 0.004382, 0.646298],
  [48, 0.399411, 0.000859, 0.656133],
  [56, 0.447714, 0.00208, 0.66024],
  [64, 0.494877, 0.01199, 0.657865],
  [72, 0.54057, 0.03495, 0.64864],
  [80, 0.584391, 0.068579, 0.632812],
  [88, 0.625987, 0.103312, 0.611305],
  [96, 0.665129, 0.138566, 0.585582],
  [104, 0.701769, 0.174005, 0.557296],
  [112, 0.736019, 0.209439, 0.527908],
  [120, 0.76809, 0.244817, 0.498465],
  [128, 0.798216, 0.280197, 0.469538],
  [136, 0.826588, 0.315714, 0.441316],
  [144, 0.853319, 0.351553, 0.413734],
  [152, 0.878423, 0.387932, 0.3866],
  [160, 0.901807, 0.425087, 0.359688],
  [168, 0.923287, 0.463251, 0.332801],
  [176, 0.942598, 0.502639, 0.305816],
  [184, 0.959424, 0.543431, 0.278701],
  [192, 0.973416, 0.585761, 0.25154],
  [200, 0.984199, 0.629718, 0.224595],
  [208, 0.991365, 0.675355, 0.198453],
  [216, 0.994474, 0.722691, 0.174381],
  [224, 0.993033, 0.77172, 0.154808],
  [232, 0.986509, 0.822401, 0.143557],
  [240, 0.974443, 0.874622, 0.144061],
  [248, 0.956808, 0.928152, 0.152409],
  [255, 0.940015, 0.975158, 0.131326],
];

export type Rgb = readonly [number, number, number];

function buildTable(): Rgb[] {
  const table: Rgb[] = [];
  let segment = 0;
  // The last control point sits at 255, so segment + 1 never runs past the end.
  for (let i = 0; i < 256; i++) {
    while (CONTROL_POINTS[segment + 1]![0] < i) segment++;
    const [i0, r0, g0, b0] = CONTROL_POINTS[segment]!;
    const [i1, r1, g1, b1] = CONTROL_POINTS[segment + 1]!;
    const f = (i - i0) / (i1 - i0);
    table.push([
      Math.round((r0 + (r1 - r0) * f) * 255),
      Math.round((g0 + (g1 - g0) * f) * 255),
      Math.round((b0 + (b1 - b0) * f) * 255),
    ]);
  }
  return table;
}

/** 256 entries of 8-bit [r, g, b]. */
export const PLASMA_TABLE: readonly Rgb[] = buildTable();

/** Colour for t in [0, 1] (clamped; NaN counts as 0) as 8-bit [r, g, b]. */
export function plasmaRgb(t: number): Rgb {
  const clamped = t > 0 ? (t < 1 ? t : 1) : 0;
  return PLASMA_TABLE[Math.round(clamped * 255)]!; // clamped to 0..255 of 256 entries
}

/** CSS colour for t, optionally with alpha. */
export function plasmaCss(t: number, alpha = 1): string {
  const [r, g, b] = plasmaRgb(t);
  return alpha >= 1 ? `rgb(${r}, ${g}, ${b})` : `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

/** A CSS linear-gradient of the map, for legends. */
export function plasmaGradientCss(direction = 'to right', stops = 9): string {
  const parts: string[] = [];
  for (let s = 0; s < stops; s++) parts.push(plasmaCss(s / (stops - 1)));
  return `linear-gradient(${direction}, ${parts.join(', ')})`;
}
