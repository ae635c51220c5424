import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { nativeBindingOf, nativeDirOf } from '../launch/electronNativeSqlite.js';

// better-sqlite3 under Electron needs a build for Electron's ABI, while tests and the CLI use the
// Node build in node_modules. `npm start` puts a copy under .electron-native/ (see
// hosts/launch/electronNativeSqlite.ts); the store passes STUDIO_SQLITE_NATIVE_BINDING to
// better-sqlite3 as `nativeBinding`.

const SQLITE_ENV = 'STUDIO_SQLITE_NATIVE_BINDING';

/** Path of the Electron build of better_sqlite3.node, or null when it was not prepared. */
function electronSqliteBinding(projectRoot: string): string | null {
  const binding = nativeBindingOf(projectRoot);
  const stampFile = path.join(nativeDirOf(projectRoot), 'stamp.json');
  if (!existsSync(binding) || !existsSync(stampFile)) return null;
  try {
    const stamp = JSON.parse(readFileSync(stampFile, 'utf8')) as { electron?: string; arch?: string };
    // A build for another Electron version or arch would fail to load: treat it as missing.
    return stamp.electron === process.versions.electron && stamp.arch === process.arch ? binding : null;
  } catch {
    return null;
  }
}

/** Sets the env variable unless the user already pointed it somewhere (packaged apps do). */
export function useElectronSqlite(projectRoot: string): string | null {
  if (process.env[SQLITE_ENV]) return process.env[SQLITE_ENV] ?? null;
  const binding = electronSqliteBinding(projectRoot);
  if (binding) process.env[SQLITE_ENV] = binding;
  return binding;
}
