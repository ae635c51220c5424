import http from 'node:http';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStudioService, type StudioService } from '../../src-main/core/service.js';
import { startWebHost, type WebHost } from '../../src-main/hosts/web/webHost.js';
import { buildFixtureIndex } from '../helpers/buildFixtureIndex.js';
import { createFakeBackend, FAKE_INDEX_ID, type FakeBackend } from '../helpers/fakeBackend.js';

// What the web host guarantees against other users of the same machine and against pages in the
// user's own browser (issue 18). Each case is an attack that worked before: the host answered any
// local process without a secret, served any file in an index's `thumbs` folder with the type
// its name suggested, and followed a `thumbs` folder that was a link to anywhere.

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(
  target: WebHost,
  rawPath: string,
  options: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: target.port, path: rawPath, method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

const post = (target: WebHost, method: string, body: unknown, headers: Record<string, string> = {}) =>
  request(target, `/api/${method}`, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json', ...headers } });

let base: string;
let victimHome: string;
let backend: FakeBackend;
let host: WebHost;
const auth = () => ({ 'X-Studio-Token': host.token });
const cookieFor = (target: WebHost, token = target.token) => `studio_token_${target.port}=${token}`;

beforeAll(async () => {
  base = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'web-attacks-')));
  victimHome = path.join(base, 'victim-home');
  mkdirSync(victimHome);
  writeFileSync(path.join(victimHome, '.bashrc'), 'export VICTIM_SECRET=1');
  writeFileSync(path.join(victimHome, '1.webp'), 'VICTIM_SECRET picture');

  const rendererDir = path.join(base, 'renderer');
  mkdirSync(path.join(rendererDir, 'assets'), { recursive: true });
  writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>Feature Studio</title>');
  writeFileSync(path.join(rendererDir, 'assets', 'app.js'), 'console.log(1)');

  const thumbs = path.join(base, 'index', 'thumbs');
  mkdirSync(thumbs, { recursive: true });
  writeFileSync(path.join(thumbs, '7.webp'), 'RIFF....WEBP');
  writeFileSync(path.join(thumbs, '8.webp'), '<html><script>fetch("/api/listJobs")</script></html>');
  writeFileSync(path.join(thumbs, 'evil.html'), '<html><script>fetch("/api/listJobs")</script></html>');
  symlinkSync(path.join(victimHome, '.bashrc'), path.join(thumbs, '9.webp'));
  mkdirSync(path.join(base, 'attacker-index'));
  symlinkSync(victimHome, path.join(base, 'attacker-index', 'thumbs'));

  backend = createFakeBackend();
  backend.thumbDirs.set(FAKE_INDEX_ID, thumbs);
  backend.thumbDirs.set('attacker', path.join(base, 'attacker-index', 'thumbs'));
  host = await startWebHost({ backend, port: 0, rendererDir });
});

afterAll(async () => {
  await host.close();
  rmSync(base, { recursive: true, force: true });
});

