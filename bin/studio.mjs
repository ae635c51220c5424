#!/usr/bin/env node
// `studio` command. Runs the CLI bundle in out/cli/ (scripts/build-cli.mjs, built at `npm install`):
// a start parses a few files instead of compiling the TypeScript sources through tsx (numbers in
// scripts/bench-cli.ts). It never runs stale code: when a file the bundle was built from changed
// (scripts/build-cli-stamp.mjs), it is rebuilt first, about a second once per edit, which is what
// tsx costs on every start. When it cannot be built (no esbuild, a read-only checkout), the
// sources run through tsx as before.
//   STUDIO_FROM_SOURCE=1  always run the sources through tsx (debugging; the benchmark's baseline)
//   STUDIO_CLI_TRACE=1    say on stderr which of the two ran, and why
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cliBuildRoot, freshCliBundle } from '../scripts/build-cli-stamp.mjs';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const trace = process.env.STUDIO_CLI_TRACE ? (line) => process.stderr.write(`studio: ${line}\n`) : () => {};

/** The bundle's entry file, rebuilt first when stale; null to run the sources. */
async function bundleEntry() {
  if (process.env.STUDIO_FROM_SOURCE) {
    trace('running the sources (STUDIO_FROM_SOURCE is set)');
    return null;
  }
  try {
    const buildRoot = cliBuildRoot(projectRoot);
    const fresh = freshCliBundle(projectRoot, buildRoot);
    if ('main' in fresh) {
      trace(`running the bundle ${fresh.main}`);
      return fresh.main;
    }
    trace(`rebuilding the bundle: ${fresh.stale}`);
    const { buildCliOnce } = await import('../scripts/build-cli.mjs');
    const built = await buildCliOnce({ projectRoot, buildRoot, logLevel: 'silent' });
    trace(`running the bundle ${built.main}, ${built.byAnotherStart ? 'waited for another start to build it' : 'built'} in ${built.ms} ms`);
    return built.main;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    process.stderr.write(`studio: could not build the CLI bundle (${reason.trim()}); running the TypeScript sources (slower start).\n`);
    return null;
  }
}

const entry = await bundleEntry();
if (entry) {
  await import(pathToFileURL(entry).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src-main/hosts/cli/main.ts', import.meta.url).href);
}
