// Benchmark (not a test): thumbnails written by the build ('eager') against thumbnails made when
// first shown ('on-demand', the default for image indexes).
//
//   npm run bench:thumbnails [-- --images 512 --batch 16 --provider cpu --page 24]
//
// Builds the same index twice from the same photo-sized JPEGs (ViT-Ti/16 224 from
// ../shared/fixtures/vit-tiny-224 and its 3072-feature TopK SAE), once per mode, and prints build
// time, thumbnail files and bytes, the index size on disk, and their ratios. Then serves the
// on-demand index through the real web host and times, per thumbnail: the first request (made from
// the dataset image), the same request again (served from the cache), and a feature page's worth of
// thumbnails asked for at once (as the exemplar grid does).
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { ProviderChoice } from '../src-main/contract/index.js';
import { runIndex } from '../src-main/core/indexer/runIndex.js';
import { createStudioService } from '../src-main/core/service.js';
import { IndexReader } from '../src-main/core/store/indexReader.js';
import { startWebHost, type WebHost } from '../src-main/hosts/web/webHost.js';
import { requireSharedVitTiny, SHARED_VIT_TINY, writeVitTinyManifest } from './lib/sharedVitTiny.js';
import { arg } from './lib/benchArgs.js';

const fixture = SHARED_VIT_TINY;

/** Bytes of every file below `dir`. */
function du(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? du(p) : fs.statSync(p).size;
  }
  return total;
}

const cpuSeconds = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;
const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)]!;

function get(host: WebHost, rawPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: host.port, path: rawPath, headers: { 'X-Studio-Token': host.token } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });
}

