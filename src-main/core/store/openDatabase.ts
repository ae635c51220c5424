import Database from 'better-sqlite3';

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
  });
  if (!options.readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
  }
  return db;
}
