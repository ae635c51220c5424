import Database from 'better-sqlite3';

/** How long a connection waits for another process's write lock before SQLite gives up. */
export const BUSY_TIMEOUT_MS = 10_000;

/**
 * Opens SQLite through better-sqlite3. Under Electron the host sets STUDIO_SQLITE_NATIVE_BINDING
 * to a copy of the addon built for Electron's ABI, so the Node build in node_modules (used by the
 * CLI and the tests) is never replaced.
 */
export function openDatabase(file: string, options: { readonly?: boolean; create?: boolean } = {}): Database.Database {
  const nativeBinding = process.env.STUDIO_SQLITE_NATIVE_BINDING || undefined;
  const db = new Database(file, {
    readonly: options.readonly ?? false,
    fileMustExist: !options.create,
    nativeBinding,
    // Several processes may write one index (a CLI tag import while `serve` takes edits, two
    // `serve`s): a writer that finds the lock taken waits this long for it instead of failing at
    // once. Past it, "database is locked" is thrown to the caller (never swallowed).
    timeout: BUSY_TIMEOUT_MS,
  });
  if (!options.readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
  }
  return db;
}
