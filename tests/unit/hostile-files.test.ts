// Issue 18 items 4, 5 and 8: files that are not files (devices, FIFOs), files far too large, zip
// bombs, corrupt ONNX models and absurd manifest sizes must each end in one line naming the file
// and what is wrong, quickly and in bounded memory: never a hang, an out-of-memory, or a flood
// of per-image errors.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackboneSession } from '../../src-main/core/backbone/backboneSession.js';
import { loadManifest, parseManifest } from '../../src-main/core/backbone/manifest.js';
import { preprocessImage } from '../../src-main/core/backbone/preprocess.js';
import { loadSae } from '../../src-main/core/sae/loadSae.js';
import { readSafetensors } from '../../src-main/core/sae/safetensors.js';
import { createStudioService, type StudioService } from '../../src-main/core/service.js';
import { FILE_LIMITS, checkFile, formatBytes, readCheckedFileSync } from '../../src-main/core/util/checkedRead.js';
import { buildFixtureIndex } from '../helpers/buildFixtureIndex.js';
import { makeTinyVit } from '../helpers/makeTinyVit.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const posix = process.platform !== 'win32';
const itPosix = posix ? it : it.skip;

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-files-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** A FIFO with no writer: opening it for reading blocks until one appears, i.e. for ever. */
function fifo(name: string): string {
  const file = path.join(work, name);
  execFileSync('mkfifo', [file]);
  return file;
}

/** Resolves or rejects within `ms`, or fails the test naming what hung. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not finish in ${ms} ms`)), ms).unref())]);
}

/** A valid manifest's JSON (a generated tiny ViT), to vary one field of. */
let good: Promise<string> | null = null;
async function goodManifest(): Promise<Record<string, unknown>> {
  good ??= makeTinyVit({ dir: path.join(work, 'vit-good'), imageSize: 32, patchSize: 16, dModel: 8, cls: true, seed: 3 }).then((v) => v.manifestPath);
  const file = await good;
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  return { ...json, model: path.resolve(path.dirname(file), json.model as string) };
}

const spec = parseManifest(
  {
    name: 'x',
    family: 'x',
    model: 'model.onnx',
    input: { size: 16, resize: 'shortest-side', resize_to: 16, interpolation: 'bicubic', crop: 16, mean: [0, 0, 0], std: [1, 1, 1] },
    tokens: { cls: false, registers: 0, patch_size: 8, grid: [2, 2] },
    layers: { block_0: 'out' },
  },
  path.join(work, 'manifest.json'),
).preprocess;

describe('checked reads', () => {
  itPosix('refuse a character device, a FIFO and a folder by name, before reading', () => {
    expect(() => readCheckedFileSync('/dev/zero', 'checkpoint')).toThrow('checkpoint /dev/zero is a character device, not a regular file');
    const pipe = fifo('pipe.pt');
    expect(() => readCheckedFileSync(pipe, 'checkpoint')).toThrow(`checkpoint ${pipe} is a FIFO (named pipe), not a regular file`);
    expect(() => readCheckedFileSync(work, 'json')).toThrow(`JSON file ${work} is a folder, not a regular file`);
  });

  it('refuse a file over its kind\'s limit with both sizes named, and read one within it', () => {
    const file = path.join(work, 'big.json');
    fs.writeFileSync(file, 'x'.repeat(2500));
    expect(() => readCheckedFileSync(file, 'json', { limit: 1000 })).toThrow(`JSON file ${file} is 2.5 kB; JSON files above 1 kB are refused`);
    expect(readCheckedFileSync(file, 'json').length).toBe(2500);
    expect(checkFile(file, 'json')).toBe(2500);
    expect(formatBytes(9.1e9)).toBe('9.1 GB');
    expect(FILE_LIMITS.checkpoint).toBe(8e9);
  });

  itPosix('follow a symlink to a regular file but not to a device', () => {
    const real = path.join(work, 'real.bin');
    fs.writeFileSync(real, 'abc');
    fs.symlinkSync(real, path.join(work, 'link.bin'));
    expect(readCheckedFileSync(path.join(work, 'link.bin'), 'image').toString()).toBe('abc');
    fs.symlinkSync('/dev/zero', path.join(work, 'zero.bin'));
    expect(() => readCheckedFileSync(path.join(work, 'zero.bin'), 'image')).toThrow(/is a character device, not a regular file/);
  });
});

