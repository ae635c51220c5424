import path from 'node:path';
import type { ProviderChoice } from '../../../contract/index.js';
import type { HeadOutput } from '../../../core/intervene/intervener.js';
import { EXIT, errorMessage, type CliDeps } from '../context.js';

// `studio intervene`: suppress or amplify SAE features on chosen patches of one image and print
// the task head's output before and after. Values are multiples of each feature's max activation
// in --index (so 0 suppresses and -2 / 2 mean the same across features), or activations with
// --absolute. Runs in this process: the CLI has no UI loop to keep free.

export interface InterveneOptions {
  model: string;
  layer: string;
  sae: string;
  head: string;
  index?: string;
  image: string;
  set: string;
  patches?: string;
  absolute?: boolean;
  json?: boolean;
  provider?: ProviderChoice;
}

export function parseEdits(text: string): { feature: number; value: number }[] {
  return text.split(',').map((part) => {
    const m = /^\s*(\d+)\s*=\s*(-?[\d.]+(?:e-?\d+)?)\s*$/i.exec(part);
    if (!m) throw new Error(`--set expects FEATURE=VALUE[,FEATURE=VALUE], e.g. 6909=0,120=-2 (got '${part}')`);
    return { feature: Number(m[1]), value: Number(m[2]) };
  });
}

export function parsePatches(text: string, grid: [number, number]): number[] {
  return text.split(';').map((part) => {
    const m = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(part);
    if (!m) throw new Error(`--patches expects "row,col;row,col" (got '${part}')`);
    const [r, c] = [Number(m[1]), Number(m[2])];
    if (r >= grid[0] || c >= grid[1]) throw new Error(`patch (${r}, ${c}) is outside the ${grid[0]}x${grid[1]} grid`);
    return r * grid[1] + c;
  });
}

function asJson(o: HeadOutput): unknown {
  return o.task === 'classification' ? o.labels.map((l, i) => [l, o.probs![i]]) : o.patchClasses;
}

function table(before: HeadOutput, after: HeadOutput): string {
  if (before.task === 'segmentation') {
    const changed = before.patchClasses!.filter((c, p) => c !== after.patchClasses![p]).length;
    return `segmentation: ${changed} of ${before.patchClasses!.length} patches change class\n`;
  }
  const rows = before.labels
    .map((label, i) => ({ label, b: before.probs![i]!, a: after.probs![i]! }))
    .sort((x, y) => Math.max(y.a, y.b) - Math.max(x.a, x.b))
    .slice(0, 10);
  const width = Math.max(...rows.map((r) => r.label.length), 5);
  const lines = rows.map((r) => `${r.label.padEnd(width)}  ${r.b.toFixed(4)} → ${r.a.toFixed(4)}  (${r.a - r.b >= 0 ? '+' : ''}${(r.a - r.b).toFixed(4)})`);
  return `${'class'.padEnd(width)}  before → after\n${lines.join('\n')}\n`;
}

export async function interveneCommand(options: InterveneOptions, deps: CliDeps): Promise<number> {
  let edits: { feature: number; value: number }[];
  try {
    edits = parseEdits(options.set);
  } catch (err) {
    deps.stderr.write(`error: ${errorMessage(err)}\n`);
    return EXIT.usage;
  }
  if (!options.absolute && !options.index) {
    deps.stderr.write('error: values are multiples of each feature\'s max activation: give --index DIR, or --absolute for raw activations\n');
    return EXIT.usage;
  }
  const { Intervener } = await import('../../../core/intervene/intervener.js');
  const iv = await Intervener.open({ model: options.model, layer: options.layer, sae: options.sae, head: options.head, provider: options.provider });
  try {
    if (!options.absolute) {
      const { IndexReader } = await import('../../../core/store/indexReader.js');
      const reader = IndexReader.open('cli', path.resolve(options.index!));
      try {
        if (reader.config.sae.dSae !== iv.sae.dSae) {
          throw new Error(`--index ${options.index} was built with an SAE of ${reader.config.sae.dSae} features; --sae has ${iv.sae.dSae}`);
        }
        edits = edits.map((e) => ({ feature: e.feature, value: e.value * reader.featureDetail(e.feature).row.max }));
      } finally {
        reader.close();
      }
    }
    const patches = options.patches ? parsePatches(options.patches, iv.grid) : null;
    await iv.setImage(path.resolve(options.image));
    const { before, after } = await iv.run(edits, patches);
    deps.stdout.write(options.json ? `${JSON.stringify({ before: asJson(before), after: asJson(after) })}\n` : table(before, after));
    return EXIT.ok;
  } finally {
    await iv.close();
  }
}
