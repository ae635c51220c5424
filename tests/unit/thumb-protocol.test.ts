import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRequestToPath } from '../../src-main/hosts/electron/appProtocol.js';
import { registerThumbProtocol, thumbCorsHeaders, thumbRequestToPath, THUMB_SCHEME_PRIVILEGES } from '../../src-main/hosts/electron/thumbProtocol.js';
import { createFakeBackend, FAKE_INDEX_ID } from '../helpers/fakeBackend.js';

let base: string;
const backend = createFakeBackend();

beforeAll(() => {
  base = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'thumb-proto-')));
  const thumbs = path.join(base, 'thumbs');
  mkdirSync(thumbs);
  writeFileSync(path.join(thumbs, '7.webp'), 'x');
  writeFileSync(path.join(base, 'secret.txt'), 'secret');
  symlinkSync(path.join(base, 'secret.txt'), path.join(thumbs, 'out.webp'));
  symlinkSync(base, path.join(thumbs, 'dir-out'));
  backend.thumbDirs.set(FAKE_INDEX_ID, thumbs);
  // Files the indexer never writes, and a thumbnail-named link out of the folder.
  writeFileSync(path.join(thumbs, 'evil.html'), '<script>alert(1)</script>');
  symlinkSync(path.join(base, 'secret.txt'), path.join(thumbs, '9.webp'));
  // An index whose `thumbs` is itself a link to another folder (another user's home, say).
  mkdirSync(path.join(base, 'home'));
  writeFileSync(path.join(base, 'home', '.bashrc'), 'secret');
  writeFileSync(path.join(base, 'home', '1.webp'), 'secret');
  mkdirSync(path.join(base, 'linked-index'));
  symlinkSync(path.join(base, 'home'), path.join(base, 'linked-index', 'thumbs'));
  backend.thumbDirs.set('linked', path.join(base, 'linked-index', 'thumbs'));
  mkdirSync(path.join(base, 'renderer', 'assets'), { recursive: true });
  writeFileSync(path.join(base, 'renderer', 'index.html'), '<title>x</title>');
  writeFileSync(path.join(base, 'renderer', 'assets', 'a.js'), '');
});

afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('thumbRequestToPath', () => {
  it('resolves studio-thumb://<indexId>/<file> through the backend', async () => {
    expect(await thumbRequestToPath(`studio-thumb://${FAKE_INDEX_ID}/7.webp`, 'GET', backend)).toEqual({
      status: 200,
      path: path.join(base, 'thumbs', '7.webp'),
    });
    expect((await thumbRequestToPath(`studio-thumb://${FAKE_INDEX_ID}/7.webp?v=2`, 'GET', backend)).status).toBe(200);
  });

  it('only answers GET', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'HEAD']) {
      expect((await thumbRequestToPath(`studio-thumb://${FAKE_INDEX_ID}/7.webp`, method, backend)).status).toBe(405);
    }
  });

  it.each([
    [`studio-thumb://${FAKE_INDEX_ID}/../secret.txt`, 404],
    [`studio-thumb://${FAKE_INDEX_ID}/%2e%2e/secret.txt`, 404],
    [`studio-thumb://${FAKE_INDEX_ID}/..%2fsecret.txt`, 404],
    [`studio-thumb://${FAKE_INDEX_ID}/%2Fetc%2Fpasswd`, 404],
    [`studio-thumb://${FAKE_INDEX_ID}//etc/passwd`, 404],
    [`studio-thumb://${FAKE_INDEX_ID}/out.webp`, 404],
    // More traversal spellings: double encoding, backslashes, NUL, symlinked folders, Windows paths.
    [`studio-thumb://${FAKE_INDEX_ID}/%252e%252e/secret.txt`, 404],
    [`studio-thumb://${FAKE_INDEX_ID}/..%5csecret.txt`, 404],
    [`studio-thumb://${FAKE_INDEX_ID}/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd`, 404],
    [`studio-thumb://${FAKE_INDEX_ID}/7.webp%00.png`, 404],
    [`studio-thumb://${FAKE_INDEX_ID}/dir-out/secret.txt`, 404],
    [`studio-thumb://${FAKE_INDEX_ID}/C:%5CWindows%5Cwin.ini`, 404],
    [`studio-thumb://${FAKE_INDEX_ID}/.%2e/secret.txt`, 404],
    ['studio-thumb://..%2f..%2f/7.webp', 404],
    [`studio-thumb://${FAKE_INDEX_ID}/missing.webp`, 404],
    // Only the names the indexer writes, never through a link out, nor from a linked thumbs.
    [`studio-thumb://${FAKE_INDEX_ID}/evil.html`, 404],
    [`studio-thumb://${FAKE_INDEX_ID}/9.webp`, 404],
    ['studio-thumb://linked/.bashrc', 404],
    ['studio-thumb://linked/1.webp', 404],
    ['studio-thumb://unknown/7.webp', 404],
    [`studio-thumb://${FAKE_INDEX_ID}`, 400],
    [`studio-thumb://${FAKE_INDEX_ID}/`, 400],
    ['file:///etc/passwd', 400],
    ['https://evil.example/7.webp', 400],
  ])('refuses %s', async (url, status) => {
    expect((await thumbRequestToPath(url, 'GET', backend)).status).toBe(status);
  });
});

