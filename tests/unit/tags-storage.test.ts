import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStudioService, type StudioService } from '../../src-main/core/service.js';
import { runIndex } from '../../src-main/core/indexer/runIndex.js';
import { loadSae, saeInfo } from '../../src-main/core/sae/loadSae.js';
import { buildFixtureIndex, type FixtureIndex } from '../helpers/buildFixtureIndex.js';
import { makeSae } from '../helpers/makeSae.js';
import { makeImageFolder } from '../helpers/makeImageFolder.js';
import { runCli } from '../../src-main/hosts/cli/program.js';
import type { CliDeps } from '../../src-main/hosts/cli/context.js';

// Tags belong to the SAE (its weights hash): they survive re-indexing the same SAE, in another
// checkpoint format, on another dataset, in another folder; import merges and reports conflicts.

let work: string;
let fixture: FixtureIndex;
let settingsDir: string;
let otherIndexDir: string;
let saelensPath: string;
const D_SAE = 32;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tags-'));
  fixture = await buildFixtureIndex(path.join(work, 'fixture'), { perLabel: 3, dSae: D_SAE });
  settingsDir = path.join(work, 'settings');
  // The same weights as a SAELens folder (the fixture uses a bare safetensors file), on other images.
  saelensPath = makeSae(path.join(work, 'sae-saelens'), { dIn: 24, dSae: D_SAE, architecture: 'topk', k: 6, seed: 8, format: 'saelens' });
  const data = await makeImageFolder(path.join(work, 'data2'), { labels: ['lake', 'city'], perLabel: 3, width: 100, height: 100, seed: 9 });
  otherIndexDir = path.join(work, 'index2');
  await runIndex(
    { model: fixture.manifestPath, layer: 'block_1', sae: saelensPath, data: data.dir, out: otherIndexDir, topK: 8, batch: 8, provider: 'cpu' },
    { checkpointIntervalMs: 0 },
  );
}, 180_000);

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

async function open(dir: string, settings = settingsDir): Promise<{ service: StudioService; indexId: string }> {
  const service = await createStudioService({ settingsDir: settings, host: 'web' });
  const indexId = (await service.openIndex({ path: dir })).id;
  return { service, indexId };
}

