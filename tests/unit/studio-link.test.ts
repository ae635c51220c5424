import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliDeps } from '../../src-main/hosts/cli/context.js';
import { runCli } from '../../src-main/hosts/cli/program.js';
import { parseStudioLink } from '../../src-main/hosts/cli/commands/openCommand.js';
import { routeOfLink, viewLink } from '../../src-renderer/src/lib/studioLink.js';
import { createFakeBackend } from '../helpers/fakeBackend.js';

// Links round-trip: what "Copy link" writes, `studio open` reads back to the same route.

let base: string;
beforeAll(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'link-'));
  mkdirSync(path.join(base, 'out', 'renderer'), { recursive: true });
  writeFileSync(path.join(base, 'out', 'renderer', 'index.html'), '<title>x</title>');
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('studio links', () => {
  const routes = ['/index/3fa2b1c0d9e8/feature/12', '/index/3fa2b1c0d9e8/features?sort=frequency&desc=1', '/index/abc/flicker?clip=a%20b.mp4&feature=7', '/'];

  it('drop the access token and keep the route; the CLI parser and the renderer read the same route back', () => {
    for (const route of routes) {
      const link = viewLink(`http://127.0.0.1:5211/?token=secret-abc#${route}`);
      expect(link).toBe(`http://127.0.0.1:5211/#${route}`);
      expect(link).not.toContain('secret');
      expect(parseStudioLink(link)).toBe(route);
      expect(routeOfLink(link)).toBe(route);
    }
  });

  it('from the Electron page (a file) point at the default studio serve address', () => {
    const link = viewLink('file:///opt/studio/out/renderer/index.html#/index/abc/feature/4');
    expect(link).toBe('http://127.0.0.1:5199/#/index/abc/feature/4');
    expect(parseStudioLink(link)).toBe('/index/abc/feature/4');
  });

  it('the parser refuses text that is not a studio link', () => {
    expect(parseStudioLink('feature 12')).toBeNull();
    expect(parseStudioLink('javascript:alert(1)#/x')).toBeNull();
    expect(parseStudioLink('#/index/a/match')).toBe('/index/a/match');
  });

  it('studio open serves the studio and opens the linked view with the new run\'s token', async () => {
    const opened: string[] = [];
    const out: string[] = [];
    const interrupts = new Set<() => void>();
    const deps: CliDeps = {
      createBackend: async () => createFakeBackend(),
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: () => undefined },
      env: { STUDIO_SETTINGS_DIR: path.join(base, 'settings') },
      onInterrupt: (h) => (interrupts.add(h), () => interrupts.delete(h)),
      now: () => 0,
      projectRoot: base,
      buildRenderer: async () => undefined,
      openUrl: async (url) => (opened.push(url), 'opened'),
    };
    const link = 'http://127.0.0.1:5199/#/index/abc/feature/12';
    const running = runCli(['open', link, '--port', '0'], deps);
    for (let i = 0; i < 100 && opened.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(opened).toHaveLength(1);
    const url = new URL(opened[0]!);
    expect(url.searchParams.get('token')).toMatch(/^[\w-]{43,}$/);
    expect(url.hash).toBe('#/index/abc/feature/12');
    expect(out.join('')).toContain(url.href);
    interrupts.forEach((h) => h());
    expect(await running).toBe(0);

    const bad: string[] = [];
    expect(await runCli(['open', 'not a link'], { ...deps, stderr: { write: (t: string) => bad.push(t) } })).toBe(2);
    expect(bad.join('')).toContain('Not a studio link');
  });
});
