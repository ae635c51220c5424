import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StudioEvent } from '../../contract/index.js';

// `GET /api/events`: Server-Sent Events, which the browser's EventSource reads with no extra
// dependency and reconnects by itself. Each StudioEvent is one `data:` line of JSON.

/** Comment lines keep idle connections open through proxies and let us notice dead clients. */
export const KEEP_ALIVE_MS = 15_000;

export interface EventStreams {
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Ends every open stream (on host close; otherwise server.close() would wait for them). */
  closeAll(): void;
}

export function createEventStreams(
  subscribe: (listener: (event: StudioEvent) => void) => () => void,
  keepAliveMs = KEEP_ALIVE_MS,
): EventStreams {
  const open = new Set<ServerResponse>();

  return {
    handle(req, res) {
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive',
        // Stops reverse proxies (nginx) from buffering the stream when the host is tunnelled.
        'X-Accel-Buffering': 'no',
      });
      // The retry hint and a first comment make EventSource fire `open` right away.
      res.write('retry: 2000\n: connected\n\n');
      open.add(res);
      const unsubscribe = subscribe((event) => {
        res.write(`data: ${JSON.stringify(event)}\n\n`);
      });
      const timer = setInterval(() => res.write(': keep-alive\n\n'), keepAliveMs);
      timer.unref();
      let cleaned = false;
      const cleanup = () => {
        if (cleaned) return;
        cleaned = true;
        clearInterval(timer);
        unsubscribe();
        open.delete(res);
      };
      req.on('close', cleanup);
      res.on('close', cleanup);
    },
    closeAll() {
      for (const res of open) res.end();
      open.clear();
    },
  };
}
