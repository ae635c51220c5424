// Types of build-cli.mjs (plain JavaScript so bin/studio.mjs can load it without tsx).
export interface BuiltCli {
  /** The bundle's entry file, out/cli/b-…/main.js. */
  main: string;
  outdir: string;
  /** Project source files in the bundle. */
  sources: number;
  bytes: number;
  ms: number;
}

export function buildCli(options?: {
  projectRoot?: string;
  buildRoot?: string;
  logLevel?: 'warning' | 'error' | 'silent';
}): Promise<BuiltCli>;

export function buildCliOnce(options?: {
  projectRoot?: string;
  buildRoot?: string;
  logLevel?: 'warning' | 'error' | 'silent';
}): Promise<{ main: string; ms: number; byAnotherStart: boolean }>;
