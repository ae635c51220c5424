import { API_METHODS, type ApiArgs, type ApiEnvelope, type ApiMethod, type StudioApi } from '../contract/index.js';
import { StudioError, toErrorPayload } from '../core/errors.js';

// Transport-free call routing shared by the web host (HTTP) and the Electron host (IPC): both
// receive a method name and one untrusted argument from outside and must only ever reach the
// methods listed in the contract.

export type { ApiEnvelope };

const METHOD_SET: ReadonlySet<string> = new Set(API_METHODS);

/** Methods whose signature takes no argument (checked against the contract at compile time). */
type NoArgMethod = { [M in ApiMethod]: ApiArgs<M> extends undefined ? M : never }[ApiMethod];
const NO_ARG_METHODS = ['appInfo', 'listJobs', 'noteAuthor', 'cancelMatch', 'demoStatus'] as const satisfies readonly NoArgMethod[];
type UnlistedNoArg = Exclude<NoArgMethod, (typeof NO_ARG_METHODS)[number]>;
const _noArgListComplete: UnlistedNoArg extends never ? true : never = true;
void _noArgListComplete;
const NO_ARG_SET: ReadonlySet<string> = new Set(NO_ARG_METHODS);

/** Narrows an outside string to a contract method; `constructor`, `close`, `__proto__` are not. */
export function isApiMethod(name: string): name is ApiMethod {
  return METHOD_SET.has(name);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Calls `method` on `api` with `arg` and wraps the outcome in an envelope; never throws.
 * The argument's shape beyond "one object" is validated by the service itself.
 */
export async function callApi(api: StudioApi, method: string, arg: unknown): Promise<ApiEnvelope> {
  try {
    if (!isApiMethod(method)) {
      throw new StudioError('not-found', `Unknown API method "${method}". Known methods: ${API_METHODS.join(', ')}.`);
    }
    let result: unknown;
    if (NO_ARG_SET.has(method)) {
      result = await (api[method] as () => Promise<unknown>).call(api);
    } else {
      if (!isPlainObject(arg)) {
        throw new StudioError('bad-request', `${method} takes one JSON object argument, got ${describe(arg)}.`);
      }
      result = await (api[method] as (a: unknown) => Promise<unknown>).call(api, arg);
    }
    return { ok: true, result: result === undefined ? null : result };
  } catch (err) {
    return { ok: false, error: toErrorPayload(err) };
  }
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
