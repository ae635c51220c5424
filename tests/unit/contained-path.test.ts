import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containedSegments, isInside, resolveContained } from '../../src-main/core/paths/containedPath.js';

let base: string;
let root: string;

beforeAll(() => {
  base = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'contained-')));
  root = path.join(base, 'root');
  mkdirSync(path.join(root, 'thumbs', 'sub'), { recursive: true });
  writeFileSync(path.join(root, 'a.webp'), 'a');
  writeFileSync(path.join(root, 'thumbs', 'sub', 'b.webp'), 'b');
  writeFileSync(path.join(root, 'name with space.webp'), 's');
  writeFileSync(path.join(base, 'secret.txt'), 'secret');
  mkdirSync(path.join(base, 'root-sibling'));
  writeFileSync(path.join(base, 'root-sibling', 'x.webp'), 'x');
  symlinkSync(path.join(base, 'secret.txt'), path.join(root, 'link-out.webp'));
  symlinkSync(base, path.join(root, 'dir-out'));
  symlinkSync(path.join(root, 'a.webp'), path.join(root, 'link-in.webp'));
  symlinkSync(path.join(root, 'nowhere'), path.join(root, 'dangling.webp'));
  symlinkSync(root, path.join(base, 'root-link'));
});

afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('resolveContained', () => {
  it('resolves plain and nested files inside root', () => {
    expect(resolveContained(root, 'a.webp')).toBe(path.join(root, 'a.webp'));
    expect(resolveContained(root, 'thumbs/sub/b.webp')).toBe(path.join(root, 'thumbs', 'sub', 'b.webp'));
    expect(resolveContained(root, './a.webp')).toBe(path.join(root, 'a.webp'));
    expect(resolveContained(root, 'thumbs//sub/b.webp')).toBe(path.join(root, 'thumbs', 'sub', 'b.webp'));
  });

  it('decodes percent-encoding once', () => {
    expect(resolveContained(root, 'name%20with%20space.webp')).toBe(path.join(root, 'name with space.webp'));
    expect(resolveContained(root, 'thumbs%2Fsub%2Fb.webp')).toBe(path.join(root, 'thumbs', 'sub', 'b.webp'));
  });

  it('returns null for missing files and for the root itself', () => {
    expect(resolveContained(root, 'nope.webp')).toBeNull();
    expect(resolveContained(root, '')).toBeNull();
    expect(resolveContained(root, '.')).toBeNull();
    expect(resolveContained(path.join(base, 'no-such-root'), 'a.webp')).toBeNull();
  });

  it.each([
    ['../secret.txt'],
    ['thumbs/../../secret.txt'],
    ['..'],
    ['a.webp/..'],
    ['%2e%2e/secret.txt'],
    ['%2E%2E%2Fsecret.txt'],
    ['..%2fsecret.txt'],
    ['%252e%252e/secret.txt'],
    ['..%252fsecret.txt'],
    ['..\\secret.txt'],
    ['..%5csecret.txt'],
    ['thumbs\\..\\..\\secret.txt'],
    ['.../secret.txt'],
    ['.. /secret.txt'],
    ['/etc/passwd'],
    ['%2fetc%2fpasswd'],
    ['//server/share/x'],
    ['C:/Windows/win.ini'],
    ['C:%5cWindows'],
    ['a.webp:stream'],
    ['a.webp%00.png'],
    ['a.webp\u0000'],
    ['line%0abreak'],
    ['%E0%A4%A'],
    ['../root-sibling/x.webp'],
  ])('refuses %j', (requested) => {
    expect(resolveContained(root, requested)).toBeNull();
  });

  it('refuses symlinks that resolve outside root', () => {
    expect(resolveContained(root, 'link-out.webp')).toBeNull();
    expect(resolveContained(root, 'dir-out/secret.txt')).toBeNull();
    expect(resolveContained(root, 'dir-out/root/a.webp')).toBe(path.join(root, 'a.webp'));
    expect(resolveContained(root, 'dangling.webp')).toBeNull();
  });

  it('follows symlinks that stay inside root, and accepts a symlinked root', () => {
    expect(resolveContained(root, 'link-in.webp')).toBe(path.join(root, 'a.webp'));
    expect(resolveContained(path.join(base, 'root-link'), 'a.webp')).toBe(path.join(root, 'a.webp'));
    expect(resolveContained(path.join(base, 'root-link'), 'link-out.webp')).toBeNull();
  });

  it('does not treat a sibling folder sharing the prefix as inside', () => {
    expect(isInside(root, path.join(base, 'root-sibling', 'x.webp'))).toBe(false);
    expect(isInside(root, path.join(root, 'thumbs'))).toBe(true);
  });

  it('refuses overlong requests', () => {
    expect(containedSegments('a/'.repeat(600))).toBeNull();
  });
});
