import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// What `npm install` runs on a user's machine. A coming npm runs only the install scripts that
// package.json's allowScripts approves: better-sqlite3 would then have no binary and ffmpeg would
// not be executable. onnxruntime-node's script only downloads CUDA files, so it is denied (an
// offline install must not need it; `npm run enable-cuda` runs it on purpose).

const root = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  allowScripts: Record<string, boolean>;
  engines: { node: string };
  scripts: Record<string, string>;
};
const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { hasInstallScript?: boolean; version?: string }>;
};

function allowed(name: string, version: string): boolean | undefined {
  return pkg.allowScripts[`${name}@${version}`] ?? pkg.allowScripts[name];
}

describe('install scripts', () => {
  const withScripts = Object.entries(lock.packages)
    .filter(([key, entry]) => key.startsWith('node_modules/') && entry.hasInstallScript)
    .map(([key, entry]) => ({ name: key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length), version: entry.version ?? '' }));

  it('every dependency with an install script is decided in allowScripts', () => {
    expect(withScripts.length).toBeGreaterThan(5);
    const undecided = withScripts.filter(({ name, version }) => allowed(name, version) === undefined);
    expect(undecided).toEqual([]);
  });

  it('approves the ones the studio needs and denies the CUDA download', () => {
    expect(allowed('better-sqlite3', '')).toBe(true);
    for (const { name, version } of withScripts.filter((p) => p.name.startsWith('@ffmpeg-installer/'))) {
      expect(allowed(name, version), name).toBe(true);
    }
    expect(allowed('onnxruntime-node', '')).toBe(false);
  });

  it('no project .npmrc key that npm does not know (it warns on every npx studio)', () => {
    const npmrc = path.join(root, '.npmrc');
    const text = existsSync(npmrc) ? readFileSync(npmrc, 'utf8') : '';
    expect(text).not.toMatch(/onnxruntime/);
  });

  it('states the Node the CLI needs; npm start checks the app\'s own minimum itself', () => {
    expect(pkg.engines.node).toBe('>=20.19');
    expect(pkg.scripts.start).toBe('node scripts/start.mjs');
  });
});
