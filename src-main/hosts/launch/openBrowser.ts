import { spawn } from 'node:child_process';

// Opens a URL in the user's default browser when there is a screen to show it on. Returns what it
// did, so the caller can say so; the URL is printed either way.

export type OpenOutcome = 'opened' | 'no-display' | 'disabled' | 'failed';

export interface BrowserCommand {
  command: string;
  args: string[];
}

/** The command that opens `url`, or null where no display can show it. `BROWSER` wins, as in most CLIs. */
export function browserCommand(url: string, env: NodeJS.ProcessEnv, platform: NodeJS.Platform): BrowserCommand | null {
  if (env.BROWSER) return { command: env.BROWSER, args: [url] };
  if (platform === 'darwin') return { command: 'open', args: [url] };
  if (platform === 'win32') return { command: 'cmd', args: ['/c', 'start', '""', url.replace(/&/g, '^&')] };
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return null;
  return { command: 'xdg-open', args: [url] };
}

export function openBrowser(url: string, env: NodeJS.ProcessEnv, platform = process.platform): Promise<OpenOutcome> {
  if (env.STUDIO_NO_BROWSER) return Promise.resolve('disabled');
  const how = browserCommand(url, env, platform);
  if (!how) return Promise.resolve('no-display');
  return new Promise((resolve) => {
    try {
      const child = spawn(how.command, how.args, { stdio: 'ignore', detached: true, windowsHide: true });
      child.once('error', () => resolve('failed'));
      child.once('spawn', () => {
        child.unref();
        resolve('opened');
      });
    } catch {
      resolve('failed');
    }
  });
}
