import os from 'node:os';
import path from 'node:path';
import type { StudioBackend, StudioBackendOptions } from '../../core/backend.js';
import type { OpenOutcome } from '../launch/openBrowser.js';

// What every CLI command gets injected: the way to create the backend, the output streams, the
// environment and Ctrl-C. main.ts passes the real ones; tests pass a fake backend and buffers.

export interface CliOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface CliDeps {
  createBackend(options: StudioBackendOptions): Promise<StudioBackend>;
  stdout: CliOutput;
  stderr: CliOutput;
  env: Record<string, string | undefined>;
  /** Subscribes to Ctrl-C (SIGINT); returns the unsubscribe function. */
  onInterrupt(handler: () => void): () => void;
  /** Milliseconds clock, for elapsed times and progress throttling. */
  now(): number;
  /** Project root (holds out/renderer and vite.renderer.config.ts). */
  projectRoot: string;
  /** Builds the renderer for `serve` when out/renderer/index.html is missing. */
  buildRenderer(projectRoot: string): Promise<void>;
  /** Shows a URL in the default browser (`serve --open`). */
  openUrl(url: string): Promise<OpenOutcome>;
}

/** Exit codes: 0 ok, 1 failure, 2 bad usage, 130 interrupted (128 + SIGINT, as shells do). */
export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

/** App settings (recent indexes): $STUDIO_SETTINGS_DIR, else the XDG config folder. */
export function cliSettingsDir(env: CliDeps['env']): string {
  if (env.STUDIO_SETTINGS_DIR) return path.resolve(env.STUDIO_SETTINGS_DIR);
  const configHome = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(configHome, 'feature-studio');
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Opens the backend for one command and always closes it, whatever the command does. Every API
 * call the command makes is checked against the contract first (hosts/dispatch.ts), exactly as
 * an HTTP or IPC call is: a command line is outside input too.
 */
export async function withBackend<T>(
  deps: CliDeps,
  options: Omit<StudioBackendOptions, 'settingsDir' | 'host'>,
  run: (backend: StudioBackend) => Promise<T>,
): Promise<T> {
  // Imported here: the contract's schemas (zod) would cost `studio --help` 45 ms of CPU (bench:cli).
  const { validatedApi } = await import('../dispatch.js');
  return withServedBackend(deps, options, (backend) => run(validatedApi(backend)));
}

/** withBackend for commands that hand the backend to a host, which checks each call itself. */
export async function withServedBackend<T>(
  deps: CliDeps,
  options: Omit<StudioBackendOptions, 'settingsDir' | 'host'>,
  run: (backend: StudioBackend) => Promise<T>,
): Promise<T> {
  const backend = await deps.createBackend({ settingsDir: cliSettingsDir(deps.env), host: 'web', ...options });
  try {
    return await run(backend);
  } finally {
    await backend.close();
  }
}
