import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { expect, test } from '@playwright/test';
import sharp from 'sharp';
import { startWebHost, type WebHost } from '../../src-main/hosts/web/webHost.js';
import { createFakeBackend, FAKE_INDEX_ID, type FakeBackend } from '../helpers/fakeBackend.js';

// The web host's access token in a real browser (issue 18): the printed URL signs the page in,
// the token leaves the address bar, the page keeps working on its cookie, and a page served from
// another port of 127.0.0.1 (same site, so the browser attaches SameSite cookies) loads nothing.

let work: string;
let backend: FakeBackend;
let host: WebHost;
let evil: http.Server;
let evilUrl: string;
let thumbLookups = 0;

test.beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-e2e-token-'));
  const thumbs = path.join(work, 'thumbs');
  fs.mkdirSync(thumbs);
  await sharp({ create: { width: 8, height: 8, channels: 3, background: '#3a6' } }).webp().toFile(path.join(thumbs, '7.webp'));
  backend = createFakeBackend();
  backend.thumbDirs.set(FAKE_INDEX_ID, thumbs);
  // Counts the thumbnail lookups the host makes: the browser hides a refused image's body anyway
  // (Cross-Origin-Resource-Policy), so what shows the host refused is that it never looked.
  const resolve = backend.resolveThumbnail.bind(backend);
  backend.resolveThumbnail = (indexId, file) => {
    thumbLookups++;
    return resolve(indexId, file);
  };
  host = await startWebHost({ backend, port: 0, rendererDir: path.resolve('out/renderer') });
  // Another local user's page: it knows the studio's port, not its token.
  const thumb = `${host.origin}thumb/${FAKE_INDEX_ID}/7.webp`;
  evil = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(`<!doctype html><img id="i" src="${thumb}">
      <script>
        const img = document.getElementById('i');
        window.imgResult = new Promise((r) => { img.onload = () => r('loaded'); img.onerror = () => r('blocked'); });
        fetch('${host.origin}api/listJobs', { method: 'POST', mode: 'no-cors', credentials: 'include', body: 'null' });
      </script>`);
  });
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
  evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}/`;
});

test.afterAll(async () => {
  await host?.close();
  await new Promise((resolve) => evil?.close(resolve));
  fs.rmSync(work, { recursive: true, force: true });
});

test('without the token the studio shows nothing but how to get in', async ({ page }) => {
  const response = await page.goto(host.origin);
  expect(response?.status()).toBe(401);
  await expect(page.locator('body')).toContainText('access token');
});

test('the printed URL signs the page in, then the token leaves the address bar', async ({ page, context }) => {
  await page.goto(new URL('#/', host.url).href);
  await expect(page.locator('#app > *').first()).toBeVisible();
  expect(page.url()).not.toContain('token');
  expect(page.url()).toBe(`${host.origin}#/`);
  const cookie = (await context.cookies(host.origin)).find((c) => c.name === `studio_token_${host.port}`);
  expect(cookie).toMatchObject({ value: host.token, httpOnly: true, sameSite: 'Strict', path: '/' });
  // Scripts on the page cannot read it; the page's own requests carry it.
  expect(await page.evaluate(() => document.cookie)).not.toContain(host.token);
  const reply = await page.evaluate(async () => (await fetch('/api/appInfo', { method: 'POST', body: 'null' })).json());
  expect(reply).toMatchObject({ ok: true });
  const loaded = await page.evaluate(async (src) => {
    const img = new Image();
    img.src = src;
    await img.decode();
    return img.naturalWidth;
  }, `/thumb/${FAKE_INDEX_ID}/7.webp`);
  expect(loaded).toBe(8);
  // A reload (the address no longer has the token) still works, on the cookie.
  const again = await page.reload();
  expect(again?.status()).toBe(200);
});

test('a page on another port of 127.0.0.1 loads nothing from the studio, even with the cookie set', async ({ page }) => {
  await page.goto(host.url);
  await expect(page.locator('#app > *').first()).toBeVisible();
  const before = backend.calls.filter((c) => c.method === 'listJobs').length;
  const lookupsBefore = thumbLookups;
  await page.goto(evilUrl);
  expect(await page.evaluate(() => (window as unknown as { imgResult: Promise<string> }).imgResult)).toBe('blocked');
  await page.waitForTimeout(300);
  expect(thumbLookups).toBe(lookupsBefore);
  expect(backend.calls.filter((c) => c.method === 'listJobs').length).toBe(before);
});
