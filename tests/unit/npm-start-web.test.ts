import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';

// The README's command on a machine where Electron cannot run (this one: no display, and Node 20
// or no Electron download): `npm start` must still end in a working studio on loopback, saying
// why the desktop app did not start.

const repoRoot = path.resolve(__dirname, '..', '..');

it('npm start ends with the web studio answering on 127.0.0.1 and says why Electron was not used', async () => {
  const settings = mkdtempSync(path.join(os.tmpdir(), 'npm-start-'));
  const env: NodeJS.ProcessEnv = { ...process.env, STUDIO_SETTINGS_DIR: settings, STUDIO_NO_BROWSER: '1' };
  delete env.DISPLAY;
  delete env.WAYLAND_DISPLAY;
  delete env.STUDIO_START;
  const child = spawn(process.execPath, [path.join(repoRoot, 'scripts', 'start.mjs'), '--port', '0'], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  try {
    for (let i = 0; i < 1200 && !/running at http/.test(output) && child.exitCode === null; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    // The printed address carries the web host's access token, which signs the browser in.
    const printed = /(http:\/\/127\.0\.0\.1:\d+\/)\?token=[\w-]+/.exec(output);
    expect(printed, output).toBeTruthy();
    const [url, origin] = [printed![0], printed![1]!];
    expect(output).toMatch(/Feature Studio: the desktop app cannot start: (Node \d+\.\d+\.\d+ is older than 22\.12\.0|there is no display)/);
    expect(output).toContain('Starting the same studio in your browser instead');

    expect((await fetch(origin)).status).toBe(401);
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app">');
    const cookie = page.headers.get('set-cookie')!.split(';')[0]!;
    const info = await fetch(`${origin}api/appInfo`, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: '{}' });
    expect(await info.json()).toMatchObject({ ok: true, result: { host: 'web' } });
  } finally {
    child.kill('SIGINT');
    await new Promise((resolve) => child.once('close', resolve));
    rmSync(settings, { recursive: true, force: true });
  }
  expect(output).toContain('Stopping');
}, 150_000);
