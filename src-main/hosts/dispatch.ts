import { API_METHODS, API_TABLE, argsProblem, type ApiEnvelope, type ApiMethod, type StudioApi } from '../contract/index.js';
import { StudioError, toErrorPayload } from '../core/errors.js';

// Transport-free call routing shared by the web host (HTTP), the Electron host (IPC) and the
// CLI: each receives a method name and one untrusted argument, may only reach the methods the
// contract lists, and checks the argument against that method's schema here, once. Domain
// services then receive well-formed arguments and check only what needs their data (a feature
// number below the SAE's width, a file that exists).

export type { ApiEnvelope };

const METHOD_SET: ReadonlySet<string> = new Set(API_METHODS);

/** Narrows an outside string to a contract method; `constructor`, `close`, `__proto__` are not. */
export function isApiMethod(name: string): name is ApiMethod {
  return METHOD_SET.has(name);
}

/**
 * Checks `arg` against the contract and calls `method` on `api`. Throws a StudioError: not-found
 * for a method the contract lacks, bad-request naming the field for an argument it refuses
 * (unknown fields included: they are refused, not dropped).
 */
export async function invokeApi(api: StudioApi, method: string, arg: unknown): Promise<unknown> {
  if (!isApiMethod(method)) {
    throw new StudioError('not-found', `Unknown API method "${method}". Known methods: ${API_METHODS.join(', ')}.`);
  }
  const schema = API_TABLE[method].args;
  // Methods without an argument ignore whatever came along (clients send null).
  if (schema === null) return (api[method] as () => Promise<unknown>).call(api);
  const parsed = schema.safeParse(arg);
  if (!parsed.success) {
    const problem = typeof arg === 'object' && arg !== null && !Array.isArray(arg)
      ? argsProblem(schema, arg)
      : `it takes one JSON object argument, got ${describe(arg)}.`;
    throw new StudioError('bad-request', `${method}: ${problem}`);
  }
  return (api[method] as (a: unknown) => Promise<unknown>).call(api, parsed.data);
}

/** invokeApi with the outcome wrapped in an envelope; never throws. */
export async function callApi(api: StudioApi, method: string, arg: unknown): Promise<ApiEnvelope> {
  try {
    const result = await invokeApi(api, method, arg);
    return { ok: true, result: result === undefined ? null : result };
  } catch (err) {
    return { ok: false, error: toErrorPayload(err) };
  }
}

/**
 * The same object with every contract method going through invokeApi: what the CLI hands its
 * commands, so a command line is checked exactly as an HTTP body or an IPC message is. Anything
 * else on the object (onEvent, close, ...) passes through untouched.
 */
export function validatedApi<T extends StudioApi>(api: T): T {
  const calls = new Map<string, (arg?: unknown) => Promise<unknown>>(
    API_METHODS.map((method) => [method, (arg?: unknown) => invokeApi(api, method, arg)]),
  );
  return new Proxy(api, {
    get(target, key) {
      if (typeof key === 'string') {
        const call = calls.get(key);
        if (call) return call;
      }
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
