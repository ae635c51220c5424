import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexFolderOf, indexPathFromArgv } from '../../src-main/hosts/electron/launchArgs.js';

// `Feature Studio <index folder>`: which argument of a command line names the index to open.

let base: string;
let index: string;

beforeAll(() => {
  base = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'launch-args-')));
  index = path.join(base, 'runs', 'clip-l11');
  mkdirSync(index, { recursive: true });
  writeFileSync(path.join(index, 'index.sqlite'), '');
  writeFileSync(path.join(base, 'notes.txt'), '');
});

afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('indexPathFromArgv', () => {
  it('takes the folder after the executable in a packaged app', () => {
    expect(indexPathFromArgv(['/opt/Feature Studio/feature-studio', index], { cwd: '/', defaultApp: false })).toBe(index);
    expect(indexPathFromArgv(['/opt/Feature Studio/feature-studio'], { cwd: '/', defaultApp: false })).toBeNull();
  });

  it('skips the app path when started as `electron <app> <folder>`', () => {
    const argv = ['/x/electron', '/work/app', index];
    expect(indexPathFromArgv(argv, { cwd: '/', defaultApp: true })).toBe(index);
    expect(indexPathFromArgv(['/x/electron', base], { cwd: '/', defaultApp: true })).toBeNull();
  });

  it('ignores switches (Chromium, inspector, macOS -psn) and resolves relative paths against cwd', () => {
    const argv = ['/x/electron', '--inspect=0', '--remote-debugging-port=0', '/work/app', '-psn_0_1234', 'runs/clip-l11'];
    expect(indexPathFromArgv(argv, { cwd: base, defaultApp: true })).toBe(index);
    // A second instance's argv comes with its own working directory.
    expect(indexPathFromArgv(['C:\\FS\\Feature Studio.exe', '--allow-file-access-from-files', 'clip-l11'], { cwd: path.join(base, 'runs'), defaultApp: false })).toBe(index);
  });

  it('accepts the index database file for its folder, and skips files and missing paths', () => {
    expect(indexPathFromArgv(['exe', path.join(index, 'index.sqlite')], { cwd: '/', defaultApp: false })).toBe(index);
    expect(indexPathFromArgv(['exe', path.join(base, 'notes.txt'), path.join(base, 'missing'), index], { cwd: '/', defaultApp: false })).toBe(index);
    expect(indexPathFromArgv(['exe', path.join(base, 'notes.txt')], { cwd: '/', defaultApp: false })).toBeNull();
  });
});

describe('indexFolderOf', () => {
  it('maps a folder to itself and index.sqlite to its folder', () => {
    expect(indexFolderOf(index)).toBe(index);
    expect(indexFolderOf(path.join(index, 'index.sqlite'))).toBe(index);
    expect(indexFolderOf(path.join(base, 'notes.txt'))).toBeNull();
    expect(indexFolderOf(path.join(base, 'nope'))).toBeNull();
  });
});
