import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobInfo, StudioEvent } from '../../src-main/contract/index.js';
import { createStudioService, indexIdFor, type StudioService } from '../../src-main/core/service.js';
import { validatedApi } from '../../src-main/hosts/dispatch.js';
import { APP_VERSION } from '../../src-main/core/version.js';
import { makeTinyVit, type TinyVit } from '../helpers/makeTinyVit.js';
import { makeSae } from '../helpers/makeSae.js';
import { makeImageFolder } from '../helpers/makeImageFolder.js';

describe('service: index jobs in a worker thread, events, reopening', () => {
  let work: string;
  let vit: TinyVit;
  let saePath: string;
  let dataDir: string;
  let service: StudioService;
  const events: StudioEvent[] = [];

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-service-'));
    vit = await makeTinyVit({ dir: path.join(work, 'vit'), imageSize: 32, patchSize: 8, dModel: 16, cls: true, seed: 1 });
    saePath = makeSae(path.join(work, 'sae'), { dIn: 16, dSae: 24, architecture: 'topk', k: 3, seed: 1 });
    dataDir = (await makeImageFolder(path.join(work, 'data'), { perLabel: 10 })).dir;
    service = await createStudioService({ settingsDir: path.join(work, 'settings'), host: 'web', checkpointIntervalMs: 0 });
    service.onEvent((e) => events.push(e));
  });
  afterAll(async () => {
    await service.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('runs a job to completion with progress events, then opens the index', async () => {
    const out = path.join(work, 'idx');
    const job = await service.startIndex({ model: vit.manifestPath, layer: 'block_1', sae: saePath, data: dataDir, out, batch: 4, provider: 'cpu' });
    expect(job.state).toBe('running');
    const done = await service.waitForJob(job.jobId);
    expect(done.error).toBeNull();
    expect(done.state).toBe('done');
    expect(done.provider).toBe('cpu');
    const mine = events.flatMap((e) => (e.type === 'job' && e.job.jobId === job.jobId ? [e.job] : []));
    expect(mine.some((j) => j.progress.phase === 'indexing' && j.progress.total === 30)).toBe(true);
    expect(mine.at(-1)!.state).toBe('done');

    const summary = await service.openIndex({ path: out });
    expect(summary.id).toBe(indexIdFor(out));
    expect(summary.items).toBe(30);
    const info = await service.appInfo();
    expect(info.version).toBe(APP_VERSION);
    expect(info.recent[0]!.path).toBe(out);
    expect(info.providers).toContain('cpu');

    // On-demand thumbnails (the default): none written by the build, each made when first asked
    // for, inside the index only.
    expect(fs.readdirSync(path.join(out, 'thumbs'))).toEqual([]);
    expect(await service.resolveThumbnail(summary.id, '0.webp')).toBe(path.join(fs.realpathSync(out), 'thumbs', '0.webp'));
    expect(fs.readdirSync(path.join(out, 'thumbs'))).toEqual(['0.webp']);
    expect(await service.resolveThumbnail(summary.id, '../index.sqlite')).toBeNull();
    expect(await service.resolveThumbnail('nope', '0.webp')).toBeNull();
  });

  it('a restarted service reopens the last index and knows its id', async () => {
    const again = await createStudioService({ settingsDir: path.join(work, 'settings'), host: 'web' });
    const info = await again.appInfo();
    expect(info.startIndexId).toBe(indexIdFor(path.join(work, 'idx')));
    const page = await again.queryFeatures({ indexId: info.startIndexId!, sort: 'frequency', desc: true, offset: 0, limit: 5 });
    expect(page.total).toBe(24);
    await again.close();
  });

  it('cancel stops a job after a checkpoint; starting it again resumes and completes', async () => {
    const out = path.join(work, 'cancelled');
    // Enough items that indexing is still running when the cancel lands (image indexes no longer
    // spend time writing thumbnails after the pass, which is where 30 items used to be cancelled).
    const bigger = (await makeImageFolder(path.join(work, 'data-300'), { perLabel: 100 })).dir;
    const req = { model: vit.manifestPath, layer: 'block_1', sae: saePath, data: bigger, out, batch: 1, provider: 'cpu' as const };
    const job = await service.startIndex(req);
    await new Promise<void>((resolve) => {
      const off = service.onEvent((e) => {
        if (e.type === 'job' && e.job.jobId === job.jobId && e.job.progress.phase === 'indexing' && e.job.progress.done >= 2) {
          off();
          resolve();
        }
      });
    });
    await service.cancelJob({ jobId: job.jobId });
    const stopped: JobInfo = await service.waitForJob(job.jobId);
    expect(stopped.state).toBe('cancelled');
    expect(stopped.error).toMatch(/resume/);

    const second = await service.startIndex(req);
    const done = await service.waitForJob(second.jobId);
    expect(done.state).toBe('done');
    expect((await service.openIndex({ path: out })).items).toBe(300);
  });

  it('a job with bad inputs fails with the reason', async () => {
    const job = await service.startIndex({ model: vit.manifestPath, layer: 'block_7', sae: saePath, data: dataDir, out: path.join(work, 'bad') });
    const failed = await service.waitForJob(job.jobId);
    expect(failed.state).toBe('failed');
    expect(failed.error).toMatch(/layer 'block_7'/);
  });

  it('missing arguments are refused before a worker starts', async () => {
    // Arguments are checked at dispatch, as every host calls the service (hosts/dispatch.ts).
    await expect(validatedApi(service).startIndex({ model: '', layer: 'x', sae: 'y', data: 'z', out: 'w' })).rejects.toThrow(/Missing model/);
    expect(await service.listJobs()).toEqual(expect.not.arrayContaining([expect.objectContaining({ out: path.resolve('w') })]));
  });
});

describe('service: inspecting an SAE checkpoint', () => {
  it('says what a checkpoint holds, and why a path is not one', async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-inspect-'));
    const service = await createStudioService({ settingsDir: path.join(work, 'settings'), host: 'web' });
    try {
      const sae = makeSae(path.join(work, 'sae'), { dIn: 16, dSae: 24, architecture: 'topk', k: 3, seed: 1 });
      const info = await service.inspectSae({ path: sae });
      expect(info).toMatchObject({ format: 'saelens', architecture: 'topk', dIn: 16, dSae: 24, k: 3 });
      expect(info.hash).toMatch(/^[0-9a-f]{64}$/);
      await expect(service.inspectSae({ path: path.join(work, 'nothing-here') })).rejects.toMatchObject({ code: 'bad-input' });
    } finally {
      await service.close();
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
