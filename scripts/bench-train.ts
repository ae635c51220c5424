// Benchmark (not a test): SAE trainer throughput against the bare SAE encoder forward on the same rows.
//
//   npm run bench:train [-- --arch topk --provider cpu --steps-small 200 --steps-large 60 --no-demo]
//
// At the end it times a full demo build from scratch (core/demo/buildDemo.ts), step by step.
//
// Two shapes, batch 256: d=64 -> 512 latents (k=8) and d=384 -> 3072 latents (k=32). Rows are
// "realistic" in the SAE sense: a fixed offset plus 1-8 of 4·d random unit directions with
// magnitudes in [1, 3], plus a little noise (precomputed, so generating them is not timed).
// Prints rows (activations) per second for
//   1. the bare encoder forward on the trained SAE, batch by batch (median of repeated passes): the
//      dense product + top-k in JS (encodeTrained), and on onnxruntime (SaeEncoderSession, the
//      indexer's encoder);
//   2. the trainer (trainSae: forward, top-k, prefix losses, AuxK, backward, Adam) with its dense
//      product on onnxruntime (denseProduct 'onnx', the CLI default) and in JS,
// and the ratios trainer / forward. Trainer rates are steady state: the first 2 steps (session
// start, b_dec initialisation) are left out. AuxK joins once latents go dead (10 000 tokens
// without firing, ~40 steps), so runs shorter than that flatter the trainer.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ProviderChoice } from '../src-main/contract/index.js';
import { buildDemo } from '../src-main/core/demo/buildDemo.js';
import { loadSae } from '../src-main/core/sae/loadSae.js';
import { SaeEncoderSession } from '../src-main/core/sae/encoderSession.js';
import {
  encodeTrained, makeGaussian, makeRng, trainSae, writeTrainedSae, type TrainArch, type TrainedSae,
} from '../src-main/core/train/saeTrainer.js';
import { arg } from './lib/benchArgs.js';

const BATCH = 256;
/** Distinct batches in the pool; training cycles through them. */
const POOL_BATCHES = 32;
const WARM_STEPS = 2;

/** POOL_BATCHES batches of [BATCH, d] sparse-dictionary rows. */
function makeRows(d: number, seed: number): Float32Array {
  const rng = makeRng(seed);
  const g = makeGaussian(rng);
  const nDirs = 4 * d;
  const dirs = new Float32Array(nDirs * d);
  for (let j = 0; j < nDirs; j++) {
    let s = 0;
    for (let i = 0; i < d; i++) s += (dirs[j * d + i] = g()) ** 2;
    for (let i = 0; i < d; i++) dirs[j * d + i]! /= Math.sqrt(s);
  }
  const offset = Float32Array.from({ length: d }, () => 0.5 * g());
  const rows = POOL_BATCHES * BATCH;
  const x = new Float32Array(rows * d);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < d; i++) x[r * d + i] = offset[i]! + 0.05 * g();
    const n = 1 + Math.floor(rng() * 8);
    for (let t = 0; t < n; t++) {
      const j = Math.floor(rng() * nDirs);
      const m = 1 + 2 * rng();
      for (let i = 0; i < d; i++) x[r * d + i]! += m * dirs[j * d + i]!;
    }
  }
  return x;
}

const batchOf = (pool: Float32Array, d: number, b: number) => pool.subarray((b % POOL_BATCHES) * BATCH * d, ((b % POOL_BATCHES) + 1) * BATCH * d);

async function timeTrainer(pool: Float32Array, shape: Shape, arch: TrainArch, steps: number, denseProduct: 'js' | 'onnx', provider: ProviderChoice) {
  let next = 0;
  let tWarm = 0;
  let tLast = 0;
  const sae = await trainSae(() => batchOf(pool, shape.d, next++), {
    dIn: shape.d, width: shape.width, k: shape.k, arch, groups: arch === 'matryoshka' ? shape.groups : undefined,
    steps, batchSize: BATCH, seed: 1, denseProduct, provider, progressEvery: 1,
    onProgress: (p) => {
      if (p.step === WARM_STEPS) tWarm = performance.now();
      tLast = performance.now();
    },
  });
  const rowsPerSec = ((steps - WARM_STEPS) * BATCH) / ((tLast - tWarm) / 1000);
  return { sae, rowsPerSec };
}

