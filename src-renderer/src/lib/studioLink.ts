// Stable links to a view. The studio routes with the URL hash (#/index/<id>/feature/12?…), and an
// index id is a hash of the index folder's absolute path (src-main/core/service.ts), so it is the
// same across restarts and the web host and Electron app resolve it from the user's recent
// indexes. A link is therefore the web address of the view without the run's access token:
// http://127.0.0.1:PORT/#/index/<id>/…; `studio open LINK` serves the studio and opens that route
// (whatever the port was). The Electron app, whose page is a file, writes the link against the
// default `studio serve` address so it is still one `studio open` (or a running server) away.

const DEFAULT_LINK_BASE = 'http://127.0.0.1:5199/';

/** The shareable link of the page at `href` (the token, if still in the address, is dropped). */
export function viewLink(href: string, fallbackBase: string = DEFAULT_LINK_BASE): string {
  const url = new URL(href);
  const route = routeOf(url.hash);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `${fallbackBase}#${route}`;
  url.searchParams.delete('token');
  return `${url.origin}${url.pathname}${url.search}#${route}`;
}

/** The route a link leads to ('/index/…'), from a full link, '#/…' or '/…'; '/' when none. */
export function routeOfLink(link: string): string {
  const trimmed = link.trim();
  const hash = trimmed.indexOf('#');
  if (hash >= 0) return routeOf(trimmed.slice(hash));
  return trimmed.startsWith('/') ? trimmed : '/';
}

function routeOf(hash: string): string {
  const r = hash.replace(/^#/, '');
  return r.startsWith('/') ? r : '/';
}
