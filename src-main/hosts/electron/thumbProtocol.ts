import { readFile } from 'node:fs/promises';
import type { CustomScheme, Protocol } from 'electron';
import { THUMB_SCHEME } from '../../contract/index.js';
import type { StudioBackend } from '../../core/backend.js';
import { isThumbnailRequest } from '../../core/paths/thumbnailName.js';
import { THUMB_HEADERS } from '../web/thumbnails.js';
import { isTrustedRendererUrl } from './trust.js';

// `studio-thumb://<indexId>/<file>`: thumbnails for <img> tags in the sandboxed renderer, which
// cannot read files itself. Read-only (GET); only the names the indexer writes; the file is
// resolved by the backend inside that index's thumbnail folder with resolveContained (which
// refuses a `thumbs` that is itself a link out of the index), never by joining paths here. The
// web host's thumbnails go through the same two checks and carry the same headers.

export const THUMB_SCHEME_PRIVILEGES: CustomScheme = {
  scheme: THUMB_SCHEME,
  // standard: URLs get a host (the index id) and relative resolution; secure: allowed from our
  // secure app origin without mixed-content blocking; supportFetchAPI: fetch() works for canvas;
  // corsEnabled: figure export loads thumbnails with crossorigin="anonymous" so it may read their
  // pixels from a canvas (thumbCorsHeaders says which origins may).
  privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true },
};

/**
 * CORS headers for a thumbnail asked for from `origin`. Only our own renderer page (the app
 * protocol, or the dev server under `npm run dev`) is named, so only it can read a thumbnail's
 * pixels back from a canvas (figure export embeds them in the SVG/PNG); an image shown in an <img>
 * needs no CORS, and any other origin gets none. The page's CSP is untouched: the image is loaded
 * under img-src, which already allows the scheme, not fetched under connect-src.
 */
export function thumbCorsHeaders(origin: string | null, devServerUrl?: string): Record<string, string> {
  if (!origin || !isTrustedRendererUrl(origin, devServerUrl)) return { Vary: 'Origin' };
  return { 'Access-Control-Allow-Origin': origin, Vary: 'Origin' };
}

export type ThumbResolution = { status: 200; path: string } | { status: 400 | 404 | 405; reason: string };

const THUMB_URL = new RegExp(`^${THUMB_SCHEME}://([^/?#]+)/([^?#]+)(?:[?#].*)?$`, 'i');

/** Maps a thumbnail request to a file path. Pure apart from the backend's file lookup (which may make it, see thumbnailCache.ts). */
export async function thumbRequestToPath(
  url: string,
  method: string,
  backend: Pick<StudioBackend, 'resolveThumbnail'>,
): Promise<ThumbResolution> {
  if (method !== 'GET') return { status: 405, reason: 'Thumbnails are read-only.' };
  // The file part stays percent-encoded: resolveContained decodes it exactly once.
  const [, indexId, file] = THUMB_URL.exec(url) ?? [];
  if (!indexId || !file) return { status: 400, reason: `Not a thumbnail URL: ${url}` };
  if (!isThumbnailRequest(file)) return { status: 404, reason: 'No such thumbnail.' };
  const path = await backend.resolveThumbnail(indexId, file);
  return path ? { status: 200, path } : { status: 404, reason: 'No such thumbnail.' };
}

export function registerThumbProtocol(protocol: Pick<Protocol, 'handle'>, backend: StudioBackend, devServerUrl?: string): void {
  protocol.handle(THUMB_SCHEME, async (request) => {
    const resolved = await thumbRequestToPath(request.url, request.method, backend);
    if (resolved.status !== 200) return new Response(resolved.reason, { status: resolved.status });
    try {
      const body = await readFile(resolved.path);
      return new Response(body, {
        status: 200,
        headers: { ...THUMB_HEADERS, ...thumbCorsHeaders(request.headers.get('origin'), devServerUrl) },
      });
    } catch {
      return new Response('No such thumbnail.', { status: 404 });
    }
  });
}
