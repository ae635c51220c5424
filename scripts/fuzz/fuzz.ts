// Reliability fuzzer: `npm run fuzz -- --count N [--seed S] [--format F] [--timeout MS] [--max-rss MB]`.
//
// Mutates valid seeds of every format the studio reads (the repository's committed fixtures and
// files written by the test helpers) and runs the studio's own reader on each mutant in a child
// process (worker.ts), under a time limit and an RSS watch. Outcomes are counted by kind:
//   ok, one-line-error, multi-line-error   acceptable (a multi-line error is counted, not failed)
//   engine-error                           a TypeError/RangeError escaped: an unchecked value
//   crash                                  the reader process died (native crash, uncaught)
//   hang                                   no answer within the time limit
//   oom                                    RSS went past the limit
// and the run exits 1 if any of the last four happened. Seeded and deterministic: the same
// --seed and --count give the same inputs, so a failure reproduces with its printed case.
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../../src-main/core/util/prng.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');

export const FORMATS = ['saev', 'saelens', 'dictlearn', 'safetensors', 'manifest', 'onnx', 'image', 'shards', 'tags-csv', 'tags-json'] as const;
export type Format = (typeof FORMATS)[number];
export const BAD_OUTCOMES = ['engine-error', 'crash', 'hang', 'oom'] as const;
export type Outcome = 'ok' | 'one-line-error' | 'multi-line-error' | (typeof BAD_OUTCOMES)[number];

/** A seed: a file, or a folder of which one file (`mutable`) is damaged per case. */
interface Seed {
  name: string;
  path: string;
  mutable: string[];
}

// ------------------------------------------------------------------------------------------
// Mutations: byte-level damage that reaches headers, lengths, offsets and payloads.

type Mutation = (bytes: Uint8Array, random: () => number) => Uint8Array;
const int = (random: () => number, n: number) => Math.floor(random() * Math.max(1, n));
const MUTATIONS: Record<string, Mutation> = {
  flipBytes: (b, r) => {
    const out = b.slice();
    for (let n = 1 + int(r, 8); n > 0 && out.length; n--) out[int(r, out.length)] = int(r, 256);
    return out;
  },
  truncate: (b, r) => b.slice(0, int(r, b.length)),
  dropFront: (b, r) => b.slice(1 + int(r, Math.min(b.length - 1, 200))),
  zeroRange: (b, r) => {
    const out = b.slice();
    const s = int(r, out.length);
    out.fill(0, s, s + 1 + int(r, 64));
    return out;
  },
  maxOutInts: (b, r) => {
    const out = b.slice();
    const at = int(r, out.length - 4);
    out.fill(0xff, at, at + 1 + int(r, 8));
    return out;
  },
  duplicateChunk: (b, r) => {
    const s = int(r, b.length);
    const chunk = b.slice(s, s + 1 + int(r, 64));
    const at = int(r, b.length);
    const out = new Uint8Array(b.length + chunk.length);
    out.set(b.subarray(0, at));
    out.set(chunk, at);
    out.set(b.subarray(at), at + chunk.length);
    return out;
  },
  // Text formats: swap digits for huge or negative numbers, which schema checks must catch.
  bigNumbers: (b, r) => {
    const text = new TextDecoder().decode(b);
    const swaps = ['999999999999', '-1', '0', '1e308', '4096.5', 'null', '"x"', '[]'];
    let n = 0;
    return new TextEncoder().encode(text.replace(/\d+/g, (m) => (int(r, 4) === 0 && n++ < 4 ? swaps[int(r, swaps.length)]! : m)));
  },
};
const MUTATION_NAMES = Object.keys(MUTATIONS);

// ------------------------------------------------------------------------------------------
// Seeds.

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name).sort();
}

