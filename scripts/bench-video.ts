// Benchmark (not a test): video indexing throughput against the bare ONNX forward pass on the
// same frames.
//
//   npm run bench:video [-- --clips 16 --frames 16 --batch 16 --provider cpu --rounds 3 --sae 1]
//
// Uses ../shared/fixtures/vit-tiny-224 (ViT-Ti shape, 224x224, 14x14 patches, d=192) as a
// per-frame backbone and its 16x-wide SAELens TopK SAE (3072 features, k=32). Clips are H.264 MP4s
// of 320x240 with moving content, sampled as N segments. Prints frames/s for
//   1. bare forward: backbone + SAE encoder on pre-decoded frame batches (no decoding, no bookkeeping),
//   2. the full video indexer on the same clips (ffmpeg decode, crop, forward, statistics, top-k,
//      traces, temporal statistics for the SAE and the raw activations, SQLite writes),
// and their ratio. With --sae 2 the indexer runs two SAEs in one pass (the bare forward then
// encodes twice too). Thumbnails and strips are written after the pass and timed separately.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadManifest } from '../src-main/core/backbone/manifest.js';
import { BackboneSession } from '../src-main/core/backbone/backboneSession.js';
import { loadSae } from '../src-main/core/sae/loadSae.js';
import { SaeEncoderSession } from '../src-main/core/sae/encoderSession.js';
import { runIndex } from '../src-main/core/indexer/runIndex.js';
import { decodeClip } from '../src-main/core/indexer/sources/videoClipSource.js';
import { ffmpegPath } from '../src-main/core/video/ffmpegPath.js';
import type { ProviderChoice } from '../src-main/contract/index.js';
import { requireSharedVitTiny, SHARED_VIT_TINY, writeVitTinyManifest } from './lib/sharedVitTiny.js';
import { arg } from './lib/benchArgs.js';

const fixture = SHARED_VIT_TINY;

