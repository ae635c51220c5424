import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildDemo, readDemo } from '../../src-main/core/demo/buildDemo.js';

// The small demo: a cancelled build continues from the last finished step, and a step whose
// output went missing is redone.

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-demo-resume-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('demo build', () => {
  it('cancelled during training, continues without redoing finished steps; a deleted index is rebuilt', async () => {
    const out = path.join(work, 'demo');
    const ac = new AbortController();
    const seen: number[] = [];
    await expect(
      buildDemo({ out, size: 'small', signal: ac.signal, onProgress: (p) => { seen.push(p.step); if (p.step === 4) ac.abort(); } }),
    ).rejects.toThrow(/cancelled/);
    expect(readDemo(out)).toBeNull();
    const firstSae = path.join(out, 'saes', 'a-topk', 'cfg.json');
    expect(fs.existsSync(firstSae)).toBe(true);
    expect(fs.existsSync(path.join(out, 'saes', 'a-matryoshka', 'cfg.json'))).toBe(false);
    const saeTime = fs.statSync(firstSae).mtimeMs;

    const details: (string | null)[] = [];
    const m = await buildDemo({ out, size: 'small', onProgress: (p) => { if (p.step === 3) details.push(p.detail); } });
    expect(readDemo(out)).not.toBeNull();
    // Step 3 (the first SAE) was finished before the cancel: skipped, not retrained.
    expect(details.length).toBeGreaterThan(0);
    expect(details.every((d) => d === null)).toBe(true);
    expect(fs.statSync(firstSae).mtimeMs).toBe(saeTime);

    fs.rmSync(m.indexes.bImages, { recursive: true, force: true });
    expect(readDemo(out)).toBeNull();
    const again = await buildDemo({ out, size: 'small' });
    expect(fs.existsSync(path.join(again.indexes.bImages, 'index.sqlite'))).toBe(true);
    expect(readDemo(out)).not.toBeNull();
  }, 240_000);
});
