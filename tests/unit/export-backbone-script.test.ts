// scripts/export_backbone.py run for real, on tiny random-init Hugging Face models of every
// family it names (scripts/fixtures/hf_tiny.py builds them; no hub): export -> studio
// inspect-model -> manifest -> BackboneSession against PyTorch's hidden state -> studio index on
// a few generated images (clips for VideoMAE). Needs python3 with torch and transformers: skips
// saying so elsewhere, but fails under CI=true, where .ci/run installs them.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackboneSession } from '../../src-main/core/backbone/backboneSession.js';
import { VideoBackboneSession } from '../../src-main/core/backbone/videoBackboneSession.js';
import { loadManifest } from '../../src-main/core/backbone/manifest.js';
import type { CliDeps } from '../../src-main/hosts/cli/context.js';
import { processCliDeps } from '../../src-main/hosts/cli/processDeps.js';
import { runCli } from '../../src-main/hosts/cli/program.js';
import { maxAbsDiff, readF32 } from '../helpers/backboneFixtures.js';
import { makeClip } from '../helpers/makeClip.js';
import { makeImageFolder } from '../helpers/makeImageFolder.js';
import { makeSae } from '../helpers/makeSae.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PYTHON = process.env.PYTHON ?? 'python3';

function pythonHas(modules: string): { ok: boolean; why: string } {
  const r = spawnSync(PYTHON, ['-c', `import ${modules}`], { encoding: 'utf8', timeout: 120_000 });
  if (r.error) return { ok: false, why: `${PYTHON} did not run (${r.error.message})` };
  return r.status === 0 ? { ok: true, why: '' } : { ok: false, why: r.stderr.trim().split('\n').pop() ?? `exit ${r.status}` };
}

const torch = pythonHas('torch, transformers, safetensors, numpy');
const ON_CI = process.env.CI === 'true';
if (!torch.ok && !ON_CI) console.warn(`export-backbone-script: skipped, ${PYTHON} lacks torch/transformers (${torch.why}); .ci/run installs them`);
// The script's own onnxruntime check runs too where Python has onnxruntime.
const pythonOrt = torch.ok && pythonHas('onnxruntime').ok;

