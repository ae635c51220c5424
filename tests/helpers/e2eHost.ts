import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createStudioService, type StudioService } from '../../src-main/core/service.js';
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

/**
 * The common start of a spec on one real index: a work folder, the fixture index built by the
 * indexer, a service that opens it at start, and the renderer served for it.
 */
export async function openFixtureE2e(name: string): Promise<{ work: string; service: StudioService; host: WebHost; indexId: string }> {
  const { buildFixtureIndex } = await import('./buildFixtureIndex.js');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `studio-e2e-${name}-`));
  const fixture = await buildFixtureIndex(path.join(work, 'fixture'));
  const service = await createStudioService({ settingsDir: path.join(work, 'settings'), host: 'web', openAtStart: fixture.indexDir });
  const indexId = (await service.appInfo()).startIndexId!;
  return { work, service, host: await serveRenderer(service), indexId };
}