describe('the per-run access token', () => {
  it('is random, at least 128 bits, different each run, and in the URL the host reports', async () => {
    expect(host.token).toMatch(/^[A-Za-z0-9_-]{43,}$/); // 43 base64url characters = 256 bits
    expect(host.url).toBe(`http://127.0.0.1:${host.port}/?token=${host.token}`);
    const other = await startWebHost({ backend, port: 0, rendererDir: path.join(base, 'renderer') });
    try {
      expect(other.token).not.toBe(host.token);
    } finally {
      await other.close();
    }
  });

  it.each([
    ['the API (opening an index)', '/api/openIndex', 'POST', { path: '/home/victim/index' }],
    ['the API (reading the first bytes of any file)', '/api/inspectModel', 'POST', { path: '/home/victim/.ssh/id_rsa' }],
    ['the API (listing folders)', '/api/inspectSae', 'POST', { path: '/home/victim' }],
    ['the API (no argument)', '/api/appInfo', 'POST', undefined],
    ['a thumbnail', `/thumb/${FAKE_INDEX_ID}/7.webp`, 'GET', undefined],
    ['the renderer', '/', 'GET', undefined],
    ['a renderer asset', '/assets/app.js', 'GET', undefined],
    ['an app route', '/features', 'GET', undefined],
  ])('refuses %s without the token', async (_what, rawPath, method, body) => {
    const before = backend.calls.length;
    const res = await request(host, rawPath, { method, body: body === undefined ? undefined : JSON.stringify(body) });
    expect(res.status).toBe(401);
    expect(res.body).not.toContain('RIFF');
    expect(res.body).not.toContain('Feature Studio</title>');
    expect(res.body).toContain('access token');
    expect(backend.calls.length).toBe(before);
  });

  it('answers the API without the token with an envelope the client understands', async () => {
    const res = await post(host, 'listJobs', null);
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
  });

  it('does not open the event stream without the token', async () => {
    const before = backend.listenerCount();
    const res = await request(host, '/api/events', { headers: { Accept: 'text/event-stream' } });
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).not.toMatch(/event-stream/);
    expect(backend.listenerCount()).toBe(before);
  });

  it.each([
    ['a wrong token in the URL', (p: string) => `${p}?token=wrong`, () => ({})],
    ['a token one character off', (p: string) => `${p}?token=${host.token.slice(0, -1)}${host.token.endsWith('A') ? 'B' : 'A'}`, () => ({})],
    ['the token with extra characters', (p: string) => `${p}?token=${host.token}x`, () => ({})],
    ['an empty token', (p: string) => `${p}?token=`, () => ({})],
    ['a wrong header', (p: string) => p, () => ({ 'X-Studio-Token': 'wrong' })],
    ['a wrong cookie', (p: string) => p, () => ({ Cookie: `studio_token_${host.port}=wrong` })],
    ['the right token in a cookie for another port', (p: string) => p, () => ({ Cookie: `studio_token_1=${host.token}` })],
    ['a wrong token in the URL over a right cookie', (p: string) => `${p}?token=wrong`, () => ({ Cookie: cookieFor(host) })],
  ])('refuses %s', async (_what, withToken, headersOf: () => Record<string, string>) => {
    const headers = headersOf();
    for (const rawPath of ['/', `/thumb/${FAKE_INDEX_ID}/7.webp`, '/api/events']) {
      const res = await request(host, withToken(rawPath), { headers });
      expect(res.status, rawPath).toBe(401);
    }
    const api = await request(host, withToken('/api/appInfo'), { method: 'POST', headers });
    expect(api.status).toBe(401);
  });

  it('signs the browser in from the printed URL with an HttpOnly, SameSite=Strict cookie', async () => {
    const first = await request(host, `/?token=${host.token}`);
    expect(first.status).toBe(200);
    expect(first.body).toContain('Feature Studio');
    const setCookie = first.headers['set-cookie']?.[0] ?? '';
    expect(setCookie).toMatch(new RegExp(`^studio_token_${host.port}=${host.token};`));
    expect(setCookie).toMatch(/;\s*HttpOnly/i);
    expect(setCookie).toMatch(/;\s*SameSite=Strict/i);
    expect(setCookie).toMatch(/;\s*Path=\//);
    const cookie = setCookie.split(';')[0]!;

    // Afterwards the cookie alone is enough, for everything the page loads.
    expect((await request(host, '/assets/app.js', { headers: { Cookie: cookie } })).status).toBe(200);
    expect((await request(host, `/thumb/${FAKE_INDEX_ID}/7.webp`, { headers: { Cookie: `other=1; ${cookie}` } })).status).toBe(200);
    const api = await post(host, 'listJobs', null, { Cookie: cookie, Origin: host.origin.replace(/\/$/, '') });
    expect(JSON.parse(api.body)).toEqual({ ok: true, result: [] });
  });

  it('takes the token as a header for scripts', async () => {
    const res = await post(host, 'appInfo', null, auth());
    expect(res.status).toBe(200);
    expect(res.headers['set-cookie']).toBeUndefined();
  });
});

describe('pages of other sites in the user\'s browser', () => {
  const cookie = () => ({ Cookie: cookieFor(host) });

  it('cannot call the API even when the browser attaches the cookie', async () => {
    const res = await post(host, 'openIndex', { path: '/x' }, { ...cookie(), Origin: 'https://evil.example' });
    expect(res.status).toBe(403);
  });

  it.each([
    ['an <img> on another site', 'cross-site', 'no-cors', 'image', `/thumb/${FAKE_INDEX_ID}/7.webp`],
    ['an <img> on another port of 127.0.0.1 (same site, so SameSite cookies go along)', 'same-site', 'no-cors', 'image', `/thumb/${FAKE_INDEX_ID}/7.webp`],
    ['a <script> on another port of 127.0.0.1', 'same-site', 'no-cors', 'script', '/assets/app.js'],
    ['an EventSource on another port', 'same-site', 'cors', 'empty', '/api/events'],
    ['a frame on another site', 'cross-site', 'navigate', 'iframe', '/'],
  ])('cannot load anything through %s', async (_what, site, mode, dest, rawPath) => {
    const res = await request(host, rawPath, {
      headers: { ...cookie(), 'Sec-Fetch-Site': site, 'Sec-Fetch-Mode': mode, 'Sec-Fetch-Dest': dest },
    });
    expect(res.status).toBe(403);
    expect(res.body).not.toContain('RIFF');
  });

  it('still lets the user open the studio from a link or the address bar, and the page load its parts', async () => {
    const nav = { 'Sec-Fetch-Mode': 'navigate', 'Sec-Fetch-Dest': 'document' };
    expect((await request(host, `/?token=${host.token}`, { headers: { ...nav, 'Sec-Fetch-Site': 'none' } })).status).toBe(200);
    expect((await request(host, '/', { headers: { ...cookie(), ...nav, 'Sec-Fetch-Site': 'same-site' } })).status).toBe(200);
    const own = { ...cookie(), 'Sec-Fetch-Site': 'same-origin', 'Sec-Fetch-Mode': 'no-cors', 'Sec-Fetch-Dest': 'image' };
    expect((await request(host, `/thumb/${FAKE_INDEX_ID}/7.webp`, { headers: own })).status).toBe(200);
  });
});