describe('tag storage', () => {
  it('the same weights in another format have the same identity', () => {
    const a = saeInfo(loadSae(fixture.saePath)).hash;
    const b = saeInfo(loadSae(saelensPath)).hash;
    expect(a).toBe(b);
  });

  it('stores, filters and sorts; tags follow the SAE into another index of it', async () => {
    const { service, indexId } = await open(fixture.indexDir);
    const change = await service.editTags({ indexId, features: [3, 5], category: 'scene', addTags: ['Sky ', 'blue'] });
    expect(change.before.map((b) => b.category)).toEqual([null, null]);
    await service.editTags({ indexId, features: [7], category: 'object', reviewed: true, note: 'fires on the ball' });
    const detail = await service.featureDetail({ indexId, feature: 7 });
    expect(detail.tags.category).toBe('object');
    expect(detail.tags.notes[0]).toMatchObject({ text: 'fires on the ball', author: expect.any(String) });
    expect(detail.row).toMatchObject({ category: 'object', reviewed: true, noteCount: 1 });

    const byTag = await service.queryFeatures({ indexId, sort: 'index', desc: false, offset: 0, limit: 50, filter: { tag: 'sky' } });
    expect(byTag.rows.map((r) => r.feature)).toEqual([3, 5]);
    expect(byTag.rows[0]!.tags).toEqual(['blue', 'sky']);
    const scenes = await service.queryFeatures({ indexId, sort: 'index', desc: false, offset: 0, limit: 50, filter: { category: 'scene' } });
    expect(scenes.total).toBe(2);
    const untagged = await service.queryFeatures({ indexId, sort: 'index', desc: false, offset: 0, limit: 50, filter: { category: 'none' } });
    expect(untagged.total).toBe(D_SAE - 3);
    const reviewed = await service.queryFeatures({ indexId, sort: 'index', desc: false, offset: 0, limit: 50, filter: { reviewed: 'only' } });
    expect(reviewed.rows.map((r) => r.feature)).toEqual([7]);
    const sorted = await service.queryFeatures({ indexId, sort: 'category', desc: false, offset: 0, limit: 4 });
    expect(sorted.rows.map((r) => r.feature)).toEqual([3, 5, 7, 0]);
    await service.close();

    // Another folder, another dataset, the SAE in SAELens format: the app-wide store brings the tags.
    const other = await open(otherIndexDir);
    const t = await other.service.featureTags({ indexId: other.indexId, feature: 7 });
    expect(t).toMatchObject({ category: 'object', reviewed: true, tags: [] });
    expect(t.notes.map((n) => n.text)).toEqual(['fires on the ball']);
    const rows = await other.service.queryFeatures({ indexId: other.indexId, sort: 'index', desc: false, offset: 0, limit: 50, filter: { tag: 'sky' } });
    expect(rows.rows.map((r) => r.feature)).toEqual([3, 5]);
    // And an edit there flows back to the first index through the app-wide store.
    await other.service.editTags({ indexId: other.indexId, features: [9], category: 'object' });
    await other.service.close();
    const again = await open(fixture.indexDir);
    expect((await again.service.featureTags({ indexId: again.indexId, feature: 9 })).category).toBe('object');
    await again.service.editTags({ indexId: again.indexId, features: [9], category: null });
    await again.service.close();
  }, 60_000);

  it('an index copied to a machine without the app-wide store still carries its tags', async () => {
    const { service, indexId } = await open(fixture.indexDir, path.join(work, 'fresh-settings'));
    expect((await service.featureTags({ indexId, feature: 3 })).tags).toEqual(['blue', 'sky']);
    await service.close();
  });

  it('undo restores the records as they were, notes included', async () => {
    const { service, indexId } = await open(fixture.indexDir);
    const first = await service.editTags({ indexId, features: [11, 12], category: 'object', addTags: ['walking'], note: 'legs' });
    expect(first.records).toHaveLength(2);
    expect(first.records.every((r) => r.category === 'object' && r.notes.length === 1)).toBe(true);
    const undo = await service.restoreTags({ indexId, records: first.before });
    expect(undo.records.map((r) => r.category)).toEqual([null, null]);
    expect(await service.featureTags({ indexId, feature: 11 })).toEqual({ feature: 11, category: null, tags: [], notes: [], reviewed: false });
    // Redo is restoring what undo returned as "before".
    await service.restoreTags({ indexId, records: undo.before });
    expect((await service.featureTags({ indexId, feature: 12 })).notes.map((n) => n.text)).toEqual(['legs']);
    await service.restoreTags({ indexId, records: first.before });
    await expect(service.editTags({ indexId, features: [D_SAE], category: 'scene' })).rejects.toThrow(/does not exist/);
    await expect(service.editTags({ indexId, features: [1], note: '   ' })).rejects.toThrow(/empty/);
    await service.close();
  });

  it('exports and imports: merge adds, conflicts are reported, not overwritten; another SAE needs force', async () => {
    const src = await open(fixture.indexDir, path.join(work, 'settings-src'));
    await src.service.restoreTags({
      indexId: src.indexId,
      records: [
        { feature: 1, category: 'scene', tags: ['sand'], notes: [{ text: 'beach, "dry"', author: 'ana', time: '2025-01-01T00:00:00.000Z' }], reviewed: true },
        { feature: 2, category: 'object', tags: ['tree', 'green'], notes: [], reviewed: false },
      ],
    });
    const json = await src.service.exportTags({ indexId: src.indexId, format: 'json' });
    const csv = await src.service.exportTags({ indexId: src.indexId, format: 'csv' });
    expect(csv.text.split('\n')[0]).toBe('feature,category,tags,note,author,time,reviewed');
    expect(csv.text).toContain('1,scene,sand,"beach, ""dry""",ana,2025-01-01T00:00:00.000Z,yes');
    const parsed = JSON.parse(json.text);
    expect(parsed.sae.hash).toBe(saeInfo(loadSae(fixture.saePath)).hash);
    expect(parsed.features.find((f: { feature: number }) => f.feature === 2)).toEqual({ feature: 2, category: 'object', tags: ['green', 'tree'], notes: [], reviewed: false });
    await src.service.close();

    // A fresh app store and another index of the same SAE: feature 2 already says 'scene'.
    const dst = await open(otherIndexDir, path.join(work, 'settings-dst'));
    await dst.service.editTags({ indexId: dst.indexId, features: [2], category: 'scene', addTags: ['tree'] });
    const report = await dst.service.importTags({ indexId: dst.indexId, format: 'json', text: json.text });
    expect(report.conflicts).toEqual([{ feature: 2, ours: 'scene', theirs: 'object' }]);
    expect(report.categoriesSet).toBe(1);
    expect(report.tagsAdded).toBe(2); // sand on 1, green on 2
    expect(report.notesAdded).toBe(1);
    expect(await dst.service.featureTags({ indexId: dst.indexId, feature: 2 })).toMatchObject({ category: 'scene', tags: ['green', 'tree'] });
    // Importing the same file again changes nothing; the CSV merges to the same state.
    const again = await dst.service.importTags({ indexId: dst.indexId, format: 'csv', text: csv.text });
    expect(again).toMatchObject({ categoriesSet: 0, tagsAdded: 0, notesAdded: 0, before: [] });
    expect(again.conflicts).toHaveLength(1);
    // Undo of an import.
    await dst.service.restoreTags({ indexId: dst.indexId, records: report.before });
    expect((await dst.service.featureTags({ indexId: dst.indexId, feature: 1 })).category).toBeNull();

    const foreign = json.text.replace(parsed.sae.hash, 'f'.repeat(64));
    await expect(dst.service.importTags({ indexId: dst.indexId, format: 'json', text: foreign })).rejects.toThrow(/another SAE.*--force/s);
    const forced = await dst.service.importTags({ indexId: dst.indexId, format: 'json', text: foreign, force: true });
    expect(forced.categoriesSet).toBe(1);
    const bad = await dst.service.importTags({ indexId: dst.indexId, format: 'csv', text: 'feature,category\nx,scene\n4,animal\n999,scene\nCLIP/13,object\n' });
    expect(bad.skipped.map((s) => s.where)).toEqual(['line 2', 'line 3', 'feature 999']);
    expect((await dst.service.featureTags({ indexId: dst.indexId, feature: 13 })).category).toBe('object');
    await expect(dst.service.importTags({ indexId: dst.indexId, format: 'csv', text: 'id,cat\n1,scene\n' })).rejects.toThrow(/no 'feature' column/);
    await dst.service.close();
  });

  it('the agreement table counts suggestion against the user\'s category over categorised features', async () => {
    const { service, indexId } = await open(fixture.indexDir, path.join(work, 'settings-agree'));
    const overview = await service.tagOverview({ indexId });
    const categorised = overview.categories.scene + overview.categories.action + overview.categories.object;
    const table = await service.tagAgreement({ indexId });
    expect(table.tagged).toBe(categorised);
    let agree = 0;
    for (const f of [1, 2, 3, 5, 7]) {
      const user = (await service.featureTags({ indexId, feature: f })).category;
      const s = await service.suggestCategory({ indexId, feature: f });
      expect(s.reasons.length).toBeGreaterThan(0);
      if (user && s.category === user) agree++;
    }
    expect(table.agree).toBe(agree);
    const sum = Object.values(table.counts).reduce((a, row) => a + row.scene + row.action + row.object, 0);
    expect(sum).toBe(categorised);
    await service.close();
  });

  it('studio tags --export / --import', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const deps: CliDeps = {
      createBackend: (opts) => createStudioService(opts),
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: (t: string) => err.push(t) },
      env: { STUDIO_SETTINGS_DIR: path.join(work, 'settings-cli') },
      onInterrupt: () => () => undefined,
      now: () => 0,
      projectRoot: work,
      buildRenderer: async () => undefined,
      openUrl: async () => "disabled" as const,
    };
    const file = path.join(work, 'shared-tags.csv');
    fs.writeFileSync(file, 'feature,category,tags,note\n4,object,wheel;round,spins\n6,scene,,\n');
    expect(await runCli(['tags', otherIndexDir, '--import', file], deps)).toBe(0);
    expect(out.join('')).toMatch(/Read 2 features: 2 categories set, 2 tags added, 1 notes added/);
    const exported = path.join(work, 'exported.json');
    expect(await runCli(['tags', otherIndexDir, '--export', exported], deps)).toBe(0);
    const data = JSON.parse(fs.readFileSync(exported, 'utf8'));
    expect(data.features.find((f: { feature: number }) => f.feature === 4)).toMatchObject({ category: 'object', tags: ['round', 'wheel'], notes: [{ text: 'spins' }] });
    fs.writeFileSync(file, 'feature,category\n4,scene\n');
    out.length = 0;
    expect(await runCli(['tags', otherIndexDir, '--import', file], deps)).toBe(0);
    expect(out.join('')).toMatch(/1 conflict .*\n  feature 4: here 'object', file 'scene'/);
    expect(await runCli(['tags', otherIndexDir, '--import', path.join(work, 'x.txt')], deps)).toBe(2);
    expect(err.join('')).toMatch(/name it \.csv or \.json/);
  });
});
