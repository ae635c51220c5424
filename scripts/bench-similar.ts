// Benchmark (not a test): latency of "similar features" on first use in a session and on later
// queries, reading the SAE checkpoint each session (before issue 19) against the unit directions
// saved once in the index folder (decoderDirectionsFile.ts).
//
//   node --import tsx scripts/bench-similar.ts [--features 16384 --d-in 768]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DECODER_DIRECTIONS_FILE, loadDecoderDirections } from '../src-main/core/analysis/decoderDirectionsFile.js';
import { DecoderDirections } from '../src-main/core/analysis/similarFeatures.js';
import { loadSae } from '../src-main/core/sae/loadSae.js';
import { makeSae } from '../tests/helpers/makeSae.js';
import { numberArg as arg } from './lib/benchArgs.js';

const dSae = arg('features', 16_384);
const dIn = arg('d-in', 768);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-similar-'));
const saePath = makeSae(path.join(tmp, 'sae'), { dIn, dSae, architecture: 'topk', k: 32, seed: 1 });
const indexDir = path.join(tmp, 'index');
fs.mkdirSync(indexDir);
const bytes = (p: string): number => (fs.statSync(p).isDirectory() ? fs.readdirSync(p).reduce((s, f) => s + bytes(path.join(p, f)), 0) : fs.statSync(p).size);
console.log(`${dSae} x ${dIn} SAE, checkpoint ${(bytes(saePath) / 1e6).toFixed(0)} MB`);

const time = <T>(fn: () => T): [T, number] => {
  const t0 = performance.now();
  const r = fn();
  return [r, performance.now() - t0];
};
const features = [5, 1234, dSae - 1];

// Before: every session loads the checkpoint and normalises W_dec.
const [before, beforeFirst] = time(() => {
  const sae = loadSae(saePath);
  const d = DecoderDirections.fromDecoder(sae.weights.W_dec, sae.dSae, sae.dIn);
  d.similar(features[0]!, 12);
  return d;
});
// After, first session ever: the same, plus writing the directions beside the index.
const [, buildFirst] = time(() => loadDecoderDirections({ dir: indexDir, saeHash: 'bench', saePath }).similar(features[0]!, 12));
// After, any later session: the directions file only (the checkpoint may even be gone).
const [after, afterFirst] = time(() => {
  const d = loadDecoderDirections({ dir: indexDir, saeHash: 'bench', saePath: null });
  d.similar(features[0]!, 12);
  return d;
});
for (const f of features) {
  if (JSON.stringify(after.similar(f, 12)) !== JSON.stringify(before.similar(f, 12))) throw new Error(`feature ${f}: saved directions rank differently`);
}
const [, repeat] = time(() => features.forEach((f) => after.similar(f, 12)));
console.log(`directions file ${(fs.statSync(path.join(indexDir, DECODER_DIRECTIONS_FILE)).size / 1e6).toFixed(0)} MB`);
console.log(`first query in a session, before (checkpoint each session):  ${beforeFirst.toFixed(0)} ms`);
console.log(`first query ever, after (checkpoint once, file written):      ${buildFirst.toFixed(0)} ms`);
console.log(`first query in a later session, after (directions file):      ${afterFirst.toFixed(0)} ms (${(beforeFirst / afterFirst).toFixed(1)}x faster)`);
console.log(`repeat query, same session (before and after alike):          ${(repeat / features.length).toFixed(0)} ms`);
fs.rmSync(tmp, { recursive: true, force: true });
