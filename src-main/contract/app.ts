import { z } from 'zod';
import type { ProviderName } from './indexes.js';
import { returns, type MethodTable } from './method.js';

// The app itself: version, host, usable providers, recent indexes, and the host's file picker.

export interface RecentIndex {
  id: string;
  path: string;
  name: string;
  /** See IndexSummary; absent in entries recorded by older versions. */
  dataset?: string;
  detail?: string;
  openedAt: string;
}


export interface AppInfo {
  version: string;
  host: 'electron' | 'web';
  providers: ProviderName[];
  recent: RecentIndex[];
  /** The index to show at start (last opened, or the one a host was started with). */
  startIndexId: string | null;
}

const pathKind = z.enum(['file', 'directory']);
export type PathKind = z.infer<typeof pathKind>;

export const appMethods = {
  appInfo: {
    args: null,
    result: returns<AppInfo>(),
    errors: [],
  },
  /** Native file/folder picker; hosts without one resolve null and the UI asks for a typed path. */
  pickPath: {
    args: z.strictObject({ kind: pathKind, title: z.string().optional() }),
    result: returns<string | null>(),
    errors: [],
  },
} satisfies MethodTable;
