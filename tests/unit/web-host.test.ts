import http from 'node:http';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_METHODS } from '../../src-main/contract/index.js';
import { startWebHost, type WebHost } from '../../src-main/hosts/web/webHost.js';
import { createFakeBackend, fakeJob, FAKE_INDEX_ID, type FakeBackend } from '../helpers/fakeBackend.js';
import { SAMPLE_ARGS } from '../helpers/contractSamples.js';

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let base: string;
let rendererDir: string;
let backend: FakeBackend;
let host: WebHost;

/**
 * Raw request: unlike fetch, it sends the path exactly as written (no `..` normalisation). It
 * carries the run's token as a header; what happens without it is in web-host-attacks.test.ts.
 */
function request(
  rawPath: string,
  options: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers = { 'X-Studio-Token': host.token, ...options.headers };
    const req = http.request(
      { host: '127.0.0.1', port: host.port, path: rawPath, method: options.method ?? 'GET', headers },
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

const rpc = (method: string, body?: unknown) =>
  request(`/api/${method}`, {
    method: 'POST',
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: { 'Content-Type': 'application/json' },
  });

beforeAll(async () => {
  base = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'web-host-')));
  rendererDir = path.join(base, 'renderer');
  mkdirSync(path.join(rendererDir, 'assets'), { recursive: true });
  writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>Feature Studio</title>');
  writeFileSync(path.join(rendererDir, 'assets', 'app-abc123.js'), 'console.log(1)');
  writeFileSync(path.join(base, 'secret.txt'), 'TOP SECRET');
  symlinkSync(path.join(base, 'secret.txt'), path.join(rendererDir, 'leak.txt'));

  const thumbs = path.join(base, 'index', 'thumbs');
  mkdirSync(thumbs, { recursive: true });
  writeFileSync(path.join(thumbs, '7.webp'), 'RIFF....WEBP');
  symlinkSync(path.join(base, 'secret.txt'), path.join(thumbs, 'out.webp'));
  symlinkSync(path.join(base, 'secret.txt'), path.join(thumbs, '8.webp'));

  backend = createFakeBackend();
  backend.thumbDirs.set(FAKE_INDEX_ID, thumbs);
  host = await startWebHost({ backend, port: 0, rendererDir });
});

afterAll(async () => {
  await host.close();
  rmSync(base, { recursive: true, force: true });
});

describe('web host binding', () => {
  it('listens on 127.0.0.1 only and reports its URL, which carries the token', () => {
    expect(host.origin).toBe(`http://127.0.0.1:${host.port}/`);
    expect(host.url).toBe(`http://127.0.0.1:${host.port}/?token=${host.token}`);
    expect(host.port).toBeGreaterThan(0);
  });

  it('refuses requests whose Host is not loopback (DNS rebinding)', async () => {
    const res = await request('/api/appInfo', { method: 'POST', headers: { Host: 'evil.example:80' } });
    expect(res.status).toBe(421);
    // A Host that is not `name[:port]` at all is refused too, not read as some loopback name.
    const malformed = await request('/api/appInfo', { method: 'POST', headers: { Host: 'localhost:1:2' } });
    expect(malformed.status).toBe(421);
    const ok = await request('/', { headers: { Host: `localhost:${host.port}` } });
    expect(ok.status).toBe(200);
  });

  it('refuses cross-origin API calls', async () => {
    const res = await request('/api/listJobs', { method: 'POST', headers: { Origin: 'https://evil.example' } });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).error.code).toBe('forbidden');
    const same = await request('/api/listJobs', { method: 'POST', headers: { Origin: `http://127.0.0.1:${host.port}` } });
    expect(same.status).toBe(200);
  });

  it('fails with an actionable message when the port is taken', async () => {
    await expect(startWebHost({ backend, port: host.port, rendererDir })).rejects.toThrow(/already in use.*--port/);
  });
});

