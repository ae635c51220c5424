import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SaevShardSource } from '../../src-main/core/indexer/sources/saevShardSource.js';
import { VideoClipSource, videoSampling } from '../../src-main/core/indexer/sources/videoClipSource.js';
import { loadSae } from '../../src-main/core/sae/loadSae.js';
import { clipPatchRows } from '../../src-main/core/train/clipRows.js';
import { patchRowsOf } from '../../src-main/core/train/rowStream.js';
import type { CliDeps } from '../../src-main/hosts/cli/context.js';
import { runCli } from '../../src-main/hosts/cli/program.js';
import { makeClip } from '../helpers/makeClip.js';
import { makeImageFolder } from '../helpers/makeImageFolder.js';
import { makeTinyVit, type TinyVit } from '../helpers/makeTinyVit.js';
import { writeSaevShards } from '../helpers/writeSaevShards.js';

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
    openUrl: async () => "disabled" as const,
  };
  return { deps, out: () => out, err: () => err, interrupt: () => interrupt?.() };
}

const work = mkdtempSync(path.join(os.tmpdir(), 'cli-train-'));
let vit: TinyVit;
let data: string;
let shards: string;
let clips: string;
beforeAll(async () => {
  vit = await makeTinyVit({ dir: path.join(work, 'vit'), imageSize: 32, patchSize: 8, dModel: 16, cls: true, seed: 3 });
  const images = await makeImageFolder(path.join(work, 'data'), { perLabel: 4 });
  data = images.dir;
  shards = path.join(work, 'shards');
  await writeSaevShards({ manifestPath: vit.manifestPath, layers: ['block_1'], images: data, out: shards, examplesPerShard: 5 });
  // Clips of every kind: a video file, an animated GIF, a folder of frames, and a broken video.
  clips = path.join(work, 'clips');
  makeClip(path.join(clips, 'moving', 'one.mkv'), { frames: 10, width: 40, height: 36 });
  makeClip(path.join(clips, 'moving', 'two.gif'), { frames: 6, width: 40, height: 36, codec: 'gif' });
  mkdirSync(path.join(clips, 'still', 'desert_walk'), { recursive: true });
  images.files.filter((f) => f.startsWith('desert/')).forEach((f, i) => copyFileSync(path.join(data, f), path.join(clips, 'still', 'desert_walk', `${i}.png`)));
  mkdirSync(path.join(clips, 'zbroken'), { recursive: true });
  writeFileSync(path.join(clips, 'zbroken', 'bad.mp4'), 'not a video');
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

  it('trains a Matryoshka SAE and records its groups in the SAELens folder', async () => {
    const h = harness();
    const out = path.join(work, 'matryoshka');
    // The dense product in JS here (onnxruntime, the default, everywhere else).
    expect(await runCli(args(out, ['--arch', 'matryoshka', '--groups', '8,16,32', '--steps', '20', '--dense-product', 'js']), h.deps)).toBe(0);
    expect(h.out()).toContain(`Wrote ${out}\n`);
    const cfg = JSON.parse(readFileSync(path.join(out, 'cfg.json'), 'utf8'));
    expect(cfg).toMatchObject({ architecture: 'topk', k: 4, matryoshka_widths: [8, 16, 32] });
    expect(existsSync(path.join(out, 'sae.safetensors'))).toBe(false);
    const sae = loadSae(out);
    expect(sae).toMatchObject({ format: 'saelens', architecture: 'topk', k: 4, groups: [8, 16, 32] });
  });

  it('Ctrl-C stops training and still writes the SAE (exit 130)', async () => {
    const h = harness();
    const out = path.join(work, 'interrupted');
    const running = runCli(args(out, ['--arch', 'batchtopk', '--steps', '100000']), h.deps);
    await new Promise((r) => setTimeout(r, 1500));
    h.interrupt();
    expect(await running).toBe(130);
    expect(h.out()).toMatch(/Interrupted after \d+ steps/);
    expect(existsSync(path.join(out, 'cfg.json'))).toBe(true);
    // SAELens's inference form of BatchTopK: JumpReLU with the learned threshold.
    const sae = loadSae(out);
    expect(sae.architecture).toBe('jumprelu');
    expect(sae.threshold!.length).toBe(32);
    expect(JSON.parse(readFileSync(path.join(out, 'cfg.json'), 'utf8'))).toMatchObject({ trained_as: 'batchtopk', k: 4 });
  });

  it('trains on saev activation shards (no backbone; --model not needed)', async () => {
    // The shards' patch rows (CLS dropped) are what the row stream sees.
    const source = SaevShardSource.open(shards, '1', null, null);
    const read = await patchRowsOf(source).read(0, 3);
    expect(read.items).toBe(3);
    expect(read.rows.length).toBe(3 * 16 * 16);
    const h = harness();
    const out = path.join(work, 'from-shards');
    const argv = ['train', '--shards', shards, '--layer', '1', '--out', out, '--width', '32', '--k', '4', '--batch', '64', '--steps', '60', '--seed', '1'];
    expect(await runCli(argv, h.deps)).toBe(0);
    expect(h.err()).toMatch(/step 60\/60 +loss [\d.]+ +FVU [\d.]+ +L0 4\.0/);
    expect(h.out()).toMatch(/Trained 60 steps \(3840 tokens\)/);
    const sae = loadSae(out);
    expect([sae.format, sae.dIn, sae.dSae, sae.k, sae.hookName]).toEqual(['saelens', 16, 32, 4, '1']);
    expect(Number(/FVU ([\d.]+)/.exec(h.out())![1])).toBeLessThan(0.5);
  });

  it('trains on the patches of every sampled frame of a folder of clips (videos found by themselves)', async () => {
    // Rows: per readable clip, 4 frames x 16 patches (CLS dropped); the broken clip is skipped.
    const source = await VideoClipSource.open(vit.manifestPath, 'block_1', clips, 'cpu', videoSampling({ frames: 4 }), null);
    try {
      expect(source.items.toArray().map((i) => i.path)).toEqual(['moving/one.mkv', 'moving/two.gif', 'still/desert_walk', 'zbroken/bad.mp4']);
      const read = await clipPatchRows(source).read(0, 4);
      expect(read.items).toBe(3);
      expect(read.skipped.map((s) => s.item)).toEqual([3]);
      expect(read.rows.length).toBe(3 * 4 * 16 * 16);
      const clip = (await source.load(0)).clip!;
      const { rows } = await source.activations(clip, 2);
      // Frame 1's patch rows follow frame 0's, without the CLS rows.
      expect(Array.from(read.rows.subarray(16 * 16, 32 * 16))).toEqual(Array.from(rows.subarray(18 * 16, 34 * 16)));
    } finally {
      await source.close();
    }
    const h = harness();
    const out = path.join(work, 'from-clips');
    expect(await runCli(['train', '--model', vit.manifestPath, '--layer', 'block_1', '--data', clips, '--frames', '4', '--out', out,
      '--width', '32', '--k', '4', '--batch', '64', '--steps', '30', '--provider', 'cpu'], h.deps)).toBe(0);
    expect(h.err()).toMatch(/skipped zbroken\/bad\.mp4: /);
    expect(h.err().match(/skipped/g)!.length).toBe(1);
    expect(h.out()).toMatch(/Trained 30 steps \(1920 tokens\)/);
    expect(loadSae(out)).toMatchObject({ format: 'saelens', dIn: 16, dSae: 32, k: 4 });
  });

  it('takes --kind videos for clips that are only frame folders or animations', async () => {
    const frameClips = path.join(work, 'frame-clips');
    mkdirSync(path.join(frameClips, 'a'), { recursive: true });
    copyFileSync(path.join(clips, 'moving', 'two.gif'), path.join(frameClips, 'a', 'two.gif'));
    const h = harness();
    const out = path.join(work, 'from-frames');
    expect(await runCli(['train', '--model', vit.manifestPath, '--layer', 'block_1', '--data', frameClips, '--kind', 'videos', '--out', out,
      '--width', '32', '--k', '4', '--batch', '16', '--steps', '5', '--provider', 'cpu'], h.deps)).toBe(0);
    expect(h.out()).toMatch(/Trained 5 steps \(80 tokens\)/);
  });

  it.each([
    ['neither --data nor --shards', ['--model', 'm.json'], /error: no training data: give --model MANIFEST --data DIR .* or --shards DIR/],
    ['both --data and --shards', ['--model', 'm.json', '--data', 'd', '--shards', 's'], /error: --data and --shards are two data sources; .*not both/],
    ['--data without --model', ['--data', 'd'], /error: --data needs --model MANIFEST/],
    ['video options with --shards', ['--shards', 's', '--kind', 'videos', '--max-frames', '3'], /error: --kind, --max-frames apply to --data, not to --shards/],
  ])('refuses %s (exit 2)', async (_name, extra, message) => {
    const h = harness();
    expect(await runCli(['train', '--layer', 'block_1', '--out', path.join(work, 'never'), '--width', '8', '--k', '2', ...extra], h.deps)).toBe(2);
    expect(h.err()).toMatch(message);
    expect(existsSync(path.join(work, 'never'))).toBe(false);
  });

  it('rejects bad groups', async () => {
    const h = harness();
    expect(await runCli(args(path.join(work, 'bad'), ['--arch', 'matryoshka', '--groups', '8,x']), h.deps)).toBe(1);
    expect(h.err()).toMatch(/--groups/);
  });
});
