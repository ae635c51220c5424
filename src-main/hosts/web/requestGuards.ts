import type { IncomingMessage } from 'node:http';

// The web host listens on 127.0.0.1 only, but a page on any site can still make the user's
// browser send requests there. Two checks close that:
// - Host must name loopback: a DNS-rebinding page reaches us under its own host name.
// - Origin, when the browser sends one (it does on every POST), must be our own origin: a
//   cross-site form or fetch would otherwise start jobs through the API.

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost']);

/** Host name of a Host header value (`name[:port]`), lower-cased; null when malformed. */
function hostName(host: string): string | null {
  const match = /^([a-z0-9.-]+)(?::(\d{1,5}))?$/i.exec(host.trim());
  return match ? match[1].toLowerCase() : null;
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
