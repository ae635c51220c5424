// Issue 18 item 7: weights full of NaN (or read as the wrong type) indexed silently, ending in
// "160 features (160 dead)" with exit 0. Non-finite weights are now refused at load, naming the
// tensor; an index in which every feature is dead finishes with a warning naming likely causes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSae } from '../../src-main/core/sae/loadSae.js';
import { writeSafetensors, type Float32Tensor } from '../../src-main/core/sae/safetensors.js';
import { runIndex } from '../../src-main/core/indexer/runIndex.js';
import { IndexReader } from '../../src-main/core/store/indexReader.js';
import { createStudioService } from '../../src-main/core/service.js';
import { runCli } from '../../src-main/hosts/cli/program.js';
import type { CliDeps } from '../../src-main/hosts/cli/context.js';
import { makeSaeWeights } from '../helpers/makeSae.js';
import { makeTinyVit, type TinyVit } from '../helpers/makeTinyVit.js';
import { makeImageFolder } from '../helpers/makeImageFolder.js';

const D_IN = 16;
const D_SAE = 24;

/** A bare safetensors JumpReLU SAE (so it has a threshold tensor), after `edit` changed its tensors. */
function writeSae(dir: string, name: string, edit: (t: Record<string, Float32Tensor>) => void, architecture = 'jumprelu'): string {
  const { weights, threshold } = makeSaeWeights({ dIn: D_IN, dSae: D_SAE, architecture: architecture as 'jumprelu', seed: 5 });
  const tensors: Record<string, Float32Tensor> = {
    W_enc: { shape: [D_IN, D_SAE], data: weights.W_enc },
    b_enc: { shape: [D_SAE], data: weights.b_enc },
    W_dec: { shape: [D_SAE, D_IN], data: weights.W_dec },
    b_dec: { shape: [D_IN], data: weights.b_dec },
  };
  if (threshold) tensors.threshold = { shape: [D_SAE], data: threshold };
  edit(tensors);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.safetensors`);
  writeSafetensors(file, tensors);
  fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify({ architecture }));
  return file;
}

let work: string;
let vit: TinyVit;
let data: string;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-nonfinite-'));
  vit = await makeTinyVit({ dir: path.join(work, 'vit'), imageSize: 32, patchSize: 8, dModel: D_IN, cls: true, registers: 0, seed: 7 });
  data = (await makeImageFolder(path.join(work, 'data'), { perLabel: 2 })).dir;
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('non-finite SAE weights', () => {
  for (const tensor of ['W_enc', 'b_enc', 'W_dec', 'b_dec', 'threshold']) {
    it(`a NaN in ${tensor} is refused at load, naming ${tensor}`, () => {
      const file = writeSae(path.join(work, `nan-${tensor}`), 'sae', (t) => {
        t[tensor]!.data[3] = NaN;
        t[tensor]!.data[4] = NaN;
      });
      expect(() => loadSae(file)).toThrow(new RegExp(`: ${tensor} holds 2 non-finite values of \\d+ \\(first at element 3: NaN\\)`));
    });
  }

  it('infinities count too, and the message points at a wrong dtype', () => {
    const file = writeSae(path.join(work, 'inf'), 'sae', (t) => {
      t.W_dec!.data[0] = -Infinity;
    });
    expect(() => loadSae(file)).toThrow(/W_dec holds 1 non-finite value .*-Infinity.*wrong type/s);
  });

  it('weights entirely NaN (as a misread file gives) are refused before indexing starts', async () => {
    const file = writeSae(path.join(work, 'all-nan'), 'sae', (t) => {
      for (const k of Object.keys(t)) t[k]!.data.fill(NaN);
    });
    const out = path.join(work, 'nan-index');
    await expect(runIndex({ model: vit.manifestPath, layer: 'block_0', sae: file, data, out, topK: 2, provider: 'cpu' })).rejects.toThrow(/W_enc holds 384 non-finite/);
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('an index whose every feature is dead', () => {
  it('finishes, but the summary and the CLI output warn, naming likely causes', async () => {
    // Encoder biases far below anything x W_enc reaches: no feature ever fires.
    const dead = writeSae(path.join(work, 'dead'), 'sae', (t) => t.b_enc!.data.fill(-1e4), 'relu');
    const out = path.join(work, 'dead-index');
    const out2: string[] = [];
    const err: string[] = [];
    const deps: CliDeps = {
      createBackend: (o) => createStudioService({ ...o, settingsDir: path.join(work, 'settings') }),
      stdout: { write: (t: string) => out2.push(t) },
      stderr: { write: (t: string) => err.push(t) },
      env: {},
      onInterrupt: () => () => undefined,
      now: () => 0,
      projectRoot: work,
      buildRenderer: async () => undefined,
      openUrl: async () => 'disabled' as const,
    };
    const args = ['index', '--model', vit.manifestPath, '--layer', 'block_0', '--sae', dead, '--data', data, '--out', out, '--provider', 'cpu'];
    expect(await runCli(args, deps)).toBe(0);
    expect(out2.join('')).toContain(`${D_SAE} features (${D_SAE} dead`);
    const warning = err.join('').split('\n').find((l) => l.startsWith('warning: '));
    expect(warning).toMatch(/every one of the 24 features is dead/);
    expect(warning).toMatch(/wrong layer/);
    expect(warning).toMatch(/normalisation/);
    expect(warning).toMatch(/weights read wrongly/);

    // The summary the UI shows carries it too.
    const r = IndexReader.open('d', out);
    try {
      expect(r.summary().warnings).toEqual([expect.stringMatching(/every one of the 24 features is dead/)]);
    } finally {
      r.close();
    }
  }, 60_000);

  it('a healthy index has no warnings', async () => {
    const ok = writeSae(path.join(work, 'ok'), 'sae', () => {}, 'relu');
    const out = path.join(work, 'ok-index');
    await runIndex({ model: vit.manifestPath, layer: 'block_0', sae: ok, data, out, topK: 2, provider: 'cpu' });
    const r = IndexReader.open('o', out);
    try {
      expect(r.summary().dead).toBeLessThan(D_SAE);
      expect(r.summary().warnings).toBeUndefined();
    } finally {
      r.close();
    }
  });
});
