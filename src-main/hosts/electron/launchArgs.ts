import { statSync } from 'node:fs';
import path from 'node:path';
import { INDEX_DB_FILE } from '../../core/store/indexConfig.js';

// `Feature Studio <index folder>`: an index is a folder, which operating systems cannot associate
// with an app the way they associate file types, so the installers declare no file associations
// and the app takes the folder on its command line instead (`feature-studio ~/indexes/run1`,
// `"Feature Studio.exe" D:\indexes\run1`, `open -a "Feature Studio" ~/indexes/run1` on macOS,
// which arrives as an `open-file` event). The index's own database file works too, so "Open with"
// on index.sqlite opens its folder. Never imports electron, so it is tested under plain Node.

export interface LaunchArgOptions {
  /** Folder relative arguments are resolved against (the second instance's, for its argv). */
  cwd: string;
  /** `process.defaultApp`: started as `electron <app path> …`, so argv[1] is the app, not an argument. */
  defaultApp: boolean;
}

/** The index folder `file` names (the folder itself, or its index.sqlite), or null. */
export function indexFolderOf(file: string): string | null {
  try {
    const stat = statSync(file);
    if (stat.isDirectory()) return file;
    if (stat.isFile() && path.basename(file) === INDEX_DB_FILE) return path.dirname(file);
  } catch {
    // missing or unreadable: not an index folder
  }
  return null;
}

/**
 * The index folder named on a command line (`process.argv`, or a second instance's argv), as an
 * absolute path, or null when none is named. Switches (`--inspect=0`, Chromium's, macOS's
 * `-psn_…`) are ignored; so are arguments that name no folder.
 */
export function indexPathFromArgv(argv: readonly string[], options: LaunchArgOptions): string | null {
  const positional = argv.slice(1).filter((arg) => arg.length > 0 && !arg.startsWith('-'));
  if (options.defaultApp) positional.shift();
  for (const arg of positional) {
    const folder = indexFolderOf(path.resolve(options.cwd, arg));
    if (folder) return folder;
  }
  return null;
}