describe('RPC', () => {
  it('round-trips calls with and without an argument', async () => {
    const info = await rpc('appInfo');
    expect(info.status).toBe(200);
    expect(JSON.parse(info.body)).toEqual({ ok: true, result: expect.objectContaining({ version: '0.0.0-test' }) });

    const page = await rpc('queryFeatures', { indexId: FAKE_INDEX_ID, sort: 'max', desc: true, offset: 0, limit: 2 });
    const body = JSON.parse(page.body);
    expect(body.ok).toBe(true);
    expect(body.result.rows.map((r: { feature: number }) => r.feature)).toEqual([4, 3]);
    expect(backend.calls.at(-1)).toEqual({
      method: 'queryFeatures',
      arg: { indexId: FAKE_INDEX_ID, sort: 'max', desc: true, offset: 0, limit: 2 },
    });
  });

  it('accepts an explicit null body for no-argument methods and maps void to null', async () => {
    expect(JSON.parse((await rpc('listJobs', null)).body)).toEqual({ ok: true, result: [] });
    expect(JSON.parse((await rpc('cancelJob', { jobId: 'j' })).body)).toEqual({ ok: true, result: null });
  });

  it('answers pickPath with null instead of opening a dialog on the server', async () => {
    const res = await rpc('pickPath', { kind: 'directory' });
    expect(JSON.parse(res.body)).toEqual({ ok: true, result: null });
    expect(backend.calls.some((c) => c.method === 'pickPath')).toBe(false);
  });

  it.each([
    [{ path: '/x/missing' }, 404, 'not-found'],
    [{ path: '/x/future' }, 409, 'schema-too-new'],
    [{ path: '/x/boom' }, 500, 'internal'],
  ])('maps backend errors to HTTP status (%j)', async (arg, status, code) => {
    const res = await rpc('openIndex', arg);
    expect(res.status).toBe(status);
    const body = JSON.parse(res.body);
    expect(body.ok).toBe(false);
    expect(body.error.code).toBe(code);
    expect(typeof body.error.message).toBe('string');
  });

  it('refuses an argument the contract refuses with 400 bad-request naming the field, before the backend', async () => {
    const before = backend.calls.length;
    const res = await rpc('queryFeatures', { indexId: FAKE_INDEX_ID, sort: 'max', desc: false, offset: 0, limit: -1 });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).error).toMatchObject({ code: 'bad-request', message: 'queryFeatures: limit must be at least 0 (got -1).' });
    expect(backend.calls.length).toBe(before);
  });

  it('rejects a missing or non-object argument and malformed JSON with 400', async () => {
    expect((await rpc('openIndex')).status).toBe(400);
    expect((await rpc('openIndex', [1, 2])).status).toBe(400);
    expect((await rpc('openIndex', 'path')).status).toBe(400);
    const bad = await request('/api/openIndex', { method: 'POST', body: '{nope' });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error).toEqual({ code: 'bad-request', message: 'Request body is not valid JSON.' });
  });

  it('answers unknown methods with 404 and never reaches other properties', async () => {
    for (const name of ['nope', 'close', 'onEvent', 'resolveThumbnail', 'constructor', '__proto__', 'toString', 'events']) {
      const res = await rpc(name, {});
      expect(res.status, name).toBe(404);
      expect(JSON.parse(res.body).error.code).toBe('not-found');
    }
    expect(backend.closed).toBe(false);
    expect((await rpc('appInfo/extra')).status).toBe(404);
  });

  it('only accepts POST', async () => {
    const res = await request('/api/appInfo');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
  });

  it('refuses bodies over 1 MB', async () => {
    const res = await rpc('openIndex', { path: 'x'.repeat(1024 * 1024 + 10) });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).ok).toBe(false);
  });

  it('routes every contract method to the backend', async () => {
    // What is checked is the routing: each method's well-formed sample argument passes the
    // contract check and reaches the backend (pickPath is answered by the host itself). Whether
    // the fake can answer it is its own business.
    for (const method of API_METHODS) {
      const before = backend.calls.length;
      const res = await rpc(method, SAMPLE_ARGS[method] ?? null);
      expect(JSON.parse(res.body).error?.code, method).not.toBe('bad-request');
      expect(res.status, method).not.toBe(404);
      expect(res.status, method).not.toBe(405);
      if (method !== 'pickPath') expect(backend.calls.slice(before).map((c) => c.method), method).toContain(method);
    }
  });
});

