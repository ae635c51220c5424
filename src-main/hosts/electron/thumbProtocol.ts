import { readFile } from 'node:fs/promises';
import type { CustomScheme, Protocol } from 'electron';
import { THUMB_SCHEME } from '../../contract/index.js';
import type { StudioBackend } from '../../core/backend.js';
import { isThumbnailRequest } from '../../core/paths/thumbnailName.js';
import { THUMB_HEADERS } from '../web/thumbnails.js';

// `studio-thumb://<indexId>/<file>`: thumbnails for <img> tags in the sandboxed renderer, which
// cannot read files itself. Read-only (GET); only the names the indexer writes; the file is
// resolved by the backend inside that index's thumbnail folder with resolveContained (which
// refuses a `thumbs` that is itself a link out of the index), never by joining paths here. The
// web host's thumbnails go through the same two checks and carry the same headers.

export const THUMB_SCHEME_PRIVILEGES: CustomScheme = {
  scheme: THUMB_SCHEME,
  // standard: URLs get a host (the index id) and relative resolution; secure: allowed from our
  // secure app origin without mixed-content blocking; supportFetchAPI: fetch() works for canvas.
  privileges: { standard: true, secure: true, supportFetchAPI: true },
};

export type ThumbResolution = { status: 200; path: string } | { status: 400 | 404 | 405; reason: string };

const THUMB_URL = new RegExp(`^${THUMB_SCHEME}://([^/?#]+)/([^?#]+)(?:[?#].*)?$`, 'i');

/** Maps a thumbnail request to a file path. Pure apart from the backend's file lookup. */
export function thumbRequestToPath(
  url: string,
  method: string,
  backend: Pick<StudioBackend, 'resolveThumbnail'>,
): ThumbResolution {
  if (method !== 'GET') return { status: 405, reason: 'Thumbnails are read-only.' };
  const match = THUMB_URL.exec(url);
  if (!match) return { status: 400, reason: `Not a thumbnail URL: ${url}` };
  // The file part stays percent-encoded: resolveContained decodes it exactly once.
  const [, indexId, file] = match;
  if (!isThumbnailRequest(file)) return { status: 404, reason: 'No such thumbnail.' };
  const path = backend.resolveThumbnail(indexId, file);
  return path ? { status: 200, path } : { status: 404, reason: 'No such thumbnail.' };
}

export function registerThumbProtocol(protocol: Pick<Protocol, 'handle'>, backend: StudioBackend): void {
  protocol.handle(THUMB_SCHEME, async (request) => {
    const resolved = thumbRequestToPath(request.url, request.method, backend);
    if (resolved.status !== 200) return new Response(resolved.reason, { status: resolved.status });
    try {
      const body = await readFile(resolved.path);
      return new Response(body, {
        status: 200,
        headers: { ...THUMB_HEADERS },
      });
    } catch {
      return new Response('No such thumbnail.', { status: 404 });
    }
  });
}