async function buildSeeds(dir: string): Promise<Record<Format, Seed[]>> {
  const fx = (...p: string[]) => path.join(ROOT, 'tests/fixtures', ...p);
  const folders = (base: string, names?: string[]) =>
    (names ?? fs.readdirSync(base).sort())
      .map((n) => path.join(base, n))
      .filter((p) => fs.statSync(p).isDirectory() && listFiles(p).length > 0)
      .map((p) => ({ name: path.basename(p), path: p, mutable: listFiles(p) }));
  const { makeSae } = await import('../../tests/helpers/makeSae.js');
  const { makeTinyVit } = await import('../../tests/helpers/makeTinyVit.js');
  const { makeImageFolder } = await import('../../tests/helpers/makeImageFolder.js');
  const { writeSaevShards } = await import('../../tests/helpers/writeSaevShards.js');

  const bare = makeSae(path.join(dir, 'bare'), { dIn: 8, dSae: 16, architecture: 'topk', k: 4, seed: 1, format: 'safetensors' });
  const vit = await makeTinyVit({ dir: path.join(dir, 'vit'), imageSize: 32, patchSize: 16, dModel: 8, cls: true, seed: 2 });
  const images = await makeImageFolder(path.join(dir, 'images'), { labels: ['a', 'b'], perLabel: 2, width: 40, height: 36, seed: 3 });
  const shardDir = path.join(dir, 'shards');
  await writeSaevShards({ manifestPath: vit.manifestPath, layers: ['block_0'], images: images.dir, out: shardDir, examplesPerShard: 2 });
  const tagsCsv = path.join(dir, 'tags.csv');
  fs.writeFileSync(tagsCsv, 'feature,category,tags,note,author,time,reviewed\n3,object,dog;fur,"a, note",me,2026-01-01T00:00:00Z,true\n7,,sky,,,,\n');
  const tagsJson = path.join(dir, 'tags.json');
  fs.writeFileSync(
    tagsJson,
    JSON.stringify({ format: 'feature-studio-tags', version: 1, sae: { name: 'x', dSae: 16 }, features: [{ feature: 3, category: 'object', tags: ['dog'], note: 'n' }] }),
  );
  const saevDir = fx('saev', 'sae');
  return {
    saev: fs.readdirSync(saevDir).sort().map((v) => ({ name: v, path: path.join(saevDir, v, 'sae.pt'), mutable: [] })),
    saelens: folders(fx('saelens')),
    dictlearn: folders(fx('dictlearn')),
    safetensors: [{ name: 'bare', path: bare, mutable: [] }],
    manifest: [{ name: 'tiny-vit', path: vit.manifestPath, mutable: [] }],
    onnx: [
      { name: 'postnorm-opset13', path: fx('backbones', 'postnorm-opset13', 'model.onnx'), mutable: [] },
      { name: 'tiny-vit', path: path.join(path.dirname(vit.manifestPath), 'model.onnx'), mutable: [] },
    ],
    image: images.files.map((f) => ({ name: path.basename(f), path: path.isAbsolute(f) ? f : path.join(images.dir, f), mutable: [] })),
    shards: [{ name: 'tiny', path: shardDir, mutable: listFiles(shardDir).filter((f) => f.endsWith('.json')) }],
    'tags-csv': [{ name: 'tags.csv', path: tagsCsv, mutable: [] }],
    'tags-json': [{ name: 'tags.json', path: tagsJson, mutable: [] }],
  };
}

/** Writes one mutant of `seed` under `dir` and returns what the reader should be given. */
function writeMutant(seed: Seed, dir: string, random: () => number): { target: string; what: string } {
  const mutation = MUTATION_NAMES[int(random, MUTATION_NAMES.length)]!;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  if (seed.mutable.length === 0) {
    const target = path.join(dir, path.basename(seed.path));
    fs.writeFileSync(target, MUTATIONS[mutation]!(new Uint8Array(fs.readFileSync(seed.path)), random));
    // A manifest names its model relative to itself: keep the model reachable.
    if (seed.path.endsWith('.json') && fs.existsSync(path.join(path.dirname(seed.path), 'model.onnx'))) {
      fs.symlinkSync(path.join(path.dirname(seed.path), 'model.onnx'), path.join(dir, 'model.onnx'));
    }
    return { target, what: `${mutation} of ${seed.name}` };
  }
  const victim = seed.mutable[int(random, seed.mutable.length)]!;
  for (const f of listFiles(seed.path)) {
    if (f === victim) fs.writeFileSync(path.join(dir, f), MUTATIONS[mutation]!(new Uint8Array(fs.readFileSync(path.join(seed.path, f))), random));
    else fs.symlinkSync(path.join(seed.path, f), path.join(dir, f));
  }
  return { target: dir, what: `${mutation} of ${seed.name}/${victim}` };
}

// ------------------------------------------------------------------------------------------
// The reader process, its time limit and its memory watch.

class Runner {
  private child: ChildProcess | null = null;
  constructor(
    private readonly timeoutMs: number,
    private readonly maxRssBytes: number,
  ) {}

