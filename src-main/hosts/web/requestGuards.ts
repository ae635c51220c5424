import type { IncomingMessage } from 'node:http';

// The web host listens on 127.0.0.1 only, but a page on any site can still make the user's
// browser send requests there. Two checks close that:
// - Host must name loopback: a DNS-rebinding page reaches us under its own host name.
// - Origin, when the browser sends one (it does on every POST), must be our own origin: a
//   cross-site form or fetch would otherwise start jobs through the API.
// - Fetch metadata: a page of another origin may not embed or fetch anything of ours (an <img>
//   or <script> sends no Origin). Other ports of 127.0.0.1 count as the same *site*, so they
//   would get our SameSite cookie attached; refusing same-site requests too closes that.
// The access token (accessToken.ts) is checked after these.

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost']);

/** Host name of a Host header value (`name[:port]`), lower-cased; null when malformed. */
function hostName(host: string): string | null {
  const match = /^([a-z0-9.-]+)(?::(\d{1,5}))?$/i.exec(host.trim());
  return match?.[1]?.toLowerCase() ?? null;
}

export function isLoopbackHost(hostHeader: string | undefined): boolean {
  if (!hostHeader) return false;
  const name = hostName(hostHeader);
  return name !== null && LOOPBACK_NAMES.has(name);
}

/** True when the request carries no Origin (curl, scripts) or our own loopback origin on `port`. */
export function isSameOrigin(req: IncomingMessage, port: number): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  return url.protocol === 'http:' && LOOPBACK_NAMES.has(url.hostname) && Number(url.port) === port;
}

/**
 * True when a browser says the request comes from a page of another origin and is not the user
 * following a link (Sec-Fetch-Site / Sec-Fetch-Mode; browsers that send neither, and curl, pass,
 * and still need the token).
 */
export function isForeignSubresource(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== 'cross-site' && site !== 'same-site') return false;
  const dest = req.headers['sec-fetch-dest'];
  // Only top-level navigations: a frame of ours inside their page is a subresource too.
  const navigation =
    req.headers['sec-fetch-mode'] === 'navigate' &&
    (dest === undefined || dest === 'document') &&
    (req.method === 'GET' || req.method === 'HEAD');
  return !navigation;
}
