// Types of build-cli-stamp.mjs (plain JavaScript so bin/studio.mjs can load it without tsx).
export const STAMP_FORMAT: number;
export const BUILD_CONFIG_FILES: string[];
export function cliBuildRoot(projectRoot: string, env?: Record<string, string | undefined>): string;
export function freshCliBundle(projectRoot: string, buildRoot: string): { main: string } | { stale: string };
export function writeCliStamp(
  projectRoot: string,
  buildRoot: string,
  build: { build: string; started: number; files: string[] },
): void;