describe('events', () => {
  it('delivers backend events as Server-Sent Events and unsubscribes on disconnect', async () => {
    const before = backend.listenerCount();
    const received = await new Promise<string>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: host.port, path: '/api/events', headers: { 'X-Studio-Token': host.token } }, (res) => {
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          if (text.includes(': connected')) {
            if (!text.includes('data:')) backend.emit({ type: 'job', job: fakeJob('running', 2) });
          }
          if (text.includes('data:') && text.endsWith('\n\n')) {
            req.destroy();
            resolve(text);
          }
        });
      });
      req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
    });
    const dataLine = received.split('\n').find((line) => line.startsWith('data: '));
    expect(JSON.parse(dataLine!.slice('data: '.length))).toEqual({ type: 'job', job: fakeJob('running', 2) });
    await new Promise((r) => setTimeout(r, 50));
    expect(backend.listenerCount()).toBe(before);
  });
});

describe('thumbnails', () => {
  it('serves a thumbnail with image type and cache headers', async () => {
    const res = await request(`/thumb/${FAKE_INDEX_ID}/7.webp`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('image/webp');
    expect(res.headers['cache-control']).toMatch(/max-age/);
    expect(res.headers.etag).toBeTruthy();
    expect(res.body).toBe('RIFF....WEBP');
    const again = await request(`/thumb/${FAKE_INDEX_ID}/7.webp`, { headers: { 'If-None-Match': res.headers.etag! } });
    expect(again.status).toBe(304);
  });

  it.each([
    `/thumb/${FAKE_INDEX_ID}/../secret.txt`,
    `/thumb/${FAKE_INDEX_ID}/../../secret.txt`,
    `/thumb/${FAKE_INDEX_ID}/%2e%2e/%2e%2e/secret.txt`,
    `/thumb/${FAKE_INDEX_ID}/..%2f..%2fsecret.txt`,
    `/thumb/${FAKE_INDEX_ID}/%252e%252e%252fsecret.txt`,
    `/thumb/${FAKE_INDEX_ID}/%2F${'etc/passwd'}`,
    `/thumb/${FAKE_INDEX_ID}//etc/passwd`,
    `/thumb/${FAKE_INDEX_ID}/out.webp`,
    `/thumb/${FAKE_INDEX_ID}/8.webp`,
    `/thumb/${FAKE_INDEX_ID}/missing.webp`,
    `/thumb/${FAKE_INDEX_ID}/9.webp`,
    `/thumb/other/7.webp`,
    `/thumb/${FAKE_INDEX_ID}`,
    `/thumb/${FAKE_INDEX_ID}/`,
  ])('refuses %s with 404', async (rawPath) => {
    const res = await request(rawPath);
    expect(res.status).toBe(404);
    expect(res.body).not.toContain('TOP SECRET');
  });

  it('is read-only', async () => {
    expect((await request(`/thumb/${FAKE_INDEX_ID}/7.webp`, { method: 'POST' })).status).toBe(405);
  });
});

describe('static renderer', () => {
  it('serves index.html with a CSP and hashed assets with a long cache', async () => {
    const index = await request('/');
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.headers['content-security-policy']).toContain("script-src 'self'");
    expect(index.body).toContain('Feature Studio');
    const asset = await request('/assets/app-abc123.js');
    expect(asset.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(asset.headers['cache-control']).toContain('immutable');
    expect((await request('/index.html?x=1')).status).toBe(200);
  });

  it('falls back to index.html for app routes but 404s missing files', async () => {
    const route = await request('/features');
    expect(route.status).toBe(200);
    expect(route.body).toContain('Feature Studio');
    expect((await request('/assets/missing.js')).status).toBe(404);
  });

  it.each([
    '/../secret.txt',
    '/assets/../../secret.txt',
    '/%2e%2e/secret.txt',
    '/..%2fsecret.txt',
    '/%252e%252e/secret.txt',
    '/..%5csecret.txt',
    '/%2fetc%2fpasswd',
    '//etc/passwd',
    '/leak.txt',
  ])('never serves outside the renderer folder: %s', async (rawPath) => {
    const res = await request(rawPath);
    expect([400, 404]).toContain(res.status);
    expect(res.body).not.toContain('TOP SECRET');
  });

  it('says how to build the renderer when it is missing', async () => {
    const empty = await startWebHost({ backend, port: 0, rendererDir: path.join(base, 'not-built') });
    try {
      const res = await new Promise<RawResponse>((resolve, reject) => {
        http.get(`${empty.url}`, (r) => {
          let body = '';
          r.on('data', (c) => (body += c));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, headers: r.headers, body }));
        }).on('error', reject);
      });
      expect(res.status).toBe(503);
      expect(res.body).toContain('npm run build:renderer');
    } finally {
      await empty.close();
    }
  });
});
