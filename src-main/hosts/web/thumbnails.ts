import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StudioBackend } from '../../core/backend.js';
import { isThumbnailRequest } from '../../core/paths/thumbnailName.js';
import { regularFileStats, sendFile } from './fileResponse.js';
import { sendText } from './responses.js';

// `GET /thumb/<indexId>/<file>`: thumbnails of an open index. Only the names the indexer writes
// are asked for (isThumbnailRequest); the backend resolves the file with resolveContained inside
// that index's thumbnail folder, which must be a real folder of the index, not a link out of it.

/** Thumbnails are rewritten only when an index is rebuilt, and then the ETag changes. */
const THUMB_CACHE = 'private, max-age=3600';

/**
 * Whatever the file holds, it goes out as an image that cannot run anything: a fixed type (not
 * one guessed from the name, which a link could change), no sniffing, and a policy that lets a
 * browser opening the URL directly load nothing and run nothing.
 */
export const THUMB_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Type': 'image/webp',
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; sandbox",
  'Cache-Control': THUMB_CACHE,
});

/** Splits `<indexId>/<file>` (raw, still percent-encoded); null when either part is missing. */
export function splitThumbPath(rest: string): { indexId: string; file: string } | null {
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1) return null;
  let indexId: string;
  try {
    indexId = decodeURIComponent(rest.slice(0, slash));
  } catch {
    return null;
  }
  // The file part stays encoded: resolveContained decodes it exactly once.
  return { indexId, file: rest.slice(slash + 1) };
}

export async function serveThumbnail(
  req: IncomingMessage,
  res: ServerResponse,
  backend: Pick<StudioBackend, 'resolveThumbnail'>,
  rest: string,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    sendText(res, 405, 'Thumbnails are read-only: use GET.');
    return;
  }
  const parts = splitThumbPath(rest);
  // For an on-demand index this may first make the thumbnail from the dataset (thumbnailCache.ts).
  const file = parts && isThumbnailRequest(parts.file) ? await backend.resolveThumbnail(parts.indexId, parts.file) : null;
  const stats = file ? regularFileStats(file) : null;
  if (!file || !stats) {
    sendText(res, 404, 'No such thumbnail.');
    return;
  }
  sendFile(req, res, file, stats, { ...THUMB_HEADERS });
}
