import { readFile } from 'node:fs/promises';
import type { CustomScheme, Protocol } from 'electron';
import { THUMB_SCHEME } from '../../contract/index.js';
import { resolveContained } from '../../core/paths/containedPath.js';
import { contentTypeFor } from '../web/fileResponse.js';
import { contentSecurityPolicy } from '../csp.js';
import { APP_HOST, APP_SCHEME } from './trust.js';

// `studio-app://renderer/...`: the built renderer, served from out/renderer. A custom scheme
// instead of file:// gives the page one fixed origin (what the IPC trust check compares), keeps
// file:// pages' broad file access out of the picture, and lets us attach the CSP header.

export const APP_SCHEME_PRIVILEGES: CustomScheme = {
  scheme: APP_SCHEME,
  privileges: { standard: true, secure: true, supportFetchAPI: true },
};

export const ELECTRON_CSP = contentSecurityPolicy({ imgSrc: [`${THUMB_SCHEME}:`] });

export type AppResolution = { status: 200; path: string } | { status: 404 | 405; reason: string };

/** Maps an app request to a file under `rendererDir`. Pure apart from the containment lookup. */
export function appRequestToPath(url: string, method: string, rendererDir: string): AppResolution {
  if (method !== 'GET') return { status: 405, reason: 'The app is read-only.' };
  const match = new RegExp(`^${APP_SCHEME}://${APP_HOST}/([^?#]*)`, 'i').exec(url);
  const requested = match ? match[1] || 'index.html' : null;
  const path = requested ? resolveContained(rendererDir, requested) : null;
  return path ? { status: 200, path } : { status: 404, reason: 'Not part of the app.' };
}

export function registerAppProtocol(protocol: Pick<Protocol, 'handle'>, rendererDir: string): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const resolved = appRequestToPath(request.url, request.method, rendererDir);
    if (resolved.status !== 200) return new Response(resolved.reason, { status: resolved.status });
    try {
      const body = await readFile(resolved.path);
      const headers: Record<string, string> = { 'Content-Type': contentTypeFor(resolved.path) };
      if (resolved.path.endsWith('.html')) headers['Content-Security-Policy'] = ELECTRON_CSP;
      return new Response(body, { status: 200, headers });
    } catch {
      return new Response('Not part of the app.', { status: 404 });
    }
  });
}
