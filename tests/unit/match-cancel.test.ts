import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStudioService, type StudioService } from '../../src-main/core/service.js';
import { runIndex } from '../../src-main/core/indexer/runIndex.js';
import { makeTinyVit } from '../helpers/makeTinyVit.js';
import { makeSae } from '../helpers/makeSae.js';
import { makeImageFolder } from '../helpers/makeImageFolder.js';

describe('cancelling a match', () => {
  let work: string;
  let service: StudioService;
  let a: string;
  let b: string;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-match-cancel-'));
    const vit = await makeTinyVit({ dir: path.join(work, 'vit'), imageSize: 32, patchSize: 8, dModel: 16, seed: 2 });
    const data = (await makeImageFolder(path.join(work, 'data'), { perLabel: 4 })).dir;
    for (const [name, seed] of [['a', 1], ['b', 2]] as const) {
      const sae = makeSae(path.join(work, `sae-${name}`), { dIn: 16, dSae: 24, architecture: 'topk', k: 3, seed });
      await runIndex({ model: vit.manifestPath, layer: 'block_1', sae, data, out: path.join(work, name), topK: 3, provider: 'cpu' });
    }
    service = await createStudioService({ settingsDir: path.join(work, 'settings'), host: 'web' });
    a = (await service.openIndex({ path: path.join(work, 'a') })).id;
    b = (await service.openIndex({ path: path.join(work, 'b') })).id;
  });
  afterAll(async () => {
    await service.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('stops a running match, saves nothing, and the next match runs in a fresh worker', async () => {
    expect(await service.cancelMatch()).toBe(false);
    const outcome = service.matchIndexes({ indexId: a, otherId: b }).then(
      () => 'finished',
      (err: unknown) => err,
    );
    expect(await service.cancelMatch()).toBe(true);
    expect(await outcome).toMatchObject({ code: 'cancelled' });
    expect(await service.matchSummary({ indexId: a, otherId: b })).toBeNull();
    const done = await service.matchIndexes({ indexId: a, otherId: b });
    expect(done.itemsCommon).toBe(12);
    expect(await service.matchSummary({ indexId: a, otherId: b })).not.toBeNull();
  });
});