/** One Python process; resolves with its output, rejects with it on a non-zero exit. */
function python(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (out += b));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${PYTHON} ${args.join(' ')} exited ${code}:\n${out.slice(-3000)}`))));
  });
}

function cli(work: string) {
  const out: string[] = [];
  const err: string[] = [];
  const deps: CliDeps = {
    ...processCliDeps(),
    stdout: { write: (t: string) => out.push(t) },
    stderr: { write: (t: string) => err.push(t) },
    env: { ...process.env, STUDIO_SETTINGS_DIR: path.join(work, 'settings') },
    onInterrupt: () => () => {},
  };
  return { deps, stdout: () => out.join(''), stderr: () => err.join('') };
}

// Mirrors hf_tiny.py's CONFIGS and SIZES: blocks, export size, tokens of a block output.
const FAMILIES = [
  { key: 'clip-vit-b16', depth: 3, size: 64, tokens: 17, family: 'clip' },
  { key: 'siglip-vit-b16', depth: 2, size: 64, tokens: 16, family: 'siglip' },
  { key: 'dinov2-vit-s14', depth: 2, size: 56, tokens: 17, family: 'dinov2' },
  { key: 'dinov2-vit-s14-reg', depth: 3, size: 56, tokens: 21, family: 'dinov2' },
  { key: 'videomae-vit-b', depth: 2, size: 32, tokens: 8, family: 'videomae', frames: 4 },
] as const;

describe.skipIf(!torch.ok && !ON_CI)('scripts/export_backbone.py, run for real on random-init models', () => {
  let work: string;
  let images: string;
  let clips: string;
  let sae: string;

  beforeAll(async () => {
    if (!torch.ok) throw new Error(`CI=true but ${PYTHON} lacks torch/transformers (${torch.why}): .ci/run should have installed them`);
    work = await mkdtemp(path.join(os.tmpdir(), 'export-script-'));
    await python(['scripts/fixtures/hf_tiny.py', path.join(work, 'hf'), '--batch', '2']);
    images = (await makeImageFolder(path.join(work, 'images'), { labels: ['a', 'b'], perLabel: 2, width: 70, height: 60, seed: 3 })).dir;
    clips = path.join(work, 'clips');
    for (const [label, n] of [['a', 6], ['b', 9]] as const) makeClip(path.join(clips, label, `clip${n}.mkv`), { frames: n, width: 40, height: 36, codec: 'ffv1' });
    sae = makeSae(path.join(work, 'sae'), { dIn: 32, dSae: 64, architecture: 'topk', k: 4, seed: 5 });
  }, 240_000);
  afterAll(() => (work ? rm(work, { recursive: true, force: true }) : undefined));

  for (const f of FAMILIES) {
    it(`${f.key}: export, inspect-model, manifest, PyTorch's hidden state, studio index`, async () => {
      const hf = path.join(work, 'hf', f.key);
      const out = path.join(work, 'export', f.key);
      const block = f.depth - 2;
      const log = await python([
        'scripts/export_backbone.py', f.key, '--model-id', path.join(hf, 'hf'), '--out', out, '--blocks=-2', '--size', String(f.size),
        ...(pythonOrt ? [] : ['--no-check']),
      ]);
      expect(log).toMatch(pythonOrt ? /ok: max abs diff/ : /skipped the onnxruntime check/);

      // inspect-model names the exported block output block_<depth-2>, as the export does.
      const inspect = cli(work);
      expect(await runCli(['inspect-model', path.join(out, 'model.onnx'), '--json'], inspect.deps)).toBe(0);
      const inspection = JSON.parse(inspect.stdout()) as { outputs: { name: string }[]; candidates: { layer: string | null; tensor: string; tokens: number }[] };
      expect(inspection.outputs.map((o) => o.name)).toEqual([`block_${block}`, 'last_hidden_state']);
      const named = inspection.candidates.filter((c) => c.layer).map((c) => c.layer);
      expect(named).toEqual(Array.from({ length: f.depth }, (_, i) => `block_${i}`));
      expect(inspection.candidates.find((c) => c.layer === `block_${block}`)).toMatchObject({ tensor: `block_${block}`, tokens: f.tokens });

      // The manifest drives the studio's session; its block is PyTorch's hidden_states[block + 1].
      const manifest = loadManifest(path.join(out, 'manifest.json'));
      expect(manifest).toMatchObject({ family: f.family, inputSize: f.size, dModel: 32 });
      expect(Object.keys(manifest.layers)).toEqual([`block_${block}`, 'last_hidden_state']);
      const ref = path.join(hf, 'ref');
      const pixels = readF32(path.join(ref, 'pixels.f32'));
      const session = 'frames' in f ? await VideoBackboneSession.open(manifest, `block_${block}`, 'cpu') : await BackboneSession.open(manifest, `block_${block}`, 'cpu');
      try {
        const got = await session.run(pixels, 2);
        expect(got.T).toBe(f.tokens);
        expect(maxAbsDiff(got.tokens, readF32(path.join(ref, `hidden_${block + 1}.f32`)))).toBeLessThan(1e-4);
      } finally {
        await session.close();
      }

      // studio index over generated images (clips for the video backbone).
      const index = path.join(work, 'index', f.key);
      const run = cli(work);
      const data = 'frames' in f ? ['--data', clips, '--kind', 'videos'] : ['--data', images];
      const code = await runCli(['index', '--model', path.join(out, 'manifest.json'), '--layer', `block_${block}`, '--sae', sae, ...data, '--out', index, '--provider', 'cpu', '--batch', '2'], run.deps);
      expect(run.stderr()).not.toMatch(/error/i);
      expect(code).toBe(0);
      const info = cli(work);
      expect(await runCli(['info', index, '--json'], info.deps)).toBe(0);
      const summary = JSON.parse(info.stdout()) as { items: number; skipped: number; features: number };
      expect(summary).toMatchObject({ items: 'frames' in f ? 2 : 4, skipped: 0, features: 64 });
    }, 180_000);
  }
});
