// Runs the `studio` command line in-process against the real service, with its output captured:
// for tests that compare the CLI's JSON with what the service answers.
import path from 'node:path';
import { expect } from 'vitest';
import { createStudioService } from '../../src-main/core/service.js';
import { runCli } from '../../src-main/hosts/cli/program.js';
import type { CliDeps } from '../../src-main/hosts/cli/context.js';

/** Runs `args`, expects exit code 0, and returns stdout and stderr together. */
export async function runCliCaptured(args: string[], work: string): Promise<string> {
  const out: string[] = [];
  const deps: CliDeps = {
    createBackend: (opts) => createStudioService(opts),
    stdout: { write: (t: string) => out.push(t) },
    stderr: { write: (t: string) => out.push(t) },
    env: { STUDIO_SETTINGS_DIR: path.join(work, 'settings-cli') },
    onInterrupt: () => () => undefined,
    now: () => 0,
    projectRoot: work,
    buildRenderer: async () => undefined,
    openUrl: async () => 'disabled' as const,
  };
  expect(await runCli(args, deps), out.join('')).toBe(0);
  return out.join('');
}
