import fs from 'node:fs';
import path from 'node:path';
import type { StudioService } from '../../src-main/core/service.js';
import { startWebHost, type WebHost } from '../../src-main/hosts/web/webHost.js';

// What every web e2e spec does around its own setup: serve the built renderer for a service on
// a free loopback port, and tear both down with the spec's work folder. `host.url` carries the
// run's access token, so `page.goto(host.url)` (or `new URL('#/route', host.url)`, or
// `${host.url}#/route`) signs the page in; build addresses from it, not from the port alone.

export function serveRenderer(service: StudioService): Promise<WebHost> {
  return startWebHost({ backend: service, port: 0, rendererDir: path.resolve('out/renderer') });
}

export async function closeE2e(host: WebHost | undefined, service: StudioService | undefined, work: string | undefined): Promise<void> {
  await host?.close();
  await service?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
}