  private async start(): Promise<ChildProcess> {
    const child = fork(path.join(HERE, 'worker.ts'), [], {
      execArgv: ['--import', 'tsx', `--max-old-space-size=${Math.ceil(this.maxRssBytes / 2 ** 20)}`],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    child.stderr!.on('data', () => {}); // drained; a clean reader prints nothing
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`fuzz worker exited (${code}) before it was ready`)));
    });
    return child;
  }

  async run(format: Format, target: string): Promise<{ kind: Outcome; message?: string }> {
    this.child ??= await this.start();
    const child = this.child;
    return new Promise((resolve) => {
      let done = false;
      const finish = (result: { kind: Outcome; message?: string }, kill: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearInterval(watch);
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (kill) {
          child.kill('SIGKILL');
          this.child = null;
        }
        resolve(result);
      };
      const onMessage = (m: { kind: Outcome; message?: string }) => finish(m.kind === ('engine-error' as Outcome) ? m : m, false);
      const onExit = (code: number | null, signal: string | null) => {
        this.child = null;
        finish({ kind: code === 134 || signal === 'SIGABRT' ? 'oom' : 'crash', message: `exit ${code} ${signal ?? ''}` }, false);
      };
      const timer = setTimeout(() => finish({ kind: 'hang', message: `no answer in ${this.timeoutMs} ms` }, true), this.timeoutMs);
      // Buffers live outside the V8 heap, so the heap limit alone does not bound memory.
      const watch = setInterval(() => {
        const rss = residentBytes(child.pid!);
        if (rss > this.maxRssBytes) finish({ kind: 'oom', message: `RSS ${Math.round(rss / 2 ** 20)} MiB` }, true);
      }, 25);
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send({ id: 0, format, target });
    });
  }

  close(): void {
    this.child?.kill();
    this.child = null;
  }
}

function residentBytes(pid: number): number {
  try {
    const statm = fs.readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ');
    return Number(statm[1]) * 4096;
  } catch {
    return 0; // not Linux, or already gone
  }
}

// ------------------------------------------------------------------------------------------

export interface FuzzOptions {
  count: number;
  seed: number;
  formats: readonly Format[];
  timeoutMs?: number;
  maxRssMB?: number;
  log?: (line: string) => void;
}

export interface FuzzReport {
  counts: Record<Format, Record<Outcome, number>>;
  failures: string[];
  ms: number;
}

export async function fuzz(options: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const log = options.log ?? (() => {});
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-fuzz-'));
  const runner = new Runner(options.timeoutMs ?? 10_000, (options.maxRssMB ?? 1024) * 2 ** 20);
  const counts = {} as FuzzReport['counts'];
  const failures: string[] = [];
  try {
    const seeds = await buildSeeds(path.join(work, 'seeds'));
    for (const format of options.formats) {
      const tally = (counts[format] = { ok: 0, 'one-line-error': 0, 'multi-line-error': 0, 'engine-error': 0, crash: 0, hang: 0, oom: 0 });
      // One stream per format, so --format F reproduces the same cases as a full run.
      const random = mulberry32(options.seed ^ (FORMATS.indexOf(format) * 0x9e3779b1));
      const list = seeds[format];
      for (let i = 0; i < options.count; i++) {
        const seed = list[int(random, list.length)]!;
        const { target, what } = writeMutant(seed, path.join(work, 'case'), random);
        const result = await runner.run(format, target);
        tally[result.kind]++;
        if ((BAD_OUTCOMES as readonly string[]).includes(result.kind)) {
          failures.push(`${format} case ${i} (${what}, seed ${options.seed}): ${result.kind}: ${result.message ?? ''}`);
        }
      }
      log(`${format.padEnd(12)} ${Object.entries(tally).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    }
  } finally {
    runner.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
  return { counts, failures, ms: Date.now() - started };
}

function parseArgs(argv: string[]): FuzzOptions {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const format = get('format');
  if (format && !(FORMATS as readonly string[]).includes(format)) throw new Error(`--format must be one of ${FORMATS.join(', ')}`);
  return {
    count: Number(get('count') ?? 100),
    seed: Number(get('seed') ?? 1),
    formats: format ? [format as Format] : FORMATS,
    timeoutMs: Number(get('timeout') ?? 10_000),
    maxRssMB: Number(get('max-rss') ?? 1024),
    log: (line) => console.log(line),
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const options = parseArgs(process.argv.slice(2));
  const report = await fuzz(options);
  for (const f of report.failures.slice(0, 50)) console.log(`FAIL ${f}`);
  console.log(`${options.count} inputs per format, seed ${options.seed}, ${(report.ms / 1000).toFixed(1)} s; ${report.failures.length} crash/hang/oom/engine errors`);
  process.exit(report.failures.length > 0 ? 1 : 0);
}
