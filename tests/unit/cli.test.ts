import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StudioBackendOptions } from '../../src-main/core/backend.js';
import type { CliDeps } from '../../src-main/hosts/cli/context.js';
import { runCli } from '../../src-main/hosts/cli/program.js';
import { DEFAULT_PORT } from '../../src-main/hosts/cli/commands/serveCommand.js';
import { createFakeBackend, fakeJob, FAKE_FEATURES, type FakeBackend } from '../helpers/fakeBackend.js';

let base: string;

beforeAll(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'cli-'));
  mkdirSync(path.join(base, 'out', 'renderer'), { recursive: true });
  writeFileSync(path.join(base, 'out', 'renderer', 'index.html'), '<title>x</title>');
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

function harness(options: { tty?: boolean; backend?: FakeBackend } = {}) {
  const backend = options.backend ?? createFakeBackend();
  const out: string[] = [];
  const err: string[] = [];
  const interrupts = new Set<() => void>();
  const created: StudioBackendOptions[] = [];
  let clock = 0;
  const opened: string[] = [];
  const deps: CliDeps = {
    createBackend: async (opts) => {
      created.push(opts);
      return backend;
    },
    stdout: { write: (t: string) => out.push(t) },
    stderr: { write: (t: string) => err.push(t), isTTY: options.tty ?? false, columns: 120 },
    env: { STUDIO_SETTINGS_DIR: path.join(base, 'settings') },
    onInterrupt: (h) => {
      interrupts.add(h);
      return () => interrupts.delete(h);
    },
    now: () => (clock += 1000),
    projectRoot: base,
    buildRenderer: async () => {
      throw new Error('should not build: out/renderer/index.html exists');
    },
    openUrl: async (url) => {
      opened.push(url);
      return 'opened';
    },
  };
  return {
    backend,
    deps,
    created,
    opened,
    stdout: () => out.join(''),
    stderr: () => err.join(''),
    interrupt: () => [...interrupts].forEach((h) => h()),
    interruptCount: () => interrupts.size,
  };
}

const indexArgs = ['index', '--model', 'm.json', '--layer', 'block10', '--sae', 'sae.pt', '--data', 'imgs', '--out', 'idx'];

describe('studio info', () => {
  it('prints the summary as JSON', async () => {
    const h = harness();
    expect(await runCli(['info', '/data/index', '--json'], h.deps)).toBe(0);
    const json = JSON.parse(h.stdout());
    expect(json).toMatchObject({ features: FAKE_FEATURES, items: 4, tokens: 1000, skipped: 1, provider: 'cpu' });
    expect(json.model.name).toBe('tiny-clip');
    expect(json.sae.architecture).toBe('topk');
    expect(h.created[0]).toEqual({ settingsDir: path.join(base, 'settings'), host: 'web' });
    expect(h.backend.closed).toBe(true);
  });

  it('prints a readable table', async () => {
    const h = harness();
    expect(await runCli(['info', '/data/index'], h.deps)).toBe(0);
    expect(h.stdout()).toMatch(/^Index\s+CLIP-5/m);
    expect(h.stdout()).toMatch(/^Features\s+5 \(1 dead, 2 dense\)/m);
  });

  it('prints backend errors as "error: <message>" with exit code 1', async () => {
    const h = harness();
    expect(await runCli(['info', '/x/missing'], h.deps)).toBe(1);
    expect(h.stderr()).toBe(`error: No index at ${path.resolve('/x/missing')}.\n`);
    expect(h.backend.closed).toBe(true);
  });
});

