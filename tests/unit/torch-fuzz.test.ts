// Random damage to torch checkpoints must only ever end in a thrown Error with a message:
// never a hang, a crash, or an engine error (TypeError, RangeError) that would mean an
// unchecked read. Seeded, so a failure reproduces; bounded in count and time.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readSaevCheckpoint } from '../../src-main/core/sae/saev.js';
import { unpickle } from '../../src-main/core/sae/torch/pickle.js';
import { readTorchFile, resolveTorchGlobal } from '../../src-main/core/sae/torch/readTorchFile.js';
import { openZip } from '../../src-main/core/sae/torch/zipContainer.js';
import { seededRandom } from '../helpers/makeSae.js';
import { PyFloat, saevFile, tensor, torchSave, view, writeZip } from '../helpers/writeTorchZip.js';
import { repoFixture } from '../helpers/repoFixtures.js';

// Real files to damage: the repository's saev checkpoints (always present; repoFixture throws when
// one is missing), plus, as an optional extra, the shared fixtures when this checkout has them.
const REPO_SAEV_FILES = ['legacy-relu', 'schema1-bdec-topk', 'schema1-nobdec-relu', 'schema5-relu', 'schema5-topk', 'schema5-batchtopk'].map((v) =>
  repoFixture('saev', 'sae', v, 'sae.pt'),
);
const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/fixtures');
const SHARED_FILES = ['saev-legacy-relu/sae.pt', 'saev-top-k/sae.pt', 'saev-batch-top-k/sae.pt', 'dictlearn-matryoshka/ae.pt']
  .map((name) => join(FIXTURES, name))
  .filter((file) => existsSync(file));
const FIXTURE_FILES = [...REPO_SAEV_FILES, ...SHARED_FILES];

