import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containedSegments, isInside, realFolderInPlace, resolveContained } from '../../src-main/core/paths/containedPath.js';
import { isThumbnailRequest } from '../../src-main/core/paths/thumbnailName.js';
import { thumbnailFile } from '../../src-main/core/indexer/writeThumbnails.js';
import { stripFile } from '../../src-main/core/indexer/writeThumbnails.js';

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
  // An index folder whose `thumbs` is a link to a folder elsewhere (another user's home, say).
  mkdirSync(path.join(base, 'elsewhere'));
  writeFileSync(path.join(base, 'elsewhere', '.bashrc'), 'secret');
  writeFileSync(path.join(base, 'elsewhere', '1.webp'), 'secret');
  mkdirSync(path.join(base, 'index'));
  symlinkSync(path.join(base, 'elsewhere'), path.join(base, 'index', 'thumbs'));
  mkdirSync(path.join(base, 'index-up'));
  symlinkSync(base, path.join(base, 'index-up', 'thumbs'));
  mkdirSync(path.join(base, 'index-self'));
  symlinkSync('.', path.join(base, 'index-self', 'thumbs'));
  writeFileSync(path.join(base, 'index-self', '1.webp'), 'x');
  mkdirSync(path.join(base, 'index-file'));
  writeFileSync(path.join(base, 'index-file', 'thumbs'), 'not a folder');
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

  it('follows symlinks that stay inside root, and a root linked to a sibling in the same folder', () => {
    expect(resolveContained(root, 'link-in.webp')).toBe(path.join(root, 'a.webp'));
    expect(resolveContained(path.join(base, 'root-link'), 'a.webp')).toBe(path.join(root, 'a.webp'));
    expect(resolveContained(path.join(base, 'root-link'), 'link-out.webp')).toBeNull();
  });

  it('refuses a root that is itself a link out of its folder (a symlinked thumbs)', () => {
    expect(resolveContained(path.join(base, 'index', 'thumbs'), '.bashrc')).toBeNull();
    expect(resolveContained(path.join(base, 'index', 'thumbs'), '1.webp')).toBeNull();
    expect(resolveContained(path.join(base, 'index-up', 'thumbs'), 'secret.txt')).toBeNull();
    expect(resolveContained(path.join(base, 'index-self', 'thumbs'), '1.webp')).toBeNull();
    expect(resolveContained(path.join(base, 'index-file', 'thumbs'), 'x')).toBeNull();
  });

  it('accepts links above the root (a symlinked home or /var on macOS)', () => {
    expect(resolveContained(path.join(base, 'root-link', 'thumbs'), 'sub/b.webp')).toBe(path.join(root, 'thumbs', 'sub', 'b.webp'));
  });

  it('does not treat a sibling folder sharing the prefix as inside', () => {
    expect(isInside(root, path.join(base, 'root-sibling', 'x.webp'))).toBe(false);
    expect(isInside(root, path.join(root, 'thumbs'))).toBe(true);
  });

  it('refuses overlong requests', () => {
    expect(containedSegments('a/'.repeat(600))).toBeNull();
  });
});

describe('realFolderInPlace', () => {
  it('gives the real path of a folder that is not itself a link', () => {
    expect(realFolderInPlace(path.join(root, 'thumbs'))).toBe(path.join(root, 'thumbs'));
    expect(realFolderInPlace(path.join(base, 'root-link', 'thumbs'))).toBe(path.join(root, 'thumbs'));
    expect(realFolderInPlace(path.parse(base).root)).toBe(path.parse(base).root);
  });

  it('refuses links out of the folder, files and missing paths', () => {
    expect(realFolderInPlace(path.join(base, 'index', 'thumbs'))).toBeNull();
    expect(realFolderInPlace(path.join(base, 'index-up', 'thumbs'))).toBeNull();
    expect(realFolderInPlace(path.join(base, 'index-self', 'thumbs'))).toBeNull();
    expect(realFolderInPlace(path.join(base, 'index-file', 'thumbs'))).toBeNull();
    expect(realFolderInPlace(path.join(base, 'missing'))).toBeNull();
  });
});

describe('isThumbnailRequest', () => {
  it('accepts exactly the names the indexers write', () => {
    expect(isThumbnailRequest(thumbnailFile(0))).toBe(true);
    expect(isThumbnailRequest(thumbnailFile(123456))).toBe(true);
    expect(isThumbnailRequest(stripFile(42))).toBe(true);
  });

  it.each(['evil.html', '.bashrc', '7.webp.html', '7.html', '7.WEBP', 'x7.webp', '7.webp/x', 'sub/7.webp', '%37.webp',
    '7%2ewebp', '../7.webp', '7-strip.webp.tmp', '7.webp.tmp', '', '-1.webp', '1e3.webp', '7 .webp', `${'9'.repeat(17)}.webp`])(
    'refuses %j', (name) => {
      expect(isThumbnailRequest(name)).toBe(false);
    },
  );
});