async function main() {
  requireSharedVitTiny('bench:thumbnails');
  const nImages = Number(arg('images', '512'));
  const batch = Number(arg('batch', '16'));
  const provider = arg('provider', 'cpu') as ProviderChoice;
  const pageSize = Number(arg('page', '24'));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-bench-thumbs-'));
  const manifestPath = writeVitTinyManifest(work);

  // ImageNet-like JPEGs: 500x375 or 375x500, smooth structure plus fine texture, quality 90.
  const data = path.join(work, 'images');
  fs.mkdirSync(data);
  for (let i = 0; i < nImages; i++) {
    const [W, H] = i % 3 === 0 ? [375, 500] : [500, 375];
    const small = Buffer.alloc(12 * 9 * 3);
    for (let j = 0; j < small.length; j++) small[j] = (i * 131 + j * 71 + ((i * j) % 97)) % 256;
    const base = await sharp(small, { raw: { width: 12, height: 9, channels: 3 } }).resize(W, H, { fit: 'fill', kernel: 'cubic' }).raw().toBuffer();
    for (let j = 0; j < base.length; j++) base[j] = Math.max(0, Math.min(255, base[j]! + ((j * 2654435761 + i) % 23) - 11));
    await sharp(base, { raw: { width: W, height: H, channels: 3 } })
      .jpeg({ quality: 90 })
      .toFile(path.join(data, `img_${String(i).padStart(5, '0')}.jpg`));
  }

  const sae = path.join(fixture, 'sae-topk-3072');
  const build = async (mode: 'eager' | 'on-demand') => {
    const out = path.join(work, mode);
    let thumbStart = 0;
    let thumbCpuStart: NodeJS.CpuUsage | null = null;
    const t0 = performance.now();
    await runIndex(
      { model: manifestPath, layer: 'block_10', sae, data, out, batch, provider, thumbnails: mode },
      {
        onProgress: (p) => {
          if (p.phase !== 'thumbnails' || thumbStart !== 0) return;
          thumbStart = performance.now();
          thumbCpuStart = process.cpuUsage();
        },
      },
    );
    const t1 = performance.now();
    // CPU of this process (libvips threads included) in the thumbnail phase: less load-dependent than its wall time.
    const thumbCpu = thumbCpuStart ? cpuSeconds(process.cpuUsage(thumbCpuStart)) : 0;
    const thumbs = fs.readdirSync(path.join(out, 'thumbs')).filter((f) => f.endsWith('.webp'));
    return {
      out,
      seconds: (t1 - t0) / 1000,
      thumbSeconds: thumbStart ? (t1 - thumbStart) / 1000 : 0,
      thumbCpu,
      thumbs: thumbs.length,
      thumbBytes: du(path.join(out, 'thumbs')),
      bytes: du(out),
    };
  };
  // On-demand first, so the eager build does not benefit from a warmer page cache alone.
  const onDemand = await build('on-demand');
  const eager = await build('eager');

  console.log(`vit-tiny-224 + TopK 3072, ${nImages} JPEGs (500x375), batch ${batch}, provider ${provider}, ${os.availableParallelism()} cores`);
  console.log('mode       build s  thumbnail phase s  thumbnails  thumbnail bytes  index on disk');
  for (const [name, r] of [['eager', eager], ['on-demand', onDemand]] as const) {
    console.log(
      `${name.padEnd(10)} ${r.seconds.toFixed(1).padStart(7)}  ${r.thumbSeconds.toFixed(1).padStart(17)}  ${String(r.thumbs).padStart(10)}  ${mb(r.thumbBytes).padStart(15)}  ${mb(r.bytes).padStart(13)}`,
    );
  }
  console.log(
    `eager / on-demand: build time x${(eager.seconds / onDemand.seconds).toFixed(2)}, disk x${(eager.bytes / onDemand.bytes).toFixed(2)} ` +
      `(${(eager.thumbs / nImages * 100).toFixed(0)}% of items got a thumbnail, ${(eager.thumbBytes / Math.max(1, eager.thumbs) / 1000).toFixed(1)} KB each, ` +
      `${((eager.thumbCpu / Math.max(1, eager.thumbs)) * 1000).toFixed(1)} CPU ms each)`,
  );

  // First view vs cached, through the real web host.
  const renderer = path.join(work, 'renderer');
  fs.mkdirSync(renderer);
  fs.writeFileSync(path.join(renderer, 'index.html'), '<!doctype html>');
  const service = await createStudioService({ settingsDir: path.join(work, 'settings'), host: 'web' });
  const host = await startWebHost({ backend: service, port: 0, rendererDir: renderer });
  try {
    const id = (await service.openIndex({ path: onDemand.out })).id;
    const reader = IndexReader.open('bench', onDemand.out);
    const exemplars = fs.readdirSync(path.join(eager.out, 'thumbs')).filter((f) => f.endsWith('.webp'));
    reader.close();
    const url = (f: string) => `/thumb/${encodeURIComponent(id)}/${f}`;
    const singles = exemplars.slice(0, 64);
    const first: number[] = [];
    const cached: number[] = [];
    const cpu0 = process.cpuUsage();
    for (const f of singles) {
      let t = performance.now();
      if ((await get(host, url(f))) !== 200) throw new Error(`no thumbnail for ${f}`);
      first.push(performance.now() - t);
      t = performance.now();
      await get(host, url(f));
      cached.push(performance.now() - t);
    }
    const cpuEach = (cpuSeconds(process.cpuUsage(cpu0)) / singles.length) * 1000;
    console.log(
      `one thumbnail, first view (made on demand): median ${median(first).toFixed(1)} ms, p90 ${p90(first).toFixed(1)} ms; ` +
        `cached: median ${median(cached).toFixed(2)} ms, p90 ${p90(cached).toFixed(2)} ms (x${(median(first) / median(cached)).toFixed(0)}); ` +
        `CPU per thumbnail, first view and cached request together: ${cpuEach.toFixed(1)} ms`,
    );
    const pages = [];
    for (let s = singles.length; s + pageSize <= exemplars.length && pages.length < 5; s += pageSize) pages.push(exemplars.slice(s, s + pageSize));
    const pageFirst: number[] = [];
    const pageCached: number[] = [];
    for (const page of pages) {
      let t = performance.now();
      await Promise.all(page.map((f) => get(host, url(f))));
      pageFirst.push(performance.now() - t);
      t = performance.now();
      await Promise.all(page.map((f) => get(host, url(f))));
      pageCached.push(performance.now() - t);
    }
    if (pages.length > 0) {
      console.log(
        `a page of ${pageSize} thumbnails at once (${pages.length} pages): first view median ${median(pageFirst).toFixed(0)} ms, cached ${median(pageCached).toFixed(1)} ms`,
      );
    }
  } finally {
    await host.close();
    await service.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
