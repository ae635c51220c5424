import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeBindingOf, nativeDirOf, prepareNativeSqlite, type NativeOptions } from '../../src-main/hosts/launch/electronNativeSqlite.js';

// better-sqlite3 for Electron on first start: the prebuilt binary through better-sqlite3's own
// prebuild-install (here from a local mirror), compiling only when none can be fetched.

const repoRoot = path.resolve(__dirname, '..', '..');
const scratch = path.join(repoRoot, '.tmp');
const PREBUILT = Buffer.from('prebuilt-binding-for-electron');

let server: http.Server;
let mirror = '';
let tarball: Buffer;
let serveTarball = true;
const requested: string[] = [];

beforeAll(async () => {
  mkdirSync(scratch, { recursive: true });
  const staging = mkdtempSync(path.join(scratch, 'prebuilt-'));
  mkdirSync(path.join(staging, 'build', 'Release'), { recursive: true });
  writeFileSync(path.join(staging, 'build', 'Release', 'better_sqlite3.node'), PREBUILT);
  execFileSync('tar', ['czf', path.join(staging, 'p.tar.gz'), '-C', staging, 'build']);
  tarball = readFileSync(path.join(staging, 'p.tar.gz'));
  rmSync(staging, { recursive: true, force: true });
  server = http.createServer((req, res) => {
    requested.push(req.url ?? '');
    if (serveTarball && req.url?.endsWith('.tar.gz')) res.writeHead(200).end(tarball);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

/** A project root inside the repo (so prebuild-install resolves from node_modules) with a fake better-sqlite3. */
function project(): string {
  const root = mkdtempSync(path.join(scratch, 'native-'));
  const pkg = path.join(root, 'node_modules', 'better-sqlite3');
  mkdirSync(path.join(pkg, 'build', 'Release'), { recursive: true });
  writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'better-sqlite3', version: '12.11.1' }));
  // The Node build, which must never be copied as if it were Electron's.
  writeFileSync(path.join(pkg, 'build', 'Release', 'better_sqlite3.node'), 'node-build');
  return root;
}

function options(root: string, compile?: NativeOptions['compile']): NativeOptions & { said: string[] } {
  const said: string[] = [];
  return {
    env: {
      PATH: process.env.PATH,
      npm_config_cache: path.join(root, 'npm-cache'),
      npm_config_better_sqlite3_binary_host: mirror,
    },
    prebuiltTimeoutMs: 30_000,
    say: (line) => said.push(line),
    compile,
    said,
  };
}

const target = (root: string) => ({ projectRoot: root, electronVersion: '45.4.1', platform: 'linux' as const, arch: 'x64' });

describe('better-sqlite3 for Electron', () => {
  it('takes the prebuilt binary for Electron\'s ABI, then reuses it', async () => {
    serveTarball = true;
    requested.length = 0;
    const root = project();
    let compiled = false;
    const opts = options(root, async () => {
      compiled = true;
    });
    expect(await prepareNativeSqlite(target(root), opts)).toEqual({ ok: true, how: 'prebuilt' });
    expect(compiled).toBe(false);
    expect(requested).toEqual(['/v12.11.1/better-sqlite3-v12.11.1-electron-v150-linux-x64.tar.gz']);
    expect(readFileSync(nativeBindingOf(root))).toEqual(PREBUILT);
    expect(JSON.parse(readFileSync(path.join(nativeDirOf(root), 'stamp.json'), 'utf8'))).toMatchObject({
      electron: '45.4.1',
      'better-sqlite3': '12.11.1',
      how: 'prebuilt',
    });
    expect(opts.said[0]).toContain('Fetching the prebuilt better-sqlite3 12.11.1 for Electron 45.4.1');

    expect(await prepareNativeSqlite(target(root), opts)).toEqual({ ok: true, how: 'cached' });
    // another Electron version is another ABI: fetched again
    expect(await prepareNativeSqlite({ ...target(root), electronVersion: '44.0.0' }, opts)).toEqual({ ok: true, how: 'prebuilt' });
    expect(requested.at(-1)).toContain('electron-v149-linux-x64');
    rmSync(root, { recursive: true, force: true });
  });

  it('compiles only when no prebuilt binary can be fetched', async () => {
    serveTarball = false;
    const root = project();
    const opts = options(root, async (nativeDir) => {
      expect(existsSync(path.join(nativeDir, 'node_modules', 'better-sqlite3', 'build'))).toBe(false);
      mkdirSync(path.dirname(nativeBindingOf(root)), { recursive: true });
      writeFileSync(nativeBindingOf(root), 'compiled');
    });
    expect(await prepareNativeSqlite(target(root), opts)).toEqual({ ok: true, how: 'compiled' });
    expect(readFileSync(nativeBindingOf(root), 'utf8')).toBe('compiled');
    expect(opts.said[1]).toMatch(/^No prebuilt binary \(No prebuilt binaries found \(target=45\.4\.1 runtime=electron .*\)\); compiling better-sqlite3/);
    rmSync(root, { recursive: true, force: true });
  });

  it('names both failures and leaves nothing half-built when compiling fails too', async () => {
    serveTarball = false;
    const root = project();
    const result = await prepareNativeSqlite(
      target(root),
      options(root, async () => {
        throw new Error('gyp ERR! could not download headers');
      }),
    );
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(/no prebuilt binary \(No prebuilt binaries found .*\) and compiling failed \(gyp ERR! could not download headers\)/);
    expect(existsSync(nativeDirOf(root))).toBe(false);
    rmSync(root, { recursive: true, force: true });
  });
});
