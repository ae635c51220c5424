import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runIndex } from '../../src-main/core/indexer/runIndex.js';
import { IndexReader } from '../../src-main/core/store/indexReader.js';
import { parseGroups } from '../../src-main/hosts/cli/parseGroups.js';
import { makeImageFolder } from '../helpers/makeImageFolder.js';
import { makeSae } from '../helpers/makeSae.js';
import { makeTinyVit, type TinyVit } from '../helpers/makeTinyVit.js';

// SAELens drops Matryoshka widths on save: the user states them at indexing time (--groups, or
// the New index form), and the index shows the SAE's nested groups.

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'groups-override-'));
let vit: TinyVit;
let sae: string;
let data: string;
beforeAll(async () => {
  vit = await makeTinyVit({ dir: path.join(work, 'vit'), imageSize: 32, patchSize: 8, dModel: 16, seed: 4 });
  sae = makeSae(path.join(work, 'sae'), { dIn: 16, dSae: 48, architecture: 'topk', k: 4, seed: 5 });
  data = (await makeImageFolder(path.join(work, 'data'), { perLabel: 3 })).dir;
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('Matryoshka groups given at indexing', () => {
  it('are recorded in the index for a checkpoint without them', async () => {
    const out = path.join(work, 'with-groups');
    await runIndex({ model: vit.manifestPath, layer: 'block_1', sae, data, out, groups: [8, 24, 48] });
    const r = IndexReader.open('g', out);
    try {
      expect(r.config.sae.groups).toEqual([8, 24, 48]);
      expect(r.summary().sae.groups).toEqual([8, 24, 48]);
    } finally {
      r.close();
    }
  });

  it('widths that do not end at the SAE width are refused, naming both numbers', async () => {
    await expect(runIndex({ model: vit.manifestPath, layer: 'block_1', sae, data, out: path.join(work, 'bad'), groups: [8, 40] })).rejects.toThrow(
      /ending at d_sae = 48; found \[8, 40\]/,
    );
    await expect(runIndex({ model: vit.manifestPath, layer: 'block_1', sae, data, out: path.join(work, 'bad2'), groups: [24, 8, 48] })).rejects.toThrow(
      /strictly increasing/,
    );
  });

  it('the CLI parses --groups and refuses text that is not a list of widths', () => {
    expect(parseGroups('8, 24,48')).toEqual([8, 24, 48]);
    expect(parseGroups(undefined)).toBeUndefined();
    expect(() => parseGroups('8;24')).toThrow(/cumulative widths/);
  });
});
