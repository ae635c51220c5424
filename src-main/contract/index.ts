// The one contract between processes: core, hosts (Electron IPC, web HTTP/WS, CLI), preload and
// renderer. Each domain file holds one table of methods (argument schema, result type, error
// codes); StudioApi, the method list and the argument types are derived from those tables here.
// Imports nothing but zod, so the sandboxed preload and the browser bundle can include it.
import type { z } from 'zod';
import { appMethods } from './app.js';
import { demoMethods } from './demo.js';
import type { ApiErrorPayload } from './errors.js';
import { featuresMethods } from './features.js';
import { indexesMethods } from './indexes.js';
import { interveneMethods } from './intervene.js';
import { jobsMethods, type JobInfo } from './jobs.js';
import { matchMethods, type MatchProgress } from './match.js';
import type { MethodSpec, MethodTable, Returns } from './method.js';
import { queryMethods } from './query.js';
import { tagsMethods } from './tags.js';
import { videoMethods } from './video.js';

export * from './app.js';
export * from './demo.js';
export * from './errors.js';
export * from './features.js';
export * from './indexes.js';
export * from './intervene.js';
export * from './jobs.js';
export * from './match.js';
export * from './query.js';
export * from './tags.js';
export * from './video.js';
export type { MethodSpec, MethodTable, ResultWire, Returns } from './method.js';
export { argsProblem } from './validate.js';

/** Every method of every domain. A name in two tables fails to compile (see _noDuplicates). */
export const API_TABLE = {
  ...appMethods,
  ...indexesMethods,
  ...featuresMethods,
  ...tagsMethods,
  ...jobsMethods,
  ...demoMethods,
  ...matchMethods,
  ...queryMethods,
  ...videoMethods,
  ...interveneMethods,
} as const satisfies MethodTable;

type Domains = [
  typeof appMethods,
  typeof indexesMethods,
  typeof featuresMethods,
  typeof tagsMethods,
  typeof jobsMethods,
  typeof demoMethods,
  typeof matchMethods,
  typeof queryMethods,
  typeof videoMethods,
  typeof interveneMethods,
];
// Spreading would let a later domain silently replace an earlier one's method of the same name.
type Overlap<T extends unknown[]> = T extends [infer H, ...infer R]
  ? (keyof H & { [K in keyof R]: keyof R[K] }[number]) | Overlap<R>
  : never;
const _noDuplicates: Overlap<Domains> extends never ? true : never = true;
void _noDuplicates;

type Table = typeof API_TABLE;
export type ApiMethod = keyof Table;

type ArgsOf<S> = S extends z.ZodType ? z.output<S> : undefined;
export type ApiArgs<M extends ApiMethod> = ArgsOf<Table[M]['args']>;
export type ApiResult<M extends ApiMethod> = Table[M]['result'] extends Returns<infer R> ? R : never;
/** The codes method M raises itself (transport codes such as bad-request can come on any call). */
export type ApiErrors<M extends ApiMethod> = Table[M]['errors'][number];

/** The methods of a table as functions: what a domain service implements. */
export type ApiOf<T extends Record<string, MethodSpec>> = {
  -readonly [M in keyof T]: T[M]['args'] extends z.ZodType
    ? (args: z.output<T[M]['args']>) => Promise<T[M]['result'] extends Returns<infer R> ? R : never>
    : () => Promise<T[M]['result'] extends Returns<infer R> ? R : never>;
};

/** Every call the renderer (or any host client) can make. One argument object per method. */
export type StudioApi = ApiOf<Table>;

/** Runtime list of methods, used to generate IPC handlers, the HTTP routes and the preload bridge. */
export const API_METHODS = Object.keys(API_TABLE) as ApiMethod[];

export type StudioEvent = { type: 'job'; job: JobInfo } | { type: 'match-progress'; progress: MatchProgress };

export const IPC_PREFIX = 'studio:';
export const IPC_EVENT_CHANNEL = 'studio:event';
export const THUMB_SCHEME = 'studio-thumb';

/** One call's outcome as it crosses a process boundary (HTTP body, IPC reply, preload bridge). */
export type ApiEnvelope<T = unknown> = { ok: true; result: T } | { ok: false; error: ApiErrorPayload };

/** What the renderer gets injected: the API plus event subscription and thumbnail URLs. */
export interface StudioClient extends StudioApi {
  onEvent(listener: (event: StudioEvent) => void): () => void;
  thumbnailUrl(indexId: string, itemId: number): string;
}

/**
 * What the Electron preload exposes as `window.studio`. Its methods resolve with envelopes and
 * never reject: contextBridge copies a thrown error's message only, so an error's code (not-found,
 * superseded, ...) would arrive as nothing. The renderer unwraps them (api/ipcClient.ts), the same
 * way it unwraps the web host's replies, so both hosts raise the same codes.
 */
export type StudioBridge = { [M in ApiMethod]: (arg?: ApiArgs<M>) => Promise<ApiEnvelope<ApiResult<M>>> } & {
  onEvent(listener: (event: StudioEvent) => void): () => void;
  thumbnailUrl(indexId: string, itemId: number): string;
};