describe('dataset images, checkpoints and manifests that are devices or FIFOs', () => {
  itPosix('a dataset .jpg linked to /dev/zero is refused as that image, at once', async () => {
    const dir = path.join(work, 'data-zero');
    fs.mkdirSync(dir);
    fs.symlinkSync('/dev/zero', path.join(dir, 'a.jpg'));
    const before = process.memoryUsage().rss;
    await expect(within(preprocessImage(path.join(dir, 'a.jpg'), spec), 5000, 'reading /dev/zero')).rejects.toThrow(
      `image ${path.join(dir, 'a.jpg')} is a character device, not a regular file`,
    );
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 2 ** 20);
  });

  itPosix('a dataset .jpg that is a FIFO is refused, not waited on', async () => {
    const file = fifo('b.jpg');
    await expect(within(preprocessImage(file, spec), 5000, 'reading a FIFO')).rejects.toThrow(`image ${file} is a FIFO (named pipe), not a regular file`);
  });

  itPosix('an SAE checkpoint that is a FIFO or /dev/zero is refused', () => {
    const pipe = fifo('sae.pt');
    expect(() => loadSae(pipe)).toThrow(/is a FIFO \(named pipe\), not a regular file/);
    fs.symlinkSync('/dev/zero', path.join(work, 'zero.safetensors'));
    expect(() => readSafetensors(path.join(work, 'zero.safetensors'))).toThrow(/is a character device, not a regular file/);
  });

  itPosix('a manifest whose model is /dev/zero or a FIFO is refused when it is loaded, naming both files', async () => {
    const good = await goodManifest();
    const zero = path.join(work, 'zero-manifest.json');
    fs.writeFileSync(zero, JSON.stringify({ ...good, model: '/dev/zero' }));
    expect(() => loadManifest(zero)).toThrow(`ONNX model /dev/zero is a character device, not a regular file (named by manifest ${zero})`);
    const pipe = fifo('model-fifo.onnx');
    const viaFifo = path.join(work, 'fifo-manifest.json');
    fs.writeFileSync(viaFifo, JSON.stringify({ ...good, model: pipe }));
    expect(() => loadManifest(viaFifo)).toThrow(`ONNX model ${pipe} is a FIFO (named pipe), not a regular file`);
    // A manifest file that is itself a FIFO.
    const manifestFifo = fifo('manifest-fifo.json');
    expect(() => loadManifest(manifestFifo)).toThrow(`backbone manifest ${manifestFifo} is a FIFO (named pipe), not a regular file`);
  });

  itPosix('a manifest that passed validation but whose model became a FIFO is refused when the session opens', async () => {
    const vit = await makeTinyVit({ dir: path.join(work, 'vit-swap'), imageSize: 32, patchSize: 16, dModel: 8, cls: true, seed: 1 });
    const manifest = loadManifest(vit.manifestPath);
    fs.rmSync(manifest.modelPath);
    execFileSync('mkfifo', [manifest.modelPath]);
    await expect(within(BackboneSession.open(manifest, 'block_0', 'cpu'), 5000, 'opening a FIFO model')).rejects.toThrow(/is a FIFO \(named pipe\), not a regular file/);
  });
});

describe('loadQueryImage through the service', () => {
  let service: StudioService;
  let indexId: string;
  beforeAll(async () => {
    const fixture = await buildFixtureIndex(path.join(work, 'fixture'), { perLabel: 2, dSae: 32 });
    service = await createStudioService({ settingsDir: path.join(work, 'settings'), host: 'web' });
    indexId = (await service.openIndex({ path: fixture.indexDir })).id;
  }, 120_000);
  afterAll(async () => service?.close());

  itPosix('/dev/zero is refused before any of it is read', async () => {
    const before = process.memoryUsage().rss;
    const started = Date.now();
    const attempt = service.loadQueryImage({ image: { path: '/dev/zero' }, indexIds: [indexId] });
    await expect(within(attempt, 5000, 'loadQueryImage(/dev/zero)')).rejects.toMatchObject({
      code: 'bad-input',
      message: 'query image /dev/zero is a character device, not a regular file',
    });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 2 ** 20);
  });

  itPosix('a FIFO is refused, not waited on', async () => {
    const pipe = fifo('query.png');
    await expect(within(service.loadQueryImage({ image: { path: pipe }, indexIds: [indexId] }), 5000, 'loadQueryImage(FIFO)')).rejects.toThrow(
      /is a FIFO \(named pipe\), not a regular file/,
    );
  });
});

