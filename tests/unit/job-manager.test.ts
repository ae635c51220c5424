import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobInfo } from '../../src-main/contract/index.js';
import { JobManager } from '../../src-main/core/jobs/jobManager.js';
import { makeTinyVit, type TinyVit } from '../helpers/makeTinyVit.js';
import { makeSae } from '../helpers/makeSae.js';
import { makeImageFolder } from '../helpers/makeImageFolder.js';

const crashing = fileURLToPath(new URL('../helpers/crashingWorker.mjs', import.meta.url));

describe('job manager', () => {
  let work: string;
  let vit: TinyVit;
  let sae: string;
  let data: string;
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-jobs-'));
    vit = await makeTinyVit({ dir: path.join(work, 'vit'), imageSize: 32, patchSize: 8, dModel: 16, seed: 1 });
    sae = makeSae(path.join(work, 'sae'), { dIn: 16, dSae: 16, architecture: 'relu', seed: 1 });
    data = (await makeImageFolder(path.join(work, 'data'), { perLabel: 3 })).dir;
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('a crashed worker fails its job with a message, and the next job gets a fresh worker', async () => {
    const events: JobInfo[] = [];
    const jobs = new JobManager((j) => events.push(j), { workerSpec: () => ({ file: crashing, workerData: {} }) });
    const request = { model: vit.manifestPath, layer: 'block_0', sae, data, out: path.join(work, 'out'), provider: 'cpu' as const };
    const first = jobs.start(request);
    const failed = await jobs.wait(first.jobId);
    expect(failed.state).toBe('failed');
    expect(failed.error).toMatch(/stopped unexpectedly \(exit code 3\).*resume/);

    expect(events.filter((e) => e.jobId === first.jobId).at(-1)!.state).toBe('failed');
    const real = new JobManager((j) => events.push(j));
    const second = real.start(request);
    const done = await real.wait(second.jobId);
    expect(done.state).toBe('done');
    await jobs.close();
    await real.close();
  });

  it('refuses a second job writing to the same folder', () => {
    const jobs = new JobManager(() => {}, { workerSpec: () => ({ file: crashing, workerData: {} }) });
    const request = { model: vit.manifestPath, layer: 'block_0', sae, data, out: path.join(work, 'busy'), provider: 'cpu' as const };
    jobs.start(request);
    expect(() => jobs.start(request)).toThrow(/already writing to/);
    return jobs.close();
  });

  it('builds the demo as a job: step labels in its progress, and it ends pointing at the index to open', async () => {
    const events: JobInfo[] = [];
    const jobs = new JobManager((j) => events.push(j));
    const out = path.join(work, 'demo');
    const job = jobs.startDemo(out, 'small');
    expect(job.kind).toBe('demo');
    expect(() => jobs.startDemo(out, 'small')).toThrow(/already writing to/);
    const done = await jobs.wait(job.jobId);
    expect(done.state, done.error ?? '').toBe('done');
    expect(done.out).toBe(path.join(out, 'indexes', 'a-clips'));
    const labels = new Set(events.map((e) => e.progress.step?.label).filter(Boolean));
    expect([...labels]).toEqual(expect.arrayContaining(['Training the Matryoshka SAE on backbone A', 'Matching A with B']));
    expect(events.some((e) => e.progress.phase === 'training' && /FVU/.test(e.progress.step?.detail ?? ''))).toBe(true);
    await jobs.close();
  }, 120_000);
});