describe('studio features', () => {
  it('lists all features in index order with exemplars as JSON', async () => {
    const h = harness();
    expect(await runCli(['features', '/data/index', '--json'], h.deps)).toBe(0);
    const rows = JSON.parse(h.stdout());
    expect(rows.map((r: { feature: number }) => r.feature)).toEqual([0, 1, 2, 3, 4]);
    expect(rows[1]).toEqual({
      feature: 1,
      frequency: 0.02,
      mean: 1.1,
      max: 3,
      exemplars: [
        { item: 'cat/0.jpg', value: 3 },
        { item: 'cat/1.jpg', value: 2 },
      ],
      // The detail's activation ranges, items trimmed like the exemplars (the real index's are
      // checked against a brute force in heldout-index.test.ts).
      rangeSamples: [{ lo: 1, hi: 10 ** 0.5, count: 5, items: [{ item: 'cat/1.jpg', value: 2 }] }],
    });
    expect(Object.keys(rows[0]).sort()).toEqual(['exemplars', 'feature', 'frequency', 'max', 'mean', 'rangeSamples']);
  });

  it('sorts (highest first) and limits', async () => {
    const h = harness();
    expect(await runCli(['features', '/data/index', '--json', '--sort', 'max', '--limit', '2'], h.deps)).toBe(0);
    expect(JSON.parse(h.stdout()).map((r: { feature: number }) => r.feature)).toEqual([4, 3]);
  });

  it('prints an empty array for --limit 0', async () => {
    const h = harness();
    expect(await runCli(['features', '/data/index', '--json', '--limit', '0'], h.deps)).toBe(0);
    expect(JSON.parse(h.stdout())).toEqual([]);
  });

  it('gives one feature as an object', async () => {
    const h = harness();
    expect(await runCli(['features', '/data/index', '--json', '--feature', '3'], h.deps)).toBe(0);
    expect(JSON.parse(h.stdout())).toMatchObject({ feature: 3, max: 5, exemplars: [{ item: 'cat/0.jpg', value: 5 }, { item: 'cat/1.jpg', value: 4 }] });
  });

  it('refuses a feature out of range with an actionable message', async () => {
    const h = harness();
    expect(await runCli(['features', '/data/index', '--feature', '99'], h.deps)).toBe(1);
    expect(h.stderr()).toMatch(/^error: Feature 99 does not exist: CLIP-5 has features 0\.\.4\./);
  });

  it('prints a table with feature names', async () => {
    const h = harness();
    expect(await runCli(['features', '/data/index', '--limit', '2'], h.deps)).toBe(0);
    expect(h.stdout()).toContain('CLIP-5/0');
    expect(h.stdout()).toContain('CLIP-5/1');
    expect(h.stdout()).not.toContain('CLIP-5/2');
  });
});

describe('usage errors', () => {
  it.each([
    [['features', '/d', '--sort', 'bogus']],
    [['features', '/d', '--limit', '-1']],
    [['index', '--model', 'm']],
    [['info']],
    [['nope']],
    [[]],
    [[...indexArgs, '--provider', 'tpu']],
    [[...indexArgs, '--top-k', '0']],
  ])('exits 2 for %j', async (argv) => {
    const h = harness();
    expect(await runCli(argv, h.deps)).toBe(2);
    expect(h.created).toHaveLength(0);
  });

  it('exits 0 for --help', async () => {
    const h = harness();
    expect(await runCli(['--help'], h.deps)).toBe(0);
    expect(h.stdout()).toContain('Usage: studio');
  });
});

