import { existsSync } from 'node:fs';
import path from 'node:path';
import { startWebHost } from '../../web/webHost.js';
import { EXIT, withServedBackend, type CliDeps } from '../context.js';
import { DEFAULT_PORT } from './defaultPort.js';

// `studio serve [DIR]`: the studio in a browser, on 127.0.0.1 (reach a remote GPU box through an
// SSH tunnel). Builds the renderer first when this checkout has never built it. Without --port it
// prefers 5199 and takes any free port when that one is busy; `--open` shows it in the default
// browser (what `npm start` does when Electron cannot run). The printed and opened address carries
// the run's access token (see hosts/web/accessToken.ts): without it the host answers nothing.

export { DEFAULT_PORT };

export function rendererDirOf(projectRoot: string): string {
  return path.join(projectRoot, 'out', 'renderer');
}

export async function serveCommand(dir: string | undefined, options: { port?: number; open?: boolean }, deps: CliDeps): Promise<number> {
  const rendererDir = rendererDirOf(deps.projectRoot);
  if (!existsSync(path.join(rendererDir, 'index.html'))) {
    deps.stderr.write('Building the studio UI (first run only)…\n');
    await deps.buildRenderer(deps.projectRoot);
  }
  const openAtStart = dir ? path.resolve(dir) : undefined;
  // STUDIO_DEMO_SIZE=small: the welcome screen's demo button builds the smaller demo.
  const demoSize = deps.env.STUDIO_DEMO_SIZE === 'small' ? ('small' as const) : undefined;
  return withServedBackend(deps, { openAtStart, demoSize }, async (backend) => {
    const host = await startWebHost({
      backend,
      port: options.port ?? DEFAULT_PORT,
      anyPortIfTaken: options.port === undefined,
      rendererDir,
    });
    deps.stdout.write(`Feature Studio is running at ${host.url}${openAtStart ? ` with ${openAtStart}` : ''}\n`);
    if (options.open) {
      const opened = await deps.openUrl(host.url);
      if (opened === 'opened') deps.stdout.write('Opened it in your default browser.\n');
      else if (opened === 'no-display') deps.stdout.write('No display here (DISPLAY/WAYLAND_DISPLAY unset): open the address above in a browser.\n');
      else if (opened === 'failed') deps.stdout.write('Could not start a browser: open the address above yourself.\n');
    }
    deps.stdout.write(
      'Only this machine can connect, and only with the token in that address (keep it to yourself: it gives\n' +
        'full use of the studio as you); from elsewhere use an SSH tunnel (ssh -L). Press Ctrl-C to stop.\n',
    );
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
