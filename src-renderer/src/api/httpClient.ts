import type { ApiMethod, MethodSpec, StudioApi, StudioClient, StudioEvent } from '@contract';
import { API_METHODS, API_TABLE } from '@contract';
import { StudioError } from './studioError.js';
import { unwrapReply } from './unwrapReply.js';

export interface HttpClientOptions {
  /** Prefix of the host's URLs; '' means relative to the page. */
  baseUrl?: string;
  fetch?: typeof fetch;
  /** Factory for the event stream, replaceable in tests. */
  eventSource?: (url: string) => EventSource;
}

/**
 * StudioClient over the web host: `POST /api/<method>` with the single argument as JSON (or null),
 * events over Server-Sent Events at `/api/events` (EventSource reconnects by itself), thumbnails
 * at `/thumb/<index>/<item>.webp`.
 */
export function createHttpClient(options: HttpClientOptions = {}): StudioClient {
  const base = options.baseUrl ?? '';
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const openEvents = options.eventSource ?? ((url: string) => new EventSource(url));

  async function call(method: ApiMethod, args: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await doFetch(`${base}/api/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(args ?? null),
      });
    } catch (error) {
      throw new StudioError(
        'host-unreachable',
        `Could not reach the studio host (${(error as Error).message}). Is \`studio serve\` still running?`,
      );
    }
    let reply: unknown;
    try {
      reply = await response.json();
    } catch {
      throw new StudioError('bad-reply', `The host answered ${method} with HTTP ${response.status} and no JSON body.`);
    }
    const result = unwrapReply(method, reply);
    // Results JSON cannot carry as they are (typed arrays) come in their method's encoding.
    const wire = (API_TABLE[method] as MethodSpec).wire;
    if (!wire) return result;
    try {
      return wire.fromJson(result);
    } catch (error) {
      throw new StudioError('bad-reply', `The host's answer to ${method} does not decode: ${(error as Error).message}`);
    }
  }

  const api = Object.fromEntries(
    API_METHODS.map((method) => [method, (args?: unknown) => call(method, args)]),
  ) as unknown as StudioApi;

  // One EventSource shared by all listeners, opened on first subscription.
  const listeners = new Set<(event: StudioEvent) => void>();
  let source: EventSource | null = null;

  function onEvent(listener: (event: StudioEvent) => void): () => void {
    listeners.add(listener);
    if (!source) {
      source = openEvents(`${base}/api/events`);
      source.onmessage = (message: MessageEvent<string>) => {
        let event: StudioEvent;
        try {
          event = JSON.parse(message.data) as StudioEvent;
        } catch {
          return; // keep-alive comments and malformed lines are not events
        }
        for (const l of listeners) l(event);
      };
    }
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && source) {
        source.close();
        source = null;
      }
    };
  }

  return {
    ...api,
    onEvent,
    thumbnailUrl: (indexId, itemId) =>
      `${base}/thumb/${encodeURIComponent(indexId)}/${encodeURIComponent(String(itemId))}.webp`,
  };
}

/** Where the page's address lives; `window.location`/`window.history` in the app. */
export interface AddressBar {
  location: Pick<Location, 'href'>;
  history: Pick<History, 'replaceState' | 'state'>;
}

/**
 * `studio serve` prints `http://127.0.0.1:<port>/?token=<secret>`. The host answers that first
 * request with an HttpOnly cookie, so the page no longer needs the token in its address; leaving
 * it there would hand the secret to whoever gets a copy-pasted link or a screenshot later. This
 * takes it out without a reload, keeping the path, other query parameters and the #/route.
 * Returns whether it changed anything.
 */
export function removeTokenFromAddress(bar: AddressBar): boolean {
  const url = new URL(bar.location.href);
  if (!url.searchParams.has('token')) return false;
  url.searchParams.delete('token');
  const query = url.searchParams.toString();
  bar.history.replaceState(bar.history.state, '', `${url.pathname}${query ? `?${query}` : ''}${url.hash}`);
  return true;
}
