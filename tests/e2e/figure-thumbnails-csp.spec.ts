import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { buildSync } from 'esbuild';
import sharp from 'sharp';
import { expect, test } from '@playwright/test';
import { ELECTRON_CSP } from '../../src-main/hosts/electron/appProtocol.js';
import { THUMB_SCHEME } from '../../src-main/contract/index.js';

// Issue 17: figure export must embed exemplar thumbnails in Electron too, where they come from the
// studio-thumb: scheme that the page's CSP allows only as an image (img-src), never as a
// connection (connect-src 'self'). Chromium cannot serve a custom scheme to Playwright, so the
// thumbnail origin stands in for it: the page gets the app's exact CSP with `studio-thumb:`
// replaced by that origin, and the figure code's own thumbnailDataUrls (lib/figures/browser.ts,
// bundled as is) must read a thumbnail that answers our origin with CORS, read none that does not,
// and never try a connection the CSP refuses.

/** A loopback server answering every request with `answer`; real servers, not page.route, since
 * Playwright's fulfilled responses do not go through Chromium's CORS check the same way. */
async function serve(host: string, answer: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<{ origin: string; close: () => Promise<void> }> {
  const server = http.createServer(answer);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return { origin: `http://${host === '127.0.0.1' ? '127.0.0.1' : 'localhost'}:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

test('figure code reads thumbnails under the Electron CSP as CORS images, without widening connect-src', async ({ page }) => {
  const bundle = buildSync({
    stdin: {
      contents: "import { thumbnailDataUrls } from './browser'; (window as any).thumbnailDataUrl = async (u: string) => (await thumbnailDataUrls([u]))[0];",
      resolveDir: path.resolve('src-renderer/src/lib/figures'),
      loader: 'ts',
    },
    bundle: true,
    format: 'iife',
    write: false,
  }).outputFiles[0]!.text;
  // A 4×2 thumbnail: left half pure red, right half pure blue (lossless, so pixels are exact).
  const red = { r: 255, g: 0, b: 0 };
  const blue = { r: 0, g: 0, b: 255 };
  const raw = Buffer.alloc(4 * 2 * 3);
  for (let y = 0; y < 2; y++) for (let x = 0; x < 4; x++) raw.set(Object.values(x < 2 ? red : blue), (y * 4 + x) * 3);
  const webp = await sharp(raw, { raw: { width: 4, height: 2, channels: 3 } }).webp({ lossless: true }).toBuffer();

  const refused: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) refused.push(m.text());
  });
  // Two origins: the app page on localhost, the thumbnails on 127.0.0.1 (another origin, like the
  // studio-thumb: scheme is to studio-app:).
  let APP = '';
  const thumbs = await serve('127.0.0.1', (req, res) => {
    const cors = req.url!.startsWith('/ours/') && req.headers.origin === APP;
    res.writeHead(200, { 'Content-Type': 'image/webp', ...(cors ? { 'Access-Control-Allow-Origin': APP, Vary: 'Origin' } : {}) });
    res.end(webp);
  });
  const THUMBS = thumbs.origin;
  const csp = ELECTRON_CSP.replace(`${THUMB_SCHEME}:`, THUMBS);
  expect(csp).toContain(`img-src 'self' data: blob: ${THUMBS};`);
  expect(csp).toContain("connect-src 'self';");
  const app = await serve('localhost', (req, res) => {
    if (req.url === '/figure.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      return void res.end(bundle);
    }
    res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Security-Policy': csp });
    res.end('<!doctype html><html><head><script src="/figure.js"></script></head><body></body></html>');
  });
  APP = app.origin;
  test.info().attach('origins', { body: `${APP} ${THUMBS}` });
  await page.goto(`${APP}/index.html`);

  const read = (url: string) => page.evaluate((u) => (window as unknown as { thumbnailDataUrl: (u: string) => Promise<string | null> }).thumbnailDataUrl(u), url);
  const ours = await read(`${THUMBS}/ours/7.webp`);
  expect(ours).toMatch(/^data:image\/png;base64,/);
  const png = await sharp(Buffer.from(ours!.split(',')[1]!, 'base64')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  expect([png.info.width, png.info.height]).toEqual([4, 2]);
  expect([...png.data.subarray(0, 3)]).toEqual([255, 0, 0]);
  expect([...png.data.subarray(3 * 3, 3 * 3 + 3)]).toEqual([0, 0, 255]);
  // A thumbnail that does not name our origin stays unreadable (a tainted canvas): null, no throw.
  expect(await read(`${THUMBS}/other/7.webp`)).toBeNull();
  // Nothing was refused by the CSP: the code never tried fetch() on the thumbnail origin.
  expect(refused).toEqual([]);
  await app.close();
  await thumbs.close();
});
