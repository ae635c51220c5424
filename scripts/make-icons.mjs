#!/usr/bin/env node
// Draws the Feature Studio icon and writes the PNGs the installers use:
//   resources/icon.png            1024×1024, the master: electron-builder derives the macOS .icns
//                                 and the Windows .ico from it at packaging time.
//   resources/icons/<N>x<N>.png   the Linux icon set (AppImage/deb hicolor theme), N = 16…1024.
//
// The motif: a ViT's view of an image, a grid of patches on a calm dark ground, with one feature
// firing on a few neighbouring patches in the studio's colour map (plasma). Run it again after
// changing the drawing and commit the PNGs: `node scripts/make-icons.mjs`.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const resources = path.join(root, 'resources');
export const ICON_SIZES = [16, 24, 32, 48, 64, 128, 256, 512, 1024];

// matplotlib plasma at t = 0, 1/8, …, 1 (same map as src-renderer/src/lib/plasma.ts).
const PLASMA = [
  [13, 8, 135],
  [75, 3, 161],
  [125, 3, 168],
  [168, 34, 150],
  [203, 70, 121],
  [229, 107, 93],
  [248, 148, 65],
  [253, 195, 40],
  [240, 249, 33],
];

function plasma(t) {
  const x = Math.min(1, Math.max(0, t)) * (PLASMA.length - 1);
  const i = Math.min(PLASMA.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [PLASMA[i], PLASMA[i + 1]];
  const c = a.map((v, k) => Math.round(v + (b[k] - v) * f));
  return `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

/** The icon as SVG on a 1024 canvas. */
export function iconSvg() {
  const size = 1024;
  const n = 6; // 6×6 patches
  const inset = 168; // margin of the grid inside the tile
  const gap = 18;
  const cell = (size - 2 * inset - (n - 1) * gap) / n;
  // The feature's heat spot: a soft Gaussian a little off centre, so the icon reads as "found
  // something here" rather than as a target.
  const spot = { x: 3.6, y: 2.3, sigma: 1.05 };
  const tiles = [];
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      const d2 = (c + 0.5 - spot.x) ** 2 + (r + 0.5 - spot.y) ** 2;
      const v = Math.exp(-d2 / (2 * spot.sigma ** 2));
      const x = inset + c * (cell + gap);
      const y = inset + r * (cell + gap);
      if (v < 0.12) {
        // A silent patch: just the image grid, barely there.
        tiles.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" rx="22" fill="#ffffff" fill-opacity="0.07"/>`);
      } else {
        const t = Math.min(1, (v - 0.12) / 0.88);
        tiles.push(
          `<rect x="${x}" y="${y}" width="${cell}" height="${cell}" rx="22" fill="${plasma(0.12 + 0.88 * t)}" fill-opacity="${(0.35 + 0.65 * t).toFixed(3)}"/>`,
        );
      }
    }
  }
  const glowX = inset + spot.x * (cell + gap);
  const glowY = inset + spot.y * (cell + gap);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}">
  <defs>
    <linearGradient id="ground" x1="0" y1="0" x2="1" y2="1">
      <stop offset="0" stop-color="#241f3d"/>
      <stop offset="1" stop-color="#121120"/>
    </linearGradient>
    <radialGradient id="glow" cx="${glowX}" cy="${glowY}" r="360" gradientUnits="userSpaceOnUse">
      <stop offset="0" stop-color="${plasma(0.75)}" stop-opacity="0.38"/>
      <stop offset="1" stop-color="${plasma(0.3)}" stop-opacity="0"/>
    </radialGradient>
  </defs>
  <rect x="64" y="64" width="896" height="896" rx="200" fill="url(#ground)"/>
  <rect x="64" y="64" width="896" height="896" rx="200" fill="url(#glow)"/>
  <rect x="66" y="66" width="892" height="892" rx="198" fill="none" stroke="#ffffff" stroke-opacity="0.10" stroke-width="4"/>
  ${tiles.join('\n  ')}
</svg>
`;
}

async function main() {
  const svg = Buffer.from(iconSvg());
  const master = await sharp(svg, { density: 72 }).resize(1024, 1024).png({ compressionLevel: 9 }).toBuffer();
  mkdirSync(path.join(resources, 'icons'), { recursive: true });
  await sharp(master).toFile(path.join(resources, 'icon.png'));
  for (const n of ICON_SIZES) {
    // Downscale the rendered master (not the SVG) so small sizes keep the same look; lanczos3
    // keeps the patch edges crisp.
    await sharp(master).resize(n, n, { kernel: 'lanczos3' }).png({ compressionLevel: 9 }).toFile(path.join(resources, 'icons', `${n}x${n}.png`));
  }
  console.log(`make-icons: wrote resources/icon.png and resources/icons/{${ICON_SIZES.map((n) => `${n}x${n}`).join(',')}}.png`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
