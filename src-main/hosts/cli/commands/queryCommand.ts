import path from 'node:path';
import { InvalidArgumentError } from 'commander';
import { featureName } from '../../../contract/index.js';
import { EXIT, withBackend, type CliDeps } from '../context.js';

// `studio query DIR IMAGE --patches "r,c;r,c" [--json]`: runs an image through the index's
// backbone and SAE and ranks features by activation summed over the given patches.

/** "r,c;r,c" -> [[r, c], ...]; "all" is handled by the caller. */
export function parsePatches(text: string): [number, number][] {
  const out: [number, number][] = [];
  for (const part of text.split(';').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(\d+)\s*,\s*(\d+)$/.exec(part);
    if (!m) throw new InvalidArgumentError(`expected patches as "row,col;row,col" (from 0), got "${part}".`);
    out.push([Number(m[1]), Number(m[2])]);
  }
  if (out.length === 0) throw new InvalidArgumentError('give at least one patch, e.g. --patches "3,4;3,5".');
  return out;
}

export async function queryCommand(dir: string, image: string, opts: { patches: string; json?: boolean; limit?: number }, deps: CliDeps): Promise<number> {
  return withBackend(deps, {}, async (backend) => {
    const s = await backend.openIndex({ path: path.resolve(dir) });
    const loaded = await backend.loadQueryImage({ image: { path: path.resolve(image) }, indexIds: [s.id] });
    const [R, C] = loaded.views[0]!.grid;
    const patches =
      opts.patches.trim() === 'all'
        ? Array.from({ length: R * C }, (_, p) => [Math.floor(p / C), p % C] as [number, number])
        : parsePatches(opts.patches);
    const r = await backend.queryPatches({ imageId: loaded.imageId, indexId: s.id, patches, limit: opts.limit ?? 20 });
    if (opts.json) {
      deps.stdout.write(`${JSON.stringify({ features: r.features.map((f) => ({ feature: f.feature, value: f.value })) })}\n`);
      return EXIT.ok;
    }
    deps.stdout.write(`${loaded.name}: ${patches.length} patch(es) of the ${R}x${C} grid, ${r.features.length} feature(s)\n`);
    for (const f of r.features) deps.stdout.write(`  ${featureName(s.name, f.feature).padEnd(s.name.length + 8)} ${f.value.toPrecision(4).padStart(10)}  (max ${f.max.toPrecision(3)})\n`);
    return EXIT.ok;
  });
}
