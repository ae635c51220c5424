import { existsSync } from 'node:fs';
import path from 'node:path';
import { exposeLayers, inspectOnnx, type ExposeLayersResult, type OnnxInspection, type TensorInfo } from '../../../core/backbone/inspectOnnx.js';
import { loadManifest } from '../../../core/backbone/manifest.js';
import type { Candidate, ProbeOptions } from '../../../core/onnx/graphSurgery.js';
import { EXIT, type CliDeps } from '../context.js';

// `studio inspect-model FILE`: an ONNX file's inputs, outputs and the tensors that look like
// block outputs; with --expose, writes a copy that outputs the chosen blocks and a manifest.

export interface InspectModelOptions {
  json?: boolean;
  /** Comma-separated layer names (block_10) or tensor names. */
  expose?: string;
  out?: string;
  manifest?: string;
  size?: number;
  /** Comma-separated dims, e.g. "1,16,3,224,224". */
  inputShape?: string;
}

const shapeText = (shape: TensorInfo['shape']) => (shape ? `[${shape.map((d) => d ?? '?').join(', ')}]` : '(no shape)');

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => `  ${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}`.trimEnd()).join('\n');
}

const KIND: Record<Candidate['reason'], (c: Candidate) => string> = {
  residual: (c) => `residual (${c.branch})`,
  norm: (c) => `normalisation (${c.op})`,
  output: () => 'graph output',
  name: () => 'named like a block',
  requested: () => 'asked for by name',
};

export function formatInspection(inspection: OnnxInspection): string {
  const io = (list: TensorInfo[]) => table(list.map((t) => [t.name, t.type, shapeText(t.shape)]));
  const lines = [`Model  ${inspection.path}`, 'Inputs', io(inspection.inputs), 'Outputs', io(inspection.outputs), ''];
  if (inspection.candidates.length === 0) {
    lines.push('No tensor shaped [batch, tokens, d] found: this does not look like a ViT backbone.');
    return lines.join('\n');
  }
  lines.push('Candidate layers ([batch, tokens, d] tensors in graph order; block_i = output of block i: the residual stream, or its norm in post-norm blocks):');
  const rows = [['layer', 'tensor', 'shape', 'op', 'kind']];
  for (const c of inspection.candidates) {
    const kind = KIND[c.reason](c);
    const output = c.isGraphOutput && c.reason !== 'output' ? ', graph output' : '';
    rows.push([c.layer ?? '-', c.tensor, `batch x ${c.tokens} x ${c.dModel}`, c.op, `${kind}${output}`]);
  }
  lines.push(table(rows));
  const example = inspection.candidates.find((c) => c.layer && !c.isGraphOutput) ?? inspection.candidates.find((c) => !c.isGraphOutput);
  if (example) {
    lines.push('', `Expose one with: studio inspect-model ${path.basename(inspection.path)} --expose ${example.layer ?? example.tensor}`);
  }
  return lines.join('\n');
}

function formatExposed(r: ExposeLayersResult): string {
  const layers = Object.entries(r.layers).map(([layer, output]) => `  ${layer} -> ${output}`);
  const lines = [`Wrote ${r.modelPath}`, ...layers, `${r.manifestCreated ? 'Wrote' : 'Updated'} manifest ${r.manifestPath}`];
  if (r.dropped.length) lines.push(`  removed layers whose outputs the model lacks: ${r.dropped.join(', ')}`);
  return lines.join('\n');
}

function parseShape(text: string): number[] | null {
  const dims = text.split(',').map((d) => d.trim());
  return dims.length > 0 && dims.every((d) => /^\d+$/.test(d) && Number(d) > 0) ? dims.map(Number) : null;
}

export async function inspectModelCommand(file: string, options: InspectModelOptions, deps: CliDeps): Promise<number> {
  const probe: ProbeOptions = {};
  if (options.inputShape !== undefined) {
    const shape = parseShape(options.inputShape);
    if (!shape) {
      deps.stderr.write(`error: --input-shape expects comma-separated positive dims (e.g. 1,3,224,224), got "${options.inputShape}"\n`);
      return EXIT.usage;
    }
    probe.inputShape = shape;
  }
  // A manifest already knows the input size, which models with symbolic H and W need.
  probe.size = options.size ?? (options.manifest && existsSync(options.manifest) ? loadManifest(options.manifest).inputSize : undefined);
  const picks = (options.expose ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (options.expose !== undefined && picks.length === 0) {
    deps.stderr.write('error: --expose needs at least one layer name (e.g. --expose block_10)\n');
    return EXIT.usage;
  }
  if (picks.length === 0 && (options.out || options.manifest)) {
    deps.stderr.write('error: --out and --manifest only apply with --expose\n');
    return EXIT.usage;
  }

  const inspection = await inspectOnnx(file, probe);
  const exposed = picks.length ? await exposeLayers(file, picks, { ...probe, out: options.out, manifest: options.manifest, candidates: inspection.candidates }) : null;
  if (options.json) {
    deps.stdout.write(`${JSON.stringify(exposed ? { ...inspection, exposed } : inspection, null, 2)}\n`);
  } else {
    deps.stdout.write(`${formatInspection(inspection)}\n`);
    if (exposed) deps.stdout.write(`\n${formatExposed(exposed)}\n`);
  }
  for (const warning of exposed?.warnings ?? []) deps.stderr.write(`warning: ${warning}\n`);
  return EXIT.ok;
}