/** Passes over the pool's batches until 2 s have gone by (at least 3); the median pass's rows/s. */
async function timeForward(pool: Float32Array, d: number, encode: (x: Float32Array) => unknown | Promise<unknown>): Promise<number> {
  for (let b = 0; b < 2; b++) await encode(batchOf(pool, d, b)); // warm-up
  const rates: number[] = [];
  const start = performance.now();
  while (rates.length < 3 || performance.now() - start < 2000) {
    const t0 = performance.now();
    for (let b = 0; b < POOL_BATCHES; b++) await encode(batchOf(pool, d, b));
    rates.push((POOL_BATCHES * BATCH) / ((performance.now() - t0) / 1000));
  }
  return [...rates].sort((a, b) => a - b)[Math.floor(rates.length / 2)]!;
}

interface Shape {
  d: number;
  width: number;
  k: number;
  groups: number[];
  steps: number;
}

async function main() {
  const arch = arg('arch', 'topk') as TrainArch;
  const provider = arg('provider', 'cpu') as ProviderChoice;
  const shapes: Shape[] = [
    { d: 64, width: 512, k: 8, groups: [64, 256, 512], steps: Number(arg('steps-small', '200')) },
    { d: 384, width: 3072, k: 32, groups: [384, 1536, 3072], steps: Number(arg('steps-large', '60')) },
  ];
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-bench-train-'));
  const fmt = (n: number) => n.toFixed(0).padStart(8);
  console.log(`SAE trainer vs bare encoder forward: arch ${arch}, batch ${BATCH}, provider ${provider}, ${os.availableParallelism()} cores, Node ${process.version}`);
  for (const shape of shapes) {
    const pool = makeRows(shape.d, shape.d);
    const onnx = await timeTrainer(pool, shape, arch, shape.steps, 'onnx', provider);
    const js = await timeTrainer(pool, shape, arch, shape.steps, 'js', provider);
    const sae: TrainedSae = onnx.sae;
    const written = writeTrainedSae(sae, path.join(work, `${shape.d}-${shape.width}`));
    const encoder = await SaeEncoderSession.create(loadSae(written.loadPath), provider);
    const fwdOnnx = await timeForward(pool, shape.d, (x) => encoder.encode(x, BATCH));
    await encoder.close();
    const fwdJs = await timeForward(pool, shape.d, (x) => encodeTrained(sae, x, BATCH));
    const last = sae.history.at(-1)!;
    console.log(
      `\nd=${shape.d} -> width ${shape.width}, k ${shape.k}${arch === 'matryoshka' ? `, groups ${shape.groups.join(',')}` : ''}: ` +
        `${shape.steps} steps (end: FVU ${last.fvu.toFixed(3)}, L0 ${last.l0.toFixed(1)}, dead ${last.dead}; dense product ${sae.denseProduct})`,
    );
    const line = (label: string, rate: number, note = '') => console.log(`  ${label.padEnd(64)}${fmt(rate)} rows/s${note}`);
    line('bare forward, onnxruntime (SaeEncoderSession, GEMM + selection)', fwdOnnx);
    line('bare forward, JS (encodeTrained, dense product + selection)', fwdJs);
    line('trainer, dense product on onnxruntime', onnx.rowsPerSec, `   ratio to onnxruntime forward ${(onnx.rowsPerSec / fwdOnnx).toFixed(3)}`);
    line('trainer, dense product in JS', js.rowsPerSec, `   ratio to JS forward ${(js.rowsPerSec / fwdJs).toFixed(3)}`);
    console.log(`  trainer onnx / trainer js: ${(onnx.rowsPerSec / js.rowsPerSec).toFixed(2)}x`);
  }
  if (!process.argv.includes('--no-demo')) {
    // The whole demo (dataset, backbones, three SAEs, four indexes, matches), from scratch.
    const t0 = performance.now();
    const stepTimes: { label: string; seconds: number }[] = [];
    let current = '';
    let since = t0;
    await buildDemo({
      out: path.join(work, 'demo'),
      provider: provider === 'cpu' ? 'cpu' : 'auto',
      onProgress: (p) => {
        if (p.label === current) return;
        const now = performance.now();
        if (current) stepTimes.push({ label: current, seconds: (now - since) / 1000 });
        current = p.label;
        since = now;
      },
    });
    stepTimes.push({ label: current, seconds: (performance.now() - since) / 1000 });
    console.log(`\nfull demo built from scratch in ${((performance.now() - t0) / 1000).toFixed(1)} s (target: under 180 s on a 2-core laptop CPU)`);
    for (const t of stepTimes) console.log(`  ${t.label.padEnd(70)}${t.seconds.toFixed(1).padStart(6)} s`);
  }
  fs.rmSync(work, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