function writeClip(file: string, seed: number, frames: number): void {
  const W = 320;
  const H = 240;
  const raw = Buffer.alloc(W * H * 3 * frames);
  for (let t = 0; t < frames; t++) {
    // A bright square moving across a gradient: content changes smoothly from frame to frame.
    const x0 = (seed * 37 + t * 9) % (W - 64);
    const y0 = (seed * 53 + t * 5) % (H - 64);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const o = ((t * H + y) * W + x) * 3;
        const inside = x >= x0 && x < x0 + 64 && y >= y0 && y < y0 + 64;
        raw[o] = inside ? 240 : (x + seed * 20) % 256;
        raw[o + 1] = inside ? 200 : (y * 2 + t * 3) % 256;
        raw[o + 2] = inside ? 40 : (x + y + seed * 7) % 256;
      }
    }
  }
  const res = spawnSync(
    ffmpegPath(),
    ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${W}x${H}`, '-r', '25', '-i', 'pipe:0', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', file],
    { input: raw, maxBuffer: 1 << 30 },
  );
  if (res.status !== 0) throw new Error(`ffmpeg could not write ${file}: ${res.stderr.toString()}`);
}

async function main() {
  requireSharedVitTiny('bench:video');
  const nClips = Number(arg('clips', '16'));
  const nFrames = Number(arg('frames', '16'));
  const batch = Number(arg('batch', '16'));
  const provider = arg('provider', 'cpu') as ProviderChoice;
  const rounds = Number(arg('rounds', '3'));
  const nSae = Number(arg('sae', '1'));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-bench-video-'));

  const manifestPath = writeVitTinyManifest(work);
  const data = path.join(work, 'clips');
  fs.mkdirSync(data);
  // Source clips are twice as long as the sample: segments pick every other frame.
  for (let i = 0; i < nClips; i++) writeClip(path.join(data, `clip_${String(i).padStart(4, '0')}.mp4`), i, nFrames * 2);
  const clips = fs.readdirSync(data).sort();
  const frameTotal = nClips * nFrames;

  const manifest = loadManifest(manifestPath);
  const saePath = path.join(fixture, 'sae-topk-3072');
  // A second SAE for --sae 2: the same weights from another path (a real comparison would use a Matryoshka SAE).
  const saePaths = [saePath];
  if (nSae > 1) {
    const copy = path.join(work, 'sae-copy');
    fs.cpSync(saePath, copy, { recursive: true });
    saePaths.push(copy);
  }
  const sae = loadSae(saePath);

  // 1. Bare forward on pre-decoded frame batches.
  const backbone = await BackboneSession.open(manifest, 'block_10', provider);
  const encoders = await Promise.all(saePaths.map(() => SaeEncoderSession.create(sae, provider)));
  const per = 3 * 224 * 224;
  const allFrames: Float32Array[] = [];
  const video = { sampling: { mode: 'segments', count: nFrames } as const, maxFrames: 64 };
  for (const c of clips) allFrames.push(...(await decodeClip(data, c, video, manifest)).pixels);
  const batches: { pixels: Float32Array; n: number }[] = [];
  for (let s = 0; s < allFrames.length; s += batch) {
    const chunk = allFrames.slice(s, s + batch);
    const pixels = new Float32Array(chunk.length * per);
    chunk.forEach((p, j) => pixels.set(p, j * per));
    batches.push({ pixels, n: chunk.length });
  }
  const forward = async () => {
    const t0 = performance.now();
    for (const b of batches) {
      const { tokens } = await backbone.run(b.pixels, b.n);
      for (const e of encoders) await e.encode(tokens, b.n * 197);
    }
    return (performance.now() - t0) / 1000;
  };

  const indexer = async (round: number) => {
    let passStart = 0;
    let passEnd = 0;
    const t1 = performance.now();
    await runIndex(
      {
        model: manifestPath,
        layer: 'block_10',
        sae: saePaths[0]!,
        saes: saePaths.slice(1),
        data,
        out: path.join(work, `index-${round}`),
        kind: 'videos',
        frames: nFrames,
        batch,
        provider,
      },
      {
        onProgress: (p) => {
          if (p.phase === 'indexing' && passStart === 0) passStart = performance.now();
          if (p.phase === 'thumbnails' && passEnd === 0) passEnd = performance.now();
        },
      },
    );
    const t2 = performance.now();
    return { pass: ((passEnd || t2) - (passStart || t1)) / 1000, total: (t2 - t1) / 1000 };
  };

  await forward(); // warm-up
  const rows: { bare: number; pass: number; total: number }[] = [];
  for (let round = 0; round < rounds; round++) {
    const bareSec = await forward();
    const { pass, total } = await indexer(round);
    rows.push({ bare: frameTotal / bareSec, pass: frameTotal / pass, total: frameTotal / total });
    console.log(`round ${round + 1}: bare ${(frameTotal / bareSec).toFixed(1)} frames/s, indexer ${(frameTotal / pass).toFixed(1)} frames/s, ratio ${(bareSec / pass).toFixed(3)}`);
  }
  await backbone.close();
  for (const e of encoders) await e.close();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(
    `vit-tiny-224 + ${nSae} x SAELens TopK 3072 (k=32), ${nClips} clips x ${nFrames} frames (H.264 320x240), batch ${batch}, provider ${backbone.provider}, ${os.availableParallelism()} cores, median of ${rounds} rounds`,
  );
  console.log(`bare forward (backbone + SAE encoder): ${median(rows.map((r) => r.bare)).toFixed(1)} frames/s`);
  console.log(`indexer pass (decode + forward + stats + traces + temporal + SQLite): ${median(rows.map((r) => r.pass)).toFixed(1)} frames/s`);
  console.log(`ratio indexer / bare forward: ${median(rows.map((r) => r.pass / r.bare)).toFixed(3)}`);
  console.log(`indexer including thumbnails and strips: ${median(rows.map((r) => r.total)).toFixed(1)} frames/s`);
  fs.rmSync(work, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
