// The `studio` command as users run it: bin/studio.mjs in a fresh Node process, which runs the
// esbuild bundle (out/cli/) and rebuilds it when a source it was built from changed. The other CLI
// tests call runCli() in-process on the sources; these check what only the bundle can break: its
// workers (index, analysis), its paths (project root, manifests), its freshness stamp, and that it
// answers exactly what the sources answer.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_VERSION } from '../../src-main/core/version.js';
import { freshCliBundle, writeCliStamp } from '../../scripts/build-cli-stamp.mjs';
import { makeImageFolder } from '../helpers/makeImageFolder.js';
import { makeSae } from '../helpers/makeSae.js';
import { makeTinyVit } from '../helpers/makeTinyVit.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const STUDIO = path.join(REPO, 'bin', 'studio.mjs');

let work: string;
let buildDir: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-cli-bin-'));
  // A build folder of this test's own, so it never races a developer's out/cli or another test;
  // inside the project, where the bundle finds node_modules.
  buildDir = path.join(REPO, 'out', `cli-test-${process.pid}`);
});
afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
  fs.rmSync(buildDir, { recursive: true, force: true });
});

function studio(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [STUDIO, ...args], {
    cwd: work,
    encoding: 'utf8',
    env: { ...process.env, STUDIO_SETTINGS_DIR: path.join(work, 'settings'), STUDIO_CLI_BUILD_DIR: buildDir, STUDIO_CLI_TRACE: '1', ...env },
  });
  const lines = r.stderr.split('\n');
  const trace = lines.filter((line) => line.startsWith('studio: '));
  const stderr = lines.filter((line) => !line.startsWith('studio: ')).join('\n');
  return { code: r.status, stdout: r.stdout, stderr, trace };
}

const currentBuild = () =>
  JSON.parse(fs.readFileSync(path.join(buildDir, 'stamp.json'), 'utf8')) as { build: string; started: number; files: Record<string, number | null> };

/** Where a run rebuilt the bundle, the source it named must really have changed since `since`. */
function expectRebuildsOnlyForRealEdits(trace: string[], since: number) {
  for (const line of trace) {
    const m = /^studio: rebuilding the bundle: (\S+) changed$/.exec(line);
    if (line.startsWith('studio: rebuilding') && !m) throw new Error(`unexpected rebuild: ${line}`);
    // Someone edited the tree meanwhile (helpers share this checkout): fine, if it is true.
    if (m) expect(fs.statSync(path.join(REPO, m[1]!), { throwIfNoEntry: false })?.mtimeMs ?? Infinity).toBeGreaterThanOrEqual(since);
  }
}

