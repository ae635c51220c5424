import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runIndex } from '../../src-main/core/indexer/runIndex.js';
import { makeTinyVit } from '../helpers/makeTinyVit.js';
import { makeSae } from '../helpers/makeSae.js';
import { makeImageFolder } from '../helpers/makeImageFolder.js';
import { expectSameIndex } from '../helpers/compareIndexes.js';
import { localSlurmUnavailable, startLocalSlurm, waitForJobs, type LocalSlurm } from '../helpers/localSlurm.js';

// The repo's Slurm scripts on a real (one-node, loopback) Slurm cluster: cluster/slurm/submit.sh
// submits `studio index --shard` as a job array and `studio merge` as a job that depends on it;
// the merged index must equal a single run. Skipped, saying why, where Slurm cannot start (not
// installed, not root); under CI=true it must run (.ci/run installs slurmd, slurmctld, munge).

const ROOT = path.resolve(__dirname, '../..');
const ON_CI = process.env.CI === 'true';
const unavailable = localSlurmUnavailable();
if (unavailable && !ON_CI) console.warn(`slurm-split-run: skipped, ${unavailable}`);

describe.skipIf(unavailable !== null && !ON_CI)('a split run on a local Slurm cluster', () => {
  let slurm: LocalSlurm | null = null;
  let work: string;

  beforeAll(async () => {
    if (unavailable) throw new Error(`CI=true but ${unavailable}: .ci/run should have installed Slurm`);
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-slurm-run-'));
    fs.chmodSync(work, 0o755);
    slurm = await startLocalSlurm();
  }, 60_000);

  afterAll(async () => {
    await slurm?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('submit.sh: a 3-task array of studio index --shard, then studio merge after all succeed', async () => {
    const vit = await makeTinyVit({ dir: path.join(work, 'vit'), imageSize: 48, patchSize: 16, dModel: 16, cls: true, seed: 41, family: 'clip' });
    const sae = makeSae(path.join(work, 'sae'), { dIn: 16, dSae: 32, architecture: 'topk', k: 4, seed: 9, format: 'safetensors' });
    const images = (await makeImageFolder(path.join(work, 'images'), { labels: ['x', 'y'], perLabel: 6, corrupt: 1, seed: 3 })).dir;
    const args = ['--model', vit.manifestPath, '--layer', 'block_1', '--sae', sae, '--data', images, '--top-k', '3', '--provider', 'cpu'];
    const single = path.join(work, 'single');
    await runIndex({ model: vit.manifestPath, layer: 'block_1', sae, data: images, out: single, topK: 3, provider: 'cpu' });

    const out = path.join(work, 'merged');
    const env = { ...slurm!.env, STUDIO_BIN: `${process.execPath} ${path.join(ROOT, 'bin', 'studio.mjs')}`, STUDIO_SETTINGS_DIR: path.join(work, 'settings') };
    const submit = spawnSync('bash', [path.join(ROOT, 'cluster/slurm/submit.sh'), '3', out, '--', ...args], { env, encoding: 'utf8', cwd: work });
    expect(submit.stderr).toBe('');
    expect(submit.status).toBe(0);
    const ids = [...submit.stdout.matchAll(/^(?:index array|merge): (\d+)/gm)].map((m) => m[1]!);
    expect(ids.length).toBe(2);
    await waitForJobs(slurm!.env, ids, 240_000);

    const logs = path.join(`${out}.parts`, 'logs');
    const mergeLog = fs.existsSync(path.join(logs, 'merge.out')) ? fs.readFileSync(path.join(logs, 'merge.out'), 'utf8') : '';
    const mergeErr = fs.existsSync(path.join(logs, 'merge.err')) ? fs.readFileSync(path.join(logs, 'merge.err'), 'utf8') : '';
    const indexErrs = [0, 1, 2].map((i) => { const f = path.join(logs, `index-${i}.err`); return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '(no log)'; }).join('\n');
    expect(mergeLog, `merge: ${mergeErr}\nparts: ${indexErrs}`).toMatch(/Merged 3 parts into .*merged: 12 items indexed, 1 skipped, 32 features/);
    for (const i of [0, 1, 2]) expect(fs.existsSync(path.join(`${out}.parts`, `part-000${i}`, 'index.sqlite'))).toBe(true);
    const cmp = expectSameIndex(single, out);
    expect(cmp.features).toBe(32);
  }, 300_000);

  it('the merge job does not run when a part fails, and says which', async () => {
    const out = path.join(work, 'failing');
    const env = { ...slurm!.env, STUDIO_BIN: `${process.execPath} ${path.join(ROOT, 'bin', 'studio.mjs')}` };
    // A data folder that does not exist: every task fails, so the dependent merge never starts.
    const submit = spawnSync('bash', [path.join(ROOT, 'cluster/slurm/submit.sh'), '2', out, '--', '--model', 'nope.json', '--layer', 'x', '--sae', 'nope', '--data', path.join(work, 'none')], {
      env,
      encoding: 'utf8',
      cwd: work,
    });
    expect(submit.status).toBe(0);
    const ids = [...submit.stdout.matchAll(/^(?:index array|merge): (\d+)/gm)].map((m) => m[1]!);
    await waitForJobs(slurm!.env, ids, 120_000);
    expect(fs.existsSync(out)).toBe(false);
    const err = fs.readFileSync(path.join(`${out}.parts`, 'logs', 'index-0.err'), 'utf8');
    expect(err).toMatch(/error: /);
  }, 180_000);
});