describe('zip bombs in torch checkpoints', () => {
  // In a child process, so its peak RSS (getrusage) measures this one read.
  function bomb(mode: 'honest' | 'lying' | 'entry', mib: number): { fileBytes: number; error: string | null; ms: number; growthMiB: number } {
    const run = spawnSync(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', path.join(ROOT, 'tests/helpers/zipBombChild.ts'), mode, String(mib), path.join(work, `bomb-${mode}.pt`)],
      { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
    );
    if (run.status !== 0) throw new Error(`child failed (${run.status} ${run.signal}): ${run.stderr}`);
    return JSON.parse(run.stdout.trim().split('\n').at(-1)!);
  }

  it('a 1 MB ae.pt whose pickle records 1 GiB is refused before inflating', () => {
    const r = bomb('honest', 1024);
    expect(r.fileBytes).toBeLessThan(2e6);
    expect(r.error).toMatch(/^Error: .*bomb-honest\.pt is not a readable zip archive: its pickle \(data\.pkl\) is recorded as 1\.0 GiB; more than 256\.0 MiB is refused$/);
    expect(r.growthMiB).toBeLessThan(200);
    expect(r.ms).toBeLessThan(5000);
  }, 60_000);

  it('one that lies about its size is stopped as soon as it inflates past the recorded size', () => {
    const r = bomb('lying', 1024);
    expect(r.error).toMatch(/'archive\/data\.pkl' inflates past the 1000 bytes recorded for it$/);
    expect(r.growthMiB).toBeLessThan(200);
    expect(r.ms).toBeLessThan(5000);
  }, 60_000);

  it('any entry recorded as expanding far beyond the archive is refused before allocating', () => {
    const r = bomb('entry', 1024);
    expect(r.error).toMatch(/recorded as inflating to 1\.0 GiB from 1\.0 MiB; an archive of 1\.0 MiB may inflate to at most/);
    expect(r.growthMiB).toBeLessThan(200);
  }, 60_000);
});

describe('corrupt ONNX models and absurd manifest sizes', () => {
  it('a model file of garbage is named and called not an ONNX model', async () => {
    const vit = await makeTinyVit({ dir: path.join(work, 'vit-corrupt'), imageSize: 32, patchSize: 16, dModel: 8, cls: true, seed: 2 });
    const manifest = loadManifest(vit.manifestPath);
    fs.writeFileSync(manifest.modelPath, Buffer.from('this is no protobuf at all \x00\xff\xfe'.repeat(40), 'latin1'));
    const error = await BackboneSession.open(manifest, 'block_0', 'cpu').then(
      () => null,
      (err: Error) => err,
    );
    expect(error?.message).toMatch(new RegExp(`^${manifest.modelPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not an ONNX model \\(`));
    expect(error?.message).not.toContain('\n');
  });

  it("onnxruntime's own coloured log lines are silenced: a model that fails at run time prints nothing", () => {
    const script = path.join(ROOT, 'tests/helpers/ortRunChild.ts');
    const run = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(run.stdout, run.stderr).toMatch(/^refused: Non-zero status code returned while running Reshape/);
    expect(run.stderr).not.toMatch(/onnxruntime/);
    expect(run.stderr).not.toContain('\x1b[');
  }, 60_000);

  it('a huge input.resize_to (or crop/size) is refused at manifest validation with the numbers', async () => {
    const good = (await goodManifest()) as { input: Record<string, unknown> };
    const file = path.join(work, 'huge-manifest.json');
    fs.writeFileSync(file, JSON.stringify({ ...good, input: { ...good.input, resize_to: 1_000_000 } }));
    expect(() => loadManifest(file)).toThrow(/input\.resize_to: must be at most 4096 pixels/);
    fs.writeFileSync(file, JSON.stringify({ ...good, input: { ...good.input, size: 50_000, crop: 50_000, resize_to: 50_000 } }));
    expect(() => loadManifest(file)).toThrow(/input\.crop: must be at most 4096 pixels/);
  });
});
