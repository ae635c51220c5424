import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSae } from '../../src-main/core/sae/loadSae.js';
import type { CliDeps } from '../../src-main/hosts/cli/context.js';
import { runCli } from '../../src-main/hosts/cli/program.js';
import { makeImageFolder } from '../helpers/makeImageFolder.js';
import { makeTinyVit, type TinyVit } from '../helpers/makeTinyVit.js';

function harness() {
  let out = '';
  let err = '';
  let interrupt: (() => void) | null = null;
  let t = 0;
  const deps: CliDeps = {
    createBackend: () => Promise.reject(new Error('train needs no backend')),
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    env: {},
    onInterrupt: (h) => { interrupt = h; return () => (interrupt = null); },
    now: () => (t += 10),
    projectRoot: process.cwd(),
    buildRenderer: () => Promise.resolve(),
  };
  return { deps, out: () => out, err: () => err, interrupt: () => interrupt?.() };
}

const work = mkdtempSync(path.join(os.tmpdir(), 'cli-train-'));
let vit: TinyVit;
let data: string;
beforeAll(async () => {
  vit = await makeTinyVit({ dir: path.join(work, 'vit'), imageSize: 32, patchSize: 8, dModel: 16, cls: true, seed: 3 });
  data = (await makeImageFolder(path.join(work, 'data'), { perLabel: 4 })).dir;
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const args = (out: string, extra: string[]) => [
  'train', '--model', vit.manifestPath, '--layer', 'block_1', '--data', data, '--out', out, '--width', '32', '--k', '4',
  '--batch', '64', '--provider', 'cpu', ...extra,
];

describe('studio train', () => {
  it('trains a TopK SAE on backbone patches, prints progress and writes a loadable SAELens folder', async () => {
    const h = harness();
    const out = path.join(work, 'topk');
    expect(await runCli(args(out, ['--steps', '60', '--seed', '1']), h.deps)).toBe(0);
    expect(h.err()).toMatch(/step 60\/60 +loss [\d.]+ +FVU [\d.]+ +L0 4\.0 +dead \d+/);
    expect(h.out()).toMatch(/Trained 60 steps/);
    const sae = loadSae(out);
    expect(sae.format).toBe('saelens');
    expect([sae.dIn, sae.dSae, sae.k]).toEqual([16, 32, 4]);
    expect(sae.hookName).toBe('block_1');
    const fvu = Number(/FVU ([\d.]+)/.exec(h.out())![1]);
    expect(fvu).toBeLessThan(0.5);
  });

  it('trains a Matryoshka SAE and records its groups', async () => {
    const h = harness();
    const out = path.join(work, 'matryoshka');
    expect(await runCli(args(out, ['--arch', 'matryoshka', '--groups', '8,16,32', '--steps', '20']), h.deps)).toBe(0);
    const sidecar = JSON.parse(readFileSync(path.join(out, 'sae.json'), 'utf8'));
    expect(sidecar.groups).toEqual([8, 16, 32]);
    expect(loadSae(path.join(out, 'sae.safetensors')).groups).toEqual([8, 16, 32]);
  });

  it('Ctrl-C stops training and still writes the SAE (exit 130)', async () => {
    const h = harness();
    const out = path.join(work, 'interrupted');
    const running = runCli(args(out, ['--arch', 'batchtopk', '--steps', '100000']), h.deps);
    await new Promise((r) => setTimeout(r, 1500));
    h.interrupt();
    expect(await running).toBe(130);
    expect(h.out()).toMatch(/Interrupted after \d+ steps/);
    expect(existsSync(path.join(out, 'sae.safetensors'))).toBe(true);
    expect(loadSae(path.join(out, 'sae.safetensors')).architecture).toBe('batchtopk');
  });

  it('rejects bad groups', async () => {
    const h = harness();
    expect(await runCli(args(path.join(work, 'bad'), ['--arch', 'matryoshka', '--groups', '8,x']), h.deps)).toBe(1);
    expect(h.err()).toMatch(/--groups/);
  });
});