describe('thumbnails', () => {
  it('serves a thumbnail as an image that cannot run script, whatever the file holds', async () => {
    const res = await request(host, `/thumb/${FAKE_INDEX_ID}/8.webp`, { headers: auth() });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('image/webp');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toMatch(/default-src 'none'/);
  });

  it.each([
    ['an HTML file placed in thumbs', `/thumb/${FAKE_INDEX_ID}/evil.html`],
    ['an HTML file, escaped', `/thumb/${FAKE_INDEX_ID}/evil%2ehtml`],
    ['a thumbnail-named link inside thumbs pointing out of it', `/thumb/${FAKE_INDEX_ID}/9.webp`],
    ['a dotfile through a symlinked thumbs folder', '/thumb/attacker/.bashrc'],
    ['a thumbnail-named file through a symlinked thumbs folder', '/thumb/attacker/1.webp'],
  ])('refuses %s', async (_what, rawPath) => {
    const res = await request(host, rawPath, { headers: auth() });
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).not.toMatch(/html/);
    expect(res.body).not.toContain('VICTIM_SECRET');
    expect(res.body).not.toContain('<script>');
  });
});

describe('the attack end to end, against the real service', () => {
  let work: string;
  let service: StudioService;
  let realHost: WebHost;

  beforeAll(async () => {
    work = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'web-attacks-real-')));
    // Eager: the honest index's thumbnails are files (on-demand ones are tested in thumbnails-on-demand.test.ts).
    const fixture = await buildFixtureIndex(path.join(work, 'fixture'), { perLabel: 1, dSae: 32, thumbnails: 'eager' });
    // The attacker's copy of a real index, its thumbs folder swapped for a link to the victim's home.
    const attackerIndex = path.join(work, 'attacker-index');
    cpSync(fixture.indexDir, attackerIndex, { recursive: true });
    rmSync(path.join(attackerIndex, 'thumbs'), { recursive: true, force: true });
    symlinkSync(victimHome, path.join(attackerIndex, 'thumbs'));
    service = await createStudioService({ settingsDir: path.join(work, 'settings'), host: 'web' });
    realHost = await startWebHost({ backend: service, port: 0, rendererDir: path.join(base, 'renderer') });
  }, 120_000);

  afterAll(async () => {
    await realHost?.close();
    await service?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('cannot open the index without the token', async () => {
    const res = await post(realHost, 'openIndex', { path: path.join(work, 'attacker-index') });
    expect(res.status).toBe(401);
  });

  it('with the token, still never reads the victim\'s files through the linked thumbs', async () => {
    const opened = await post(realHost, 'openIndex', { path: path.join(work, 'attacker-index') }, { 'X-Studio-Token': realHost.token });
    expect(opened.status).toBe(200);
    const indexId = JSON.parse(opened.body).result.id as string;
    for (const file of ['.bashrc', '1.webp']) {
      const res = await request(realHost, `/thumb/${encodeURIComponent(indexId)}/${file}`, { headers: { 'X-Studio-Token': realHost.token } });
      expect(res.status, file).toBe(404);
      expect(res.body).not.toContain('VICTIM_SECRET');
    }
  });

  it('serves the thumbnails of an honest index', async () => {
    const opened = await post(realHost, 'openIndex', { path: path.join(work, 'fixture', 'index') }, { 'X-Studio-Token': realHost.token });
    const indexId = JSON.parse(opened.body).result.id as string;
    const name = readdirSync(path.join(work, 'fixture', 'index', 'thumbs')).find((f) => /^\d+\.webp$/.test(f));
    expect(name).toBeTruthy();
    const res = await request(realHost, `/thumb/${encodeURIComponent(indexId)}/${name}`, { headers: { 'X-Studio-Token': realHost.token } });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('image/webp');
  });
});
