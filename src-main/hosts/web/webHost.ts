import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { API_METHODS, type StudioApi } from '../../contract/index.js';
import type { StudioBackend } from '../../core/backend.js';
import { StudioError } from '../../core/errors.js';
import { checkAccessToken, newAccessToken, tokenCookie, TOKEN_QUERY } from './accessToken.js';
import { createEventStreams } from './events.js';
import { handleRpc } from './rpc.js';
import { sendJson, sendText, setCommonHeaders } from './responses.js';
import { isForeignSubresource, isLoopbackHost, isSameOrigin } from './requestGuards.js';
import { serveRenderer } from './staticFiles.js';
import { serveThumbnail } from './thumbnails.js';

// The studio over HTTP on 127.0.0.1: the renderer in a browser (remote GPU boxes through an SSH
// tunnel, Playwright tests) talks to the same service the Electron window does.
//   POST /api/<method>     one contract call (see rpc.ts)
//   GET  /api/events       Server-Sent Events (see events.ts)
//   GET  /thumb/<id>/<f>   thumbnails (see thumbnails.ts)
//   GET  anything else     the built renderer (see staticFiles.ts)
// Every one of them needs this run's access token (see accessToken.ts): the API can read any path
// the user can, and other users of the machine reach 127.0.0.1 too.

/** Only loopback: the API can read any path the user can, so it must never face a network. */
export const WEB_HOST_ADDRESS = '127.0.0.1';

export interface WebHostOptions {
  backend: StudioBackend;
  /** 0 picks a free port. */
  port?: number;
  /** When `port` is taken, listen on any free port instead of failing (the default port of `studio serve`). */
  anyPortIfTaken?: boolean;
  /** The built renderer (out/renderer). */
  rendererDir: string;
}

export interface WebHost {
  /** The address to open: `http://127.0.0.1:<port>/?token=<token>` (the token signs the browser in). */
  url: string;
  /** The address without the token, for messages that must not carry the secret. */
  origin: string;
  port: number;
  /** This run's secret; scripts send it as the `X-Studio-Token` header. */
  token: string;
  /** Stops listening and ends open event streams; the backend stays open (the caller owns it). */
  close(): Promise<void>;
}

/** The backend as the web sees it: a browser cannot get a native file dialog on the server. */
function webApi(backend: StudioBackend): StudioApi {
  const api = Object.fromEntries(
    API_METHODS.map((method) => [method, (arg: unknown) => (backend[method] as (a: unknown) => unknown)(arg)]),
  ) as unknown as StudioApi;
  api.pickPath = async () => null;
  return api;
}

/** Path part of a request target, still percent-encoded and not dot-normalised (on purpose). */
function rawPathOf(target: string | undefined): string {
  const [path = ''] = (target ?? '/').split(/[?#]/, 1);
  return path.startsWith('/') ? path : `/${path}`;
}

function listen(server: http.Server, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, WEB_HOST_ADDRESS, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** 401 in the form the caller reads: an API envelope for the client, a sentence for a person. */
function refuseWithoutToken(res: http.ServerResponse, path: string): void {
  const message =
    'This studio needs its access token: open the address "studio serve" printed (it ends in ?token=…). ' +
    'If the studio was restarted, the old address no longer works; use the new one.';
  if (path.startsWith('/api/')) sendJson(res, 401, { ok: false, error: { code: 'unauthorized', message } });
  else sendText(res, 401, message);
}

export async function startWebHost(options: WebHostOptions): Promise<WebHost> {
  const { backend, rendererDir } = options;
  const requestedPort = options.port ?? 0;
  const api = webApi(backend);
  const streams = createEventStreams((listener) => backend.onEvent(listener));
  let port = requestedPort;
  const token = newAccessToken();

  const server = http.createServer((req, res) => {
    setCommonHeaders(res);
    if (!isLoopbackHost(req.headers.host)) {
      sendText(res, 421, 'Refused: this server only answers requests addressed to 127.0.0.1 or localhost.');
      return;
    }
    if (!isSameOrigin(req, port)) {
      sendJson(res, 403, {
        ok: false,
        error: { code: 'forbidden', message: 'Refused: cross-origin requests are not allowed.' },
      });
      return;
    }
    if (isForeignSubresource(req)) {
      sendJson(res, 403, {
        ok: false,
        error: { code: 'forbidden', message: 'Refused: pages of other origins may not load anything from the studio.' },
      });
      return;
    }
    const access = checkAccessToken(req, port, token);
    if (!access.ok) {
      refuseWithoutToken(res, rawPathOf(req.url));
      return;
    }
    // The printed URL carried the token: keep this browser signed in for the rest of the run.
    if (access.fromQuery) res.setHeader('Set-Cookie', tokenCookie(port, token));
    const path = rawPathOf(req.url);
    const route = async () => {
      if (path === '/api/events' && req.method === 'GET') {
        streams.handle(req, res);
      } else if (path.startsWith('/api/')) {
        await handleRpc(req, res, api, path.slice('/api/'.length));
      } else if (path.startsWith('/thumb/')) {
        await serveThumbnail(req, res, backend, path.slice('/thumb/'.length));
      } else {
        serveRenderer(req, res, rendererDir, path);
      }
    };
    route().catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendJson(res, 500, {
        ok: false,
        error: { code: 'internal', message: err instanceof Error ? err.message : String(err) },
      });
    });
  });

  try {
    await listen(server, requestedPort);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    if (!options.anyPortIfTaken) {
      throw new StudioError(
        'bad-input',
        `Port ${requestedPort} on ${WEB_HOST_ADDRESS} is already in use. Pick another with --port, or --port 0 for any free port.`,
      );
    }
    await listen(server, 0);
  }
  port = (server.address() as AddressInfo).port;

  let closed: Promise<void> | null = null;
  const origin = `http://${WEB_HOST_ADDRESS}:${port}/`;
  return {
    url: `${origin}?${TOKEN_QUERY}=${token}`,
    origin,
    port,
    token,
    close() {
      closed ??= new Promise<void>((resolve) => {
        streams.closeAll();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
