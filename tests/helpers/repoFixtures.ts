import { describe, it } from 'vitest';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The fixtures this repository owns (tests/fixtures/, written by scripts/fixtures/generate.py
// with the real libraries' own code and committed). Tests read them from here and never skip
// for lack of one: a missing fixture is an error that says how to make it.

export const REPO_FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

export function repoFixture(...parts: string[]): string {
  const file = path.join(REPO_FIXTURES, ...parts);
  if (!existsSync(file)) {
    throw new Error(`missing fixture ${path.relative(process.cwd(), file)}: run "npm run fixtures" and commit tests/fixtures/`);
  }
  return file;
}

/**
 * An optional cross-check against ../shared/fixtures (a second, independent set of files some
 * checkouts have beside the repo) is registered only where those files exist: a clone without
 * them runs the repo's own fixtures and reports nothing skipped.
 */
export function describeWhen(present: boolean): (name: string, body: () => void) => void {
  return present ? (name, body) => describe(name, body) : () => undefined;
}

export function itWhen(present: boolean): (name: string, body: () => unknown) => void {
  return present ? (name, body) => it(name, body) : () => undefined;
}