describe('appRequestToPath', () => {
  it('serves files of the built renderer and index.html for the bare origin', () => {
    const dir = path.join(base, 'renderer');
    expect(appRequestToPath('studio-app://renderer/', 'GET', dir)).toEqual({ status: 200, path: path.join(dir, 'index.html') });
    expect(appRequestToPath('studio-app://renderer/assets/a.js', 'GET', dir)).toEqual({ status: 200, path: path.join(dir, 'assets', 'a.js') });
    expect(appRequestToPath('studio-app://renderer/index.html#/index/x', 'GET', dir).status).toBe(200);
  });

  it.each([
    'studio-app://renderer/../secret.txt',
    'studio-app://renderer/%2e%2e/secret.txt',
    'studio-app://other/index.html',
    'studio-app://renderer/missing.js',
  ])('refuses %s', (url) => {
    expect(appRequestToPath(url, 'GET', path.join(base, 'renderer')).status).toBe(404);
  });

  it('is read-only', () => {
    expect(appRequestToPath('studio-app://renderer/index.html', 'POST', path.join(base, 'renderer')).status).toBe(405);
  });
});

describe('registerThumbProtocol (the handler Electron calls)', () => {
  type Handler = (request: { url: string; method: string; headers: Headers }) => Promise<Response>;
  const handlerFor = (devServerUrl?: string) => {
    let handler: Handler | undefined;
    registerThumbProtocol({ handle: (_scheme: string, h: unknown) => void (handler = h as Handler) } as never, backend, devServerUrl);
    return (r: { url: string; method: string; headers?: Headers }) => handler!({ headers: new Headers(), ...r });
  };

  it('serves a thumbnail with its bytes and an image type', async () => {
    const response = await handlerFor()({ url: `studio-thumb://${FAKE_INDEX_ID}/7.webp`, method: 'GET' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/webp');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await response.text()).toBe('x');
  });

  it.each([
    `studio-thumb://${FAKE_INDEX_ID}/../secret.txt`,
    `studio-thumb://${FAKE_INDEX_ID}/%2e%2e%2fsecret.txt`,
    `studio-thumb://${FAKE_INDEX_ID}/out.webp`,
    `studio-thumb://${FAKE_INDEX_ID}/dir-out/secret.txt`,
    `studio-thumb://${FAKE_INDEX_ID}/9.webp`,
    `studio-thumb://${FAKE_INDEX_ID}/evil.html`,
    'studio-thumb://linked/.bashrc',
    'studio-thumb://linked/1.webp',
  ])('never returns the secret for %s', async (url) => {
    const response = await handlerFor()({ url, method: 'GET' });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(await response.text()).not.toContain('secret');
  });

  it('lets only our own page read a thumbnail\'s pixels (CORS for figure export), no other origin', async () => {
    const ask = (origin: string | null, dev?: string) =>
      handlerFor(dev)({ url: `studio-thumb://${FAKE_INDEX_ID}/7.webp`, method: 'GET', headers: new Headers(origin ? { Origin: origin } : {}) });
    const app = await ask('studio-app://renderer');
    expect(app.status).toBe(200);
    expect(app.headers.get('access-control-allow-origin')).toBe('studio-app://renderer');
    expect(app.headers.get('vary')).toBe('Origin');
    for (const other of ['https://evil.example', 'studio-app://other', 'null', 'http://localhost:5173']) {
      const r = await ask(other);
      expect(r.status, other).toBe(200); // the <img> still shows; its pixels stay unreadable
      expect(r.headers.get('access-control-allow-origin'), other).toBeNull();
    }
    expect((await ask(null)).headers.get('access-control-allow-origin')).toBeNull();
    // Under `npm run dev` the dev server's page is ours.
    expect((await ask('http://localhost:5173', 'http://localhost:5173')).headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(thumbCorsHeaders('http://localhost:5174', 'http://localhost:5173')['Access-Control-Allow-Origin']).toBeUndefined();
    // Without corsEnabled Chromium refuses the crossorigin image load before the handler runs.
    expect(THUMB_SCHEME_PRIVILEGES.privileges?.corsEnabled).toBe(true);
  });

  it('refuses writes', async () => {
    expect((await handlerFor()({ url: `studio-thumb://${FAKE_INDEX_ID}/7.webp`, method: 'PUT' })).status).toBe(405);
  });
});