describe('studio index', () => {
  it('starts the job with absolute paths, shows progress and prints a summary', async () => {
    const h = harness();
    h.backend.jobScript = [
      fakeJob('running', 1),
      fakeJob('running', 2, { jobId: 'other-job' }),
      fakeJob('running', 3),
      fakeJob('done', 4, { progress: { phase: 'finalizing', done: 4, total: 4, skipped: 1, itemsPerSec: 2, etaSec: 0 } }),
    ];
    expect(await runCli([...indexArgs, '--top-k', '8', '--provider', 'cpu'], h.deps)).toBe(0);
    expect(h.backend.calls.find((c) => c.method === 'startIndex')?.arg).toEqual({
      model: path.resolve('m.json'),
      layer: 'block10',
      sae: path.resolve('sae.pt'),
      data: path.resolve('imgs'),
      out: path.resolve('idx'),
      topK: 8,
      batch: undefined,
      provider: 'cpu',
    });
    // Not a TTY: the first line at once, then at most one line per 10 s (the fake clock is slower).
    expect(h.stderr()).toContain('indexing 0/4 (0.0%)');
    expect(h.stderr().split('\n').filter((l) => l.startsWith('indexing'))).toHaveLength(1);
    expect(h.stdout()).toMatch(/Indexed 4 items \(1 skipped\) in .* with provider cpu\./); // from the reopened summary
    expect(h.stdout()).toContain('CLIP-5: 5 features (1 dead, 2 dense)');
    expect(h.interruptCount()).toBe(0);
    expect(h.backend.listenerCount()).toBe(0);
  });

  it('rewrites a single line on a TTY', async () => {
    const h = harness({ tty: true });
    h.backend.jobScript = [fakeJob('running', 1), fakeJob('running', 2), fakeJob('done', 4)];
    expect(await runCli(indexArgs, h.deps)).toBe(0);
    expect(h.stderr().match(/\r\x1b\[2K/g)?.length).toBeGreaterThanOrEqual(2);
    expect(h.stderr().endsWith('\n')).toBe(true);
  });

  it('reports a failed job with exit code 1', async () => {
    const h = harness();
    h.backend.jobScript = [fakeJob('failed', 1, { error: 'SAE d_in 512 does not match layer width 768.' })];
    expect(await runCli(indexArgs, h.deps)).toBe(1);
    expect(h.stderr()).toContain('error: SAE d_in 512 does not match layer width 768.');
  });

  it('reports a refused start with exit code 1', async () => {
    const h = harness();
    expect(await runCli(['index', '--model', 'missing.json', ...indexArgs.slice(3)], h.deps)).toBe(1);
    expect(h.stderr()).toMatch(/^error: Model manifest .*missing\.json not found\./);
  });

  it('cancels on Ctrl-C, exits 130 and says how to resume', async () => {
    const h = harness();
    h.backend.jobScript = [fakeJob('running', 1), fakeJob('running', 2), fakeJob('running', 3)];
    const origCancel = h.backend.cancelJob.bind(h.backend);
    h.backend.cancelJob = async (args) => {
      await origCancel(args);
      setTimeout(() => h.backend.emit({ type: 'job', job: fakeJob('cancelled', 2) }), 5);
    };
    const running = runCli(indexArgs, h.deps);
    await new Promise((r) => setTimeout(r, 12));
    h.interrupt();
    expect(await running).toBe(130);
    expect(h.backend.calls.some((c) => c.method === 'cancelJob' && (c.arg as { jobId: string }).jobId === 'job1')).toBe(true);
    expect(h.stderr()).toContain('run the same command again to resume');
    expect(h.backend.closed).toBe(true);
  });

  it('stops immediately on a second Ctrl-C', async () => {
    const h = harness();
    h.backend.jobScript = [fakeJob('running', 1)];
    const running = runCli(indexArgs, h.deps);
    await new Promise((r) => setTimeout(r, 10));
    h.interrupt();
    h.interrupt();
    expect(await running).toBe(130);
    expect(h.stderr()).toContain('Stopped.');
  });
});

describe('studio serve', () => {
  it('serves on 127.0.0.1 with the index opened at start, until Ctrl-C', async () => {
    const h = harness();
    const running = runCli(['serve', '/data/index', '--port', '0'], h.deps);
    for (let i = 0; i < 50 && !h.stdout().includes('http://'); i++) await new Promise((r) => setTimeout(r, 10));
    // The printed address carries the run's access token; the host answers nothing without it.
    const printed = /(http:\/\/127\.0\.0\.1:\d+\/)\?token=([\w-]{43,})/.exec(h.stdout());
    expect(printed, h.stdout()).toBeTruthy();
    const [origin, token] = [printed![1]!, printed![2]!];
    expect(h.created[0]).toMatchObject({ host: 'web', openAtStart: path.resolve('/data/index') });
    expect((await fetch(`${origin}api/appInfo`, { method: 'POST' })).status).toBe(401);
    const res = await fetch(`${origin}api/appInfo`, { method: 'POST', headers: { 'X-Studio-Token': token } });
    expect(await res.json()).toMatchObject({ ok: true });
    h.interrupt();
    expect(await running).toBe(0);
    expect(h.backend.closed).toBe(true);
  });

  it('opens the browser with --open, on the printed address with its token', async () => {
    const h = harness();
    const running = runCli(['serve', '--port', '0', '--open'], h.deps);
    for (let i = 0; i < 50 && !h.stdout().includes('default browser'); i++) await new Promise((r) => setTimeout(r, 10));
    const url = /http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+/.exec(h.stdout())?.[0];
    expect(url).toBeTruthy();
    expect(h.opened).toEqual([url]);
    h.interrupt();
    expect(await running).toBe(0);
  });

  it('takes any free port when the default one is busy, but refuses a busy port asked for', async () => {
    const blocker = http.createServer();
    await new Promise<void>((resolve) => blocker.listen(DEFAULT_PORT, '127.0.0.1', resolve)).catch(() => undefined);
    try {
      const h = harness();
      const running = runCli(['serve'], h.deps);
      for (let i = 0; i < 100 && !h.stdout().includes('http://'); i++) await new Promise((r) => setTimeout(r, 10));
      const port = Number(/127\.0\.0\.1:(\d+)\//.exec(h.stdout())?.[1]);
      expect(port).toBeGreaterThan(0);
      expect(port).not.toBe(DEFAULT_PORT);
      h.interrupt();
      expect(await running).toBe(0);

      const asked = harness();
      expect(await runCli(['serve', '--port', String(DEFAULT_PORT)], asked.deps)).toBe(1);
      expect(asked.stderr()).toContain(`Port ${DEFAULT_PORT} on 127.0.0.1 is already in use`);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('builds the renderer first when it is missing', async () => {
    const h = harness();
    const root = mkdtempSync(path.join(os.tmpdir(), 'cli-build-'));
    let built = false;
    h.deps.projectRoot = root;
    h.deps.buildRenderer = async (projectRoot) => {
      mkdirSync(path.join(projectRoot, 'out', 'renderer'), { recursive: true });
      writeFileSync(path.join(projectRoot, 'out', 'renderer', 'index.html'), 'x');
      built = true;
    };
    const running = runCli(['serve', '--port', '0'], h.deps);
    for (let i = 0; i < 50 && !h.stdout().includes('http://'); i++) await new Promise((r) => setTimeout(r, 10));
    h.interrupt();
    expect(await running).toBe(0);
    expect(built).toBe(true);
    rmSync(root, { recursive: true, force: true });
  });
});
