import { existsSync } from 'node:fs';
import path from 'node:path';
import { startWebHost } from '../../web/webHost.js';
import { EXIT, withServedBackend, type CliDeps } from '../context.js';
import { DEFAULT_PORT, rendererDirOf } from './serveCommand.js';

// `studio open LINK [DIR]`: what `studio serve --open` does, landing on the view a "Copy link"
// gave (http://127.0.0.1:PORT/#/index/<id>/feature/12). Only the route after '#' matters: the
// port and token of the run that made the link are long gone, and index ids are stable per
// folder, resolved from this user's recent indexes. DIR opens an index folder first, for a link
// to an index this user has not opened yet.

/** The studio route a link leads to ('/index/<id>/…'), or null when the text is not a studio link. */
export function parseStudioLink(link: string): string | null {
  const text = link.trim();
  const hash = text.indexOf('#');
  let route: string;
  if (hash >= 0) {
    if (hash > 0) {
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        return null;
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    }
    route = text.slice(hash + 1);
  } else if (text.startsWith('/')) {
    route = text;
  } else {
    return null;
  }
  // The studio's routes all start at the root; '/index/<id>' ones are the views worth linking.
  return route.startsWith('/') ? route : null;
}

export async function openCommand(
  link: string,
  dir: string | undefined,
  options: { port?: number; browser?: boolean },
  deps: CliDeps,
): Promise<number> {
  const route = parseStudioLink(link);
  if (route === null) {
    deps.stderr.write(`Not a studio link: "${link}". Copy one with "Copy link" in the studio (it looks like http://127.0.0.1:${DEFAULT_PORT}/#/index/…).\n`);
    return EXIT.usage;
  }
  const rendererDir = rendererDirOf(deps.projectRoot);
  if (!existsSync(path.join(rendererDir, 'index.html'))) {
    deps.stderr.write('Building the studio UI (first run only)…\n');
    await deps.buildRenderer(deps.projectRoot);
  }
  const openAtStart = dir ? path.resolve(dir) : undefined;
  return withServedBackend(deps, { openAtStart }, async (backend) => {
    const host = await startWebHost({ backend, port: options.port ?? DEFAULT_PORT, anyPortIfTaken: options.port === undefined, rendererDir });
    // The token rides in the query, the route in the hash; the page drops the token once signed in.
    const url = new URL(host.url);
    url.hash = route;
    deps.stdout.write(`Feature Studio is running at ${url.href}\n`);
    if (options.browser !== false) {
      const opened = await deps.openUrl(url.href);
      if (opened === 'opened') deps.stdout.write('Opened it in your default browser.\n');
      else if (opened === 'no-display') deps.stdout.write('No display here (DISPLAY/WAYLAND_DISPLAY unset): open the address above in a browser.\n');
      else if (opened === 'failed') deps.stdout.write('Could not start a browser: open the address above yourself.\n');
    }
    deps.stdout.write('Only this machine can connect, and only with the token in that address. Press Ctrl-C to stop.\n');
    await new Promise<void>((resolve) => {
      const stop = deps.onInterrupt(() => {
        stop();
        resolve();
      });
    });
    deps.stderr.write('Stopping…\n');
    await host.close();
    return EXIT.ok;
  });
}