describe('bin/studio.mjs', () => {
  it('builds the bundle on first use, then starts from it without rebuilding', () => {
    const first = studio(['--version']);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(`${APP_VERSION}\n`);
    expect(first.trace[0]).toBe(`studio: rebuilding the bundle: no build in ${buildDir}`);
    const built = currentBuild().build;
    expect(first.trace[1]).toMatch(/, built in \d+ ms$/);
    expect(first.trace[1]!.startsWith(`studio: running the bundle ${path.join(buildDir, built, 'main.js')}, `)).toBe(true);

    const firstStarted = currentBuild().started;
    const second = studio(['--help']);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('Usage: studio');
    expectRebuildsOnlyForRealEdits(second.trace, firstStarted);
    if (second.trace.length === 1) expect(second.trace).toEqual([`studio: running the bundle ${path.join(buildDir, built, 'main.js')}`]);
    // The stamp names the CLI's sources and the worker entries it bundles.
    expect(Object.keys(currentBuild().files)).toEqual(
      expect.arrayContaining(['src-main/hosts/cli/main.ts', 'src-main/worker/indexWorker.ts', 'src-main/worker/analysisWorker.ts', 'node_modules/.package-lock.json']),
    );
  }, 120_000);

  it('loads no native package, zod or contract schema for --help: each command is imported when it runs', () => {
    const { build } = currentBuild();
    const meta = JSON.parse(fs.readFileSync(path.join(buildDir, build, 'meta.json'), 'utf8')) as {
      outputs: Record<string, { imports: { path: string; kind: string; external?: boolean }[]; inputs: Record<string, unknown> }>;
    };
    const outputs = new Map(Object.entries(meta.outputs).map(([file, out]) => [path.resolve(REPO, file), out]));
    // Everything main.js loads before it runs: its static imports, transitively.
    const loaded = new Set<string>();
    const externals = new Set<string>();
    const visit = (file: string) => {
      if (loaded.has(file)) return;
      loaded.add(file);
      for (const imp of outputs.get(file)!.imports) {
        if (imp.kind !== 'import-statement') continue;
        if (imp.external) externals.add(imp.path);
        else visit(path.resolve(REPO, imp.path));
      }
    };
    visit(path.join(buildDir, build, 'main.js'));
    const inputs = [...loaded].flatMap((file) => Object.keys(outputs.get(file)!.inputs));
    expect([...externals].filter((name) => !name.startsWith('node:'))).toEqual([]);
    expect(inputs.filter((file) => /node_modules\/(zod|onnx-proto|protobufjs)\//.test(file))).toEqual([]);
    expect(inputs.filter((file) => file.startsWith('src-main/contract/') && file !== 'src-main/contract/errors.ts')).toEqual([]);
    expect(inputs.filter((file) => file.startsWith('src-main/hosts/cli/commands/') && !file.endsWith('/defaultPort.ts'))).toEqual([]);
    expect(inputs).toContain('src-main/hosts/cli/program.ts');
  });

  it('rebuilds when a source the bundle was built from changed, and keeps the older build for running processes', () => {
    const before = currentBuild();
    // What an edit looks like to the stamp: the recorded mtime of program.ts no longer matches.
    const stampFile = path.join(buildDir, 'stamp.json');
    const edited = { ...before, files: { ...before.files, 'src-main/hosts/cli/program.ts': 1 } };
    fs.writeFileSync(stampFile, JSON.stringify(edited));

    const r = studio(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${APP_VERSION}\n`);
    // (Another source than program.ts may be named when someone edits the tree meanwhile.)
    expect(r.trace[0]).toMatch(/^studio: rebuilding the bundle: \S+ changed$/);
    const after = currentBuild();
    expect(after.build).not.toBe(before.build);
    expect(fs.existsSync(path.join(buildDir, before.build, 'main.js'))).toBe(true);
  }, 120_000);

  it('builds once when several starts find the bundle stale together', async () => {
    const parallelDir = `${buildDir}-parallel`;
    const start = () =>
      new Promise<string>((resolve) => {
        const env = { ...process.env, STUDIO_CLI_BUILD_DIR: parallelDir, STUDIO_CLI_TRACE: '1' };
        const child = spawn(process.execPath, [STUDIO, '--version'], { cwd: work, env, stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (chunk) => (stderr += chunk));
        child.on('close', () => resolve(stderr));
      });
    try {
      const traces = await Promise.all([start(), start(), start()]);
      expect(fs.readdirSync(parallelDir).filter((name) => name.startsWith('b-'))).toHaveLength(1);
      expect(traces.filter((t) => /, built in \d+ ms$/m.test(t))).toHaveLength(1);
      expect(traces.filter((t) => /, waited for another start to build it in \d+ ms$/m.test(t))).toHaveLength(2);
      expect(fs.existsSync(path.join(parallelDir, 'build.lock'))).toBe(false);
    } finally {
      fs.rmSync(parallelDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('takes over the lock a killed build left behind', () => {
    const lockedDir = `${buildDir}-locked`;
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    fs.mkdirSync(lockedDir, { recursive: true });
    fs.writeFileSync(path.join(lockedDir, 'build.lock'), `${os.hostname()} ${dead.stdout}\n`);
    try {
      const r = studio(['--version'], { STUDIO_CLI_BUILD_DIR: lockedDir });
      expect(r.stdout).toBe(`${APP_VERSION}\n`);
      expect(r.trace.at(-1)).toMatch(/, built in \d+ ms$/);
      expect(fs.existsSync(path.join(lockedDir, 'build.lock'))).toBe(false);
    } finally {
      fs.rmSync(lockedDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('runs the sources through tsx with STUDIO_FROM_SOURCE', () => {
    const r = studio(['--version'], { STUDIO_FROM_SOURCE: '1' });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${APP_VERSION}\n`);
    expect(r.trace).toEqual(['studio: running the sources (STUDIO_FROM_SOURCE is set)']);
  }, 120_000);

  it('indexes, summarises, lists and queries a real index from the bundle, answering what the sources answer', async () => {
    const vit = await makeTinyVit({ dir: path.join(work, 'vit'), imageSize: 64, patchSize: 16, dModel: 16, cls: true, seed: 5, family: 'clip' });
    const sae = makeSae(path.join(work, 'sae'), { dIn: 16, dSae: 48, architecture: 'topk', k: 4, seed: 3, format: 'safetensors' });
    const data = await makeImageFolder(path.join(work, 'data'), { labels: ['a', 'b'], perLabel: 5, width: 72, height: 64, corrupt: 1, seed: 9 });
    const indexDir = path.join(work, 'index');

    // `index` runs the indexing worker: out/cli/…/indexWorker.js, found beside the bundle.
    const indexed = studio(['index', '--model', vit.manifestPath, '--layer', 'block_1', '--sae', sae, '--data', data.dir, '--out', indexDir, '--provider', 'cpu']);
    expect(indexed.stderr).not.toMatch(/error|warning/i);
    expect(indexed.code).toBe(0);
    expect(indexed.trace.at(-1)).toMatch(/^studio: running the bundle /);

    const info = studio(['info', indexDir, '--json']);
    expect(info.code).toBe(0);
    const summary = JSON.parse(info.stdout);
    expect(summary).toMatchObject({ features: 48, items: data.files.length, skipped: data.corrupt.length });

    const features = studio(['features', indexDir, '--json', '--limit', '10', '--sort', 'frequency']);
    expect(features.stderr).toBe('');
    expect(features.code).toBe(0);
    const rows = JSON.parse(features.stdout) as { index: number; frequency: number }[];
    expect(rows).toHaveLength(10);
    expect(rows.map((r) => r.frequency)).toEqual([...rows.map((r) => r.frequency)].sort((a, b) => b - a));

    // `query` runs the analysis worker (out/cli/…/analysisWorker.js); the sources must agree.
    const image = path.join(data.dir, data.files[0]!);
    const queryArgs = ['query', indexDir, image, '--patches', 'all', '--limit', '5', '--json'];
    const fromBundle = studio(queryArgs);
    expect(fromBundle.stderr).toBe('');
    expect(fromBundle.code).toBe(0);
    expect(fromBundle.trace.at(-1)).toMatch(/^studio: running the bundle /);
    const fromSources = studio(queryArgs, { STUDIO_FROM_SOURCE: '1' });
    expect(fromSources.code).toBe(0);
    expect(JSON.parse(fromBundle.stdout).features).toHaveLength(5);
    expect(fromBundle.stdout).toBe(fromSources.stdout);
    expect(studio(['info', indexDir, '--json'], { STUDIO_FROM_SOURCE: '1' }).stdout).toBe(info.stdout);
  }, 300_000);

  it('runs the sources, with a warning, when the bundle cannot be built', () => {
    // A build folder outside the checkout cannot load node_modules: refused, so the sources run.
    const r = studio(['--version'], { STUDIO_CLI_BUILD_DIR: path.join(work, 'elsewhere') });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${APP_VERSION}\n`);
    expect(r.trace).toEqual([
      `studio: could not build the CLI bundle (STUDIO_CLI_BUILD_DIR must be a folder inside ${REPO} (the bundle loads node_modules from there), not ${path.join(work, 'elsewhere')}); running the TypeScript sources (slower start).`,
    ]);
    expect(fs.existsSync(path.join(work, 'elsewhere'))).toBe(false);
  }, 120_000);

  it('prints usage errors with exit code 2 from the bundle', () => {
    const r = studio(['features']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: missing required argument 'dir'");
  }, 60_000);
});

describe('the bundle stamp', () => {
  function project() {
    const root = fs.mkdtempSync(path.join(work, 'project-'));
    const buildRoot = path.join(root, 'out', 'cli');
    fs.mkdirSync(path.join(buildRoot, 'b-1'), { recursive: true });
    fs.writeFileSync(path.join(buildRoot, 'b-1', 'main.js'), '');
    fs.writeFileSync(path.join(root, 'a.ts'), 'export const a = 1;\n');
    fs.writeFileSync(path.join(root, 'b.ts'), 'export const b = 2;\n');
    const past = new Date(Date.now() - 60_000);
    for (const f of ['a.ts', 'b.ts']) fs.utimesSync(path.join(root, f), past, past);
    return { root, buildRoot };
  }

  it('is fresh while every input keeps its recorded time, and a missing input is recorded as missing', () => {
    const { root, buildRoot } = project();
    writeCliStamp(root, buildRoot, { build: 'b-1', started: Date.now(), files: ['a.ts', 'b.ts', 'node_modules/.package-lock.json'] });
    expect(freshCliBundle(root, buildRoot)).toEqual({ main: path.join(buildRoot, 'b-1', 'main.js') });
  });

  it('is stale when an input is edited, deleted or appears, or the build is gone', () => {
    const { root, buildRoot } = project();
    const stamp = { build: 'b-1', started: Date.now(), files: ['a.ts', 'b.ts', 'node_modules/.package-lock.json'] };
    writeCliStamp(root, buildRoot, stamp);
    fs.writeFileSync(path.join(root, 'a.ts'), 'export const a = 3;\n');
    expect(freshCliBundle(root, buildRoot)).toEqual({ stale: 'a.ts changed' });

    writeCliStamp(root, buildRoot, { ...stamp, started: Date.now() + 1000 });
    fs.rmSync(path.join(root, 'b.ts'));
    expect(freshCliBundle(root, buildRoot)).toEqual({ stale: 'b.ts changed' });

    writeCliStamp(root, buildRoot, { ...stamp, started: Date.now() + 1000 });
    fs.mkdirSync(path.join(root, 'node_modules'));
    fs.writeFileSync(path.join(root, 'node_modules', '.package-lock.json'), '{}');
    expect(freshCliBundle(root, buildRoot)).toEqual({ stale: 'node_modules/.package-lock.json changed' });

    writeCliStamp(root, buildRoot, { ...stamp, started: Date.now() + 1000 });
    expect('main' in freshCliBundle(root, buildRoot)).toBe(true);
    fs.rmSync(path.join(buildRoot, 'b-1'), { recursive: true });
    expect(freshCliBundle(root, buildRoot)).toEqual({ stale: `${path.join(buildRoot, 'b-1', 'main.js')} is missing` });
  });

  it('is stale when an input changed while the bundle was being built', () => {
    const { root, buildRoot } = project();
    // The build started, then a.ts was saved before esbuild finished: the stamp records the new
    // time, but the bundle may hold the old text.
    const started = Date.now() - 1000;
    fs.writeFileSync(path.join(root, 'a.ts'), 'export const a = 4;\n');
    writeCliStamp(root, buildRoot, { build: 'b-1', started, files: ['a.ts', 'b.ts'] });
    expect(freshCliBundle(root, buildRoot)).toEqual({ stale: 'a.ts changed while the bundle was built' });
  });

  it('is stale when the stamp is unreadable or from another format', () => {
    const { root, buildRoot } = project();
    expect(freshCliBundle(root, buildRoot)).toEqual({ stale: `no build in ${buildRoot}` });
    fs.writeFileSync(path.join(buildRoot, 'stamp.json'), '{"format": 0, "build": "b-1", "files": {}}');
    expect(freshCliBundle(root, buildRoot)).toEqual({ stale: 'stamp from another version of the build script' });
  });
});
