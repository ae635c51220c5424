import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import electronFuses from '@electron/fuses';
import { expect, test } from '@playwright/test';

// The fuses of a *packaged* app (electron-builder flips them; the Electron binary in
// node_modules that app.spec.ts drives has none flipped). Needs `npm run dist -- --dir` (or a
// full dist) on this OS first, or STUDIO_PACKAGED_APP pointing at the packaged executable
// (`.app` on macOS); skips otherwise, as on our build machines, which cannot download Electron.

// A CommonJS package whose enums Node's ESM loader cannot see as named exports.
const { FuseV1Options, getCurrentFuseWire } = electronFuses;
/** A fuse's byte in the wire: ASCII '0' off, '1' on (@electron/fuses does not export its enum). */
const FuseState = { DISABLE: 0x30, ENABLE: 0x31 } as const;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The packaged app for this OS: [path @electron/fuses reads, executable to start]. */
function packagedApp(): { fusePath: string; executable: string } | null {
  const given = process.env.STUDIO_PACKAGED_APP;
  const candidates: Array<{ fusePath: string; executable: string }> = given
    ? [{ fusePath: given, executable: given.endsWith('.app') ? path.join(given, 'Contents', 'MacOS', path.basename(given, '.app')) : given }]
    : process.platform === 'darwin'
      ? ['mac-arm64', 'mac'].map((dir) => {
          const app = path.join(root, 'dist', dir, 'Feature Studio.app');
          return { fusePath: app, executable: path.join(app, 'Contents', 'MacOS', 'Feature Studio') };
        })
      : process.platform === 'win32'
        ? [{ fusePath: path.join(root, 'dist', 'win-unpacked', 'Feature Studio.exe'), executable: path.join(root, 'dist', 'win-unpacked', 'Feature Studio.exe') }]
        : [{ fusePath: path.join(root, 'dist', 'linux-unpacked', 'feature-studio'), executable: path.join(root, 'dist', 'linux-unpacked', 'feature-studio') }];
  return candidates.find((c) => existsSync(c.executable)) ?? null;
}

const packaged = packagedApp();
test.skip(!packaged, 'No packaged app on this machine (npm run dist -- --dir builds one); skipping packaged-app checks');

/** Starts the packaged app with `env` added, gives it `ms`, then stops it; returns its output. */
async function runBriefly(args: string[], env: Record<string, string>, ms: number): Promise<string> {
  const userData = mkdtempSync(path.join(os.tmpdir(), 'studio-packaged-'));
  try {
    const child = spawn(packaged!.executable, args, { env: { ...process.env, STUDIO_USER_DATA_DIR: userData, ...env } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        child.kill();
        resolve();
      }, ms);
      child.on('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return output;
  } finally {
    rmSync(userData, { recursive: true, force: true });
  }
}

test('the packaged binary carries the hardened fuse wire', async () => {
  const wire = await getCurrentFuseWire(packaged!.fusePath);
  expect(wire[FuseV1Options.RunAsNode]).toBe(FuseState.DISABLE);
  expect(wire[FuseV1Options.EnableNodeOptionsEnvironmentVariable]).toBe(FuseState.DISABLE);
  expect(wire[FuseV1Options.EnableNodeCliInspectArguments]).toBe(FuseState.DISABLE);
  expect(wire[FuseV1Options.EnableCookieEncryption]).toBe(FuseState.ENABLE);
  expect(wire[FuseV1Options.EnableEmbeddedAsarIntegrityValidation]).toBe(FuseState.ENABLE);
  expect(wire[FuseV1Options.OnlyLoadAppFromAsar]).toBe(FuseState.ENABLE);
  expect(wire[FuseV1Options.GrantFileProtocolExtraPrivileges]).toBe(FuseState.DISABLE);
});

test('ELECTRON_RUN_AS_NODE does not turn the packaged app into Node.js', async () => {
  test.setTimeout(60_000);
  const output = await runBriefly(['-e', 'process.stdout.write("ran-as-node\\n"); process.exit(0)'], { ELECTRON_RUN_AS_NODE: '1' }, 8_000);
  expect(output).not.toContain('ran-as-node');
});

test('NODE_OPTIONS cannot preload code into the packaged app', async () => {
  test.setTimeout(60_000);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'studio-node-options-'));
  try {
    const marker = path.join(dir, 'preloaded');
    const script = path.join(dir, 'preload.cjs');
    writeFileSync(script, `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'yes');\n`);
    await runBriefly([], { NODE_OPTIONS: `--require ${JSON.stringify(script)}` }, 8_000);
    expect(existsSync(marker)).toBe(false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the packaged app refuses to start with a remote-debugging port', async () => {
  test.setTimeout(60_000);
  const output = await runBriefly(['--remote-debugging-port=0'], {}, 8_000);
  expect(output).toContain('does not start with debugging switches');
});
