import type { IpcInvokeEventLike, TrustedSenderCheck } from './ipc.js';

// Which pages count as "our renderer": the app protocol page in a packaged/previewed build, and
// the Vite dev server's origin under `npm run dev`. Everything else (a navigated frame, an
// iframe, a devtools extension page) is refused by IPC and never gets the preload's API.

/** Scheme the built renderer is served on (see appProtocol.ts); a fixed host keeps one origin. */
export const APP_SCHEME = 'studio-app';
export const APP_HOST = 'renderer';
export const APP_ENTRY_URL = `${APP_SCHEME}://${APP_HOST}/index.html`;

export function isTrustedRendererUrl(url: string, devServerUrl?: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol === `${APP_SCHEME}:` && parsed.host === APP_HOST) return true;
  if (devServerUrl) {
    try {
      return parsed.origin === new URL(devServerUrl).origin;
    } catch {
      return false;
    }
  }
  return false;
}

export function trustedSenderCheck(devServerUrl?: string): TrustedSenderCheck {
  return (event: IpcInvokeEventLike) => {
    const url = event.senderFrame?.url;
    return typeof url === 'string' && isTrustedRendererUrl(url, devServerUrl);
  };
}
