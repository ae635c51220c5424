import type { IncomingMessage, ServerResponse } from 'node:http';
import { containedSegments, resolveContained } from '../../core/paths/containedPath.js';
import { contentSecurityPolicy } from '../csp.js';
import { regularFileStats, sendFile } from './fileResponse.js';
import { sendText } from './responses.js';

// Serves the built renderer (out/renderer). Paths go through resolveContained, so nothing outside
// that folder is ever read. Unknown extension-less paths get index.html (the app routes by hash,
// but a bookmarked deep path should still open the app rather than a bare 404).

const WEB_CSP = contentSecurityPolicy();

export function serveRenderer(
  req: IncomingMessage,
  res: ServerResponse,
  rendererDir: string,
  rawPath: string,
): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    sendText(res, 405, 'Only GET and HEAD are served here.');
    return;
  }
  // Strip exactly one slash: `//etc/passwd` must stay absolute and be refused.
  const requested = rawPath.slice(1) || 'index.html';
  if (containedSegments(requested) === null) {
    sendText(res, 400, 'Refused: the path is not inside the app.');
    return;
  }
  const index = resolveContained(rendererDir, 'index.html');
  const indexStats = index ? regularFileStats(index) : null;
  if (!index || !indexStats) {
    sendText(
      res,
      503,
      `The renderer is not built (no index.html in ${rendererDir}). Run "npm run build:renderer" and reload.`,
    );
    return;
  }
  const file = resolveContained(rendererDir, requested);
  const stats = file ? regularFileStats(file) : null;
  if (file && stats) {
    sendFile(req, res, file, stats, headersFor(requested));
    return;
  }
  if (requested === 'favicon.ico') {
    // Browsers ask for it unprompted; "no icon" is not an error worth a console message.
    res.writeHead(204, { 'Cache-Control': 'public, max-age=86400' });
    res.end();
    return;
  }
  const lastSegment = requested.split('/').pop() ?? '';
  if (lastSegment.includes('.')) {
    sendText(res, 404, `Not found: /${requested}`);
    return;
  }
  sendFile(req, res, index, indexStats, headersFor('index.html'));
}

/** `requested` is the checked request path relative to the renderer folder. */
function headersFor(requested: string): Record<string, string> {
  const headers: Record<string, string> = {};
  // Vite puts content-hashed bundles under assets/: they never change under the same name.
  headers['Cache-Control'] = requested.startsWith('assets/')
    ? 'public, max-age=31536000, immutable'
    : 'no-cache';
  if (requested.endsWith('.html')) headers['Content-Security-Policy'] = WEB_CSP;
  return headers;
}
