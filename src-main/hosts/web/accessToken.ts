import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

// The web host's per-run secret. Binding to 127.0.0.1 keeps other machines out, but not other
// users of this machine, nor pages in the user's own browser: without a secret any local process
// could open an index through the API and read files the studio user can read. So every request
// (API, events, thumbnails, the renderer itself) must carry the token that `studio serve` prints
// in its URL:
// - `?token=<t>` on the first visit (the printed URL); the reply then sets a cookie, and the
//   renderer removes the token from the address bar,
// - the cookie afterwards (HttpOnly: scripts cannot read it; SameSite=Strict: other sites'
//   pages do not get it attached to their requests),
// - or an `X-Studio-Token` header, for scripts and tests.

/** 32 random bytes: 256 bits, far past guessing, in URL-safe characters. */
export function newAccessToken(): string {
  return randomBytes(32).toString('base64url');
}

export const TOKEN_QUERY = 'token';
export const TOKEN_HEADER = 'x-studio-token';

/**
 * Cookies ignore ports, so two studios on one machine (5199 and a fallback port) would overwrite
 * each other's cookie under one name; the port in the name keeps them apart.
 */
export function tokenCookieName(port: number): string {
  return `studio_token_${port}`;
}

/** The Set-Cookie value that keeps a browser signed in for this run (a session cookie). */
export function tokenCookie(port: number, token: string): string {
  return `${tokenCookieName(port)}=${token}; HttpOnly; SameSite=Strict; Path=/`;
}

/**
 * Compares in time independent of where the strings differ. Hashing first gives both sides the
 * same length, which timingSafeEqual requires, without revealing the token's length either.
 */
export function tokensEqual(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

export type TokenCheck =
  /** Allowed; `fromQuery` says the token came in the URL, so the reply should set the cookie. */
  | { ok: true; fromQuery: boolean }
  | { ok: false };

function queryValue(target: string | undefined, name: string): string | null {
  // split always yields at least one piece; the default only satisfies the type.
  const [query = ''] = (target ?? '').split('#', 1);
  const mark = query.indexOf('?');
  return mark < 0 ? null : new URLSearchParams(query.slice(mark + 1)).get(name);
}

/**
 * The first place that carries a token decides: the URL, then the header, then the cookie. So the
 * printed URL works even over a stale cookie from an earlier run on the same port (and replaces
 * it), while a wrong token in the URL is refused even when the cookie is right.
 */
export function checkAccessToken(req: IncomingMessage, port: number, expected: string): TokenCheck {
  const query = queryValue(req.url, TOKEN_QUERY);
  if (query !== null) return tokensEqual(query, expected) ? { ok: true, fromQuery: true } : { ok: false };
  const header = req.headers[TOKEN_HEADER];
  if (typeof header === 'string') return tokensEqual(header, expected) ? { ok: true, fromQuery: false } : { ok: false };
  const cookie = cookieValue(req.headers.cookie, tokenCookieName(port));
  if (cookie !== null) return tokensEqual(cookie, expected) ? { ok: true, fromQuery: false } : { ok: false };
  return { ok: false };
}