const tmp = mkdtempSync(join(tmpdir(), 'torch-fuzz-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A small state dict touching every code path: dtypes, views, scalars, Python values, nesting. */
function generatedTorchFile(options: Parameters<typeof torchSave>[1] = {}): Uint8Array {
  const W = tensor('float32', [4, 6], Array.from({ length: 24 }, (_, i) => i / 7));
  return torchSave(
    {
      W,
      Wt: view(W, [6, 4], [1, 6]),
      half: tensor('float16', [3], [1, 0.5, -2]),
      k: tensor('int64', [], [8]),
      mask: tensor('bool', [2], [1, 0]),
      meta: { lr: new PyFloat(0.5), name: 'x', steps: [1, 2, 3], big: 2 ** 40 },
    },
    options,
  );
}

type Mutation = (bytes: Uint8Array, random: () => number) => Uint8Array;

const int = (random: () => number, n: number) => Math.floor(random() * n);

const MUTATIONS: Record<string, Mutation> = {
  flipBytes: (bytes, random) => {
    const out = bytes.slice();
    const n = 1 + int(random, 8);
    for (let i = 0; i < n; i++) out[int(random, out.length)] = int(random, 256);
    return out;
  },
  truncate: (bytes, random) => bytes.slice(0, int(random, bytes.length)),
  dropFront: (bytes, random) => bytes.slice(1 + int(random, Math.min(bytes.length - 1, 200))),
  zeroRange: (bytes, random) => {
    const out = bytes.slice();
    const start = int(random, out.length);
    out.fill(0, start, start + 1 + int(random, 64));
    return out;
  },
  duplicateChunk: (bytes, random) => {
    const start = int(random, bytes.length);
    const chunk = bytes.slice(start, start + 1 + int(random, 32));
    const at = int(random, bytes.length);
    const out = new Uint8Array(bytes.length + chunk.length);
    out.set(bytes.subarray(0, at));
    out.set(chunk, at);
    out.set(bytes.subarray(at), at + chunk.length);
    return out;
  },
  maxOutInts: (bytes, random) => {
    // Large sizes, offsets and counts are what unchecked readers trip over.
    const out = bytes.slice();
    const at = int(random, out.length - 4);
    out.fill(0xff, at, at + 1 + int(random, 4));
    return out;
  },
};

interface Outcome {
  loaded: number;
  refused: number;
}

/** Run `read` on `input`; a throw must be a plain Error with a message. */
function expectLoadsOrRefuses(read: () => unknown, outcome: Outcome, describeCase: () => string): void {
  try {
    read();
    outcome.loaded++;
  } catch (error) {
    outcome.refused++;
    if (!(error instanceof Error) || error.constructor !== Error || !error.message) {
      const what = error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error);
      throw new Error(`${describeCase()} threw ${what}`, { cause: error });
    }
  }
}

function fuzz(bases: Array<[string, Uint8Array]>, cases: number, seed: number, read: (bytes: Uint8Array) => unknown): Outcome {
  const random = seededRandom(seed);
  const outcome: Outcome = { loaded: 0, refused: 0 };
  const names = Object.keys(MUTATIONS);
  for (let i = 0; i < cases; i++) {
    const [baseName, base] = bases[i % bases.length]!;
    const mutation = names[int(random, names.length)]!;
    const bytes = MUTATIONS[mutation]!(base, random);
    expectLoadsOrRefuses(() => read(bytes), outcome, () => `case ${i} (${mutation} of ${baseName}, seed ${seed})`);
  }
  return outcome;
}

describe('torch reader fuzzing', () => {
  const bases: Array<[string, Uint8Array]> = [
    ['generated', generatedTorchFile()],
    ['generated deflate', generatedTorchFile({ method: 'deflate' })],
    ['generated zip64 + prefix', generatedTorchFile({ zip64: true, prefix: new TextEncoder().encode('{"x": 1}\n') })],
    // Plain Uint8Array copies: Buffer's slice() is a view, and mutations must not leak into the bases.
    ...FIXTURE_FILES.map((file): [string, Uint8Array] => [path.basename(path.dirname(file)), new Uint8Array(readFileSync(file))]),
  ];

  it('whole files: random byte damage and truncation load or throw an Error', () => {
    const started = Date.now();
    const outcome = fuzz(bases, 400, 1234, (bytes) => readTorchFile(bytes));
    expect(outcome.loaded + outcome.refused).toBe(400);
    expect(outcome.refused).toBeGreaterThan(100);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('the same files with CRC checks off, so damage reaches the pickle and the tensors', () => {
    const outcome = fuzz(bases, 400, 99, (bytes) => readTorchFile(bytes, { verifyCrc: false }));
    expect(outcome.loaded).toBeGreaterThan(0);
    expect(outcome.refused).toBeGreaterThan(0);
  });

  it('damaged pickles re-packed into valid zips (valid CRCs) load or throw an Error', () => {
    const random = seededRandom(77);
    const outcome: Outcome = { loaded: 0, refused: 0 };
    for (const [name, base] of bases) {
      const zip = openZip(base);
      const entries = zip.entries.map((entry) => ({ name: entry.name, data: zip.read(entry.name) }));
      const pickleIndex = entries.findIndex((entry) => entry.name.endsWith('/data.pkl'));
      const names = Object.keys(MUTATIONS);
      for (let i = 0; i < 60; i++) {
        const mutation = names[int(random, names.length)]!;
        const damaged = entries.map((entry, j) => (j === pickleIndex ? { ...entry, data: MUTATIONS[mutation]!(entry.data, random) } : entry));
        expectLoadsOrRefuses(() => readTorchFile(writeZip(damaged)), outcome, () => `pickle case ${i} (${mutation} of ${name})`);
      }
    }
    expect(outcome.refused).toBeGreaterThan(0);
  });

  it('random byte strings fed straight to the unpickler throw an Error', () => {
    const random = seededRandom(5);
    const outcome: Outcome = { loaded: 0, refused: 0 };
    for (let i = 0; i < 300; i++) {
      const bytes = Uint8Array.from({ length: 1 + int(random, 64) }, () => int(random, 256));
      if (i % 2 === 0) bytes[0] = 0x80; // start like a real pickle half of the time
      expectLoadsOrRefuses(() => unpickle(bytes, { resolveGlobal: resolveTorchGlobal }), outcome, () => `random pickle ${i}`);
    }
    expect(outcome.refused).toBeGreaterThan(250);
  });

  it('saev files with a damaged header or body load or throw an Error', () => {
    const random = seededRandom(2024);
    const header = { schema: 5, cfg: { d_model: 4, d_sae: 6, activation: { cls: 'TopK', params: { top_k: 2 } } } };
    const state = {
      W_enc: tensor('float32', [4, 6], new Float32Array(24).fill(0.5)),
      b_enc: tensor('float32', [6], new Float32Array(6)),
      W_dec: tensor('float32', [6, 4], new Float32Array(24).fill(0.25)),
      b_dec: tensor('float32', [4], new Float32Array(4)),
    };
    const bases = [saevFile(header, state), ...FIXTURE_FILES.filter((file) => file.endsWith('sae.pt')).map((file) => new Uint8Array(readFileSync(file)))];
    const file = join(tmp, 'sae.pt');
    const outcome: Outcome = { loaded: 0, refused: 0 };
    const names = Object.keys(MUTATIONS);
    for (let i = 0; i < 120; i++) {
      const mutation = names[int(random, names.length)]!;
      // Half the cases aim at the header line, where JSON and schema handling live.
      const base = bases[i % bases.length]!;
      const headerEnd = base.indexOf(0x0a);
      const target = i % 2 === 0 ? base.subarray(0, headerEnd) : base;
      const damaged = MUTATIONS[mutation]!(target, random);
      const bytes = i % 2 === 0 ? concat(damaged, base.subarray(headerEnd)) : damaged;
      writeFileSync(file, bytes);
      expectLoadsOrRefuses(() => readSaevCheckpoint(file), outcome, () => `saev case ${i} (${mutation})`);
    }
    expect(outcome.refused).toBeGreaterThan(0);
  });
});

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
