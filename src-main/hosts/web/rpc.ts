import type { IncomingMessage, ServerResponse } from 'node:http';
import { API_TABLE, type MethodSpec, type StudioApi, type StudioErrorCode } from '../../contract/index.js';
import { toErrorPayload } from '../../core/errors.js';
import { callApi, isApiMethod, type ApiEnvelope } from '../dispatch.js';
import { sendJson } from './responses.js';

// `POST /api/<method>`: the HTTP face of the transport-free dispatcher. Body = JSON of the single
// argument (empty or `null` for methods without one); reply = the same envelope the IPC host uses.

export const MAX_BODY_BYTES = 1024 * 1024;

/** HTTP status for each error code; the envelope carries the code itself for the client. */
const STATUS: Record<StudioErrorCode, number> = {
  'bad-request': 400,
  'bad-input': 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  'method-not-allowed': 405,
  'schema-too-new': 409,
  superseded: 409,
  'payload-too-large': 413,
  cancelled: 500,
  internal: 500,
  // Raised by clients, never sent by the host; listed so that the table stays complete.
  'host-unreachable': 502,
  'bad-reply': 502,
};

export function statusForErrorCode(code: StudioErrorCode): number {
  return STATUS[code];
}

class BodyError extends Error {
  constructor(
    readonly code: 'bad-request' | 'payload-too-large',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads at most `limit` bytes. A larger body fails as soon as it passes the limit; the rest is
 * drained and discarded (not destroyed) so the client still receives the 413 reply.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tooLarge = () => new BodyError('payload-too-large', `Request body is larger than ${limit} bytes.`);
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        chunks.length = 0;
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseArgument(body: Buffer): unknown {
  const text = body.toString('utf8').trim();
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BodyError('bad-request', 'Request body is not valid JSON.');
  }
}

/** Handles one `/api/<method>` request; `method` is the raw (still encoded) path segment. */
export async function handleRpc(
  req: IncomingMessage,
  res: ServerResponse,
  api: StudioApi,
  method: string,
): Promise<void> {
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST');
    sendEnvelope(res, {
      ok: false,
      error: { code: 'method-not-allowed', message: `Use POST for /api/${method}.` },
    }, 405);
    return;
  }
  let envelope: ApiEnvelope;
  try {
    const arg = parseArgument(await readBody(req, MAX_BODY_BYTES));
    envelope = jsonWire(method, await callApi(api, method, arg));
  } catch (err) {
    if (!(err instanceof BodyError)) throw err;
    envelope = { ok: false, error: { code: err.code, message: err.message } };
    // The connection may still carry the unread rest of a huge body: do not reuse it.
    if (err.code === 'payload-too-large') res.setHeader('Connection', 'close');
  }
  sendEnvelope(res, envelope);
}

/** A result whose method declares a JSON encoding (typed arrays: the scatter) goes out in it. */
function jsonWire(method: string, envelope: ApiEnvelope): ApiEnvelope {
  if (!envelope.ok || !isApiMethod(method)) return envelope;
  const wire = (API_TABLE[method] as MethodSpec).wire;
  if (!wire) return envelope;
  try {
    return { ok: true, result: wire.toJson(envelope.result) };
  } catch (err) {
    return { ok: false, error: toErrorPayload(err) };
  }
}

function sendEnvelope(res: ServerResponse, envelope: ApiEnvelope, status?: number): void {
  const code = envelope.ok ? 200 : (status ?? statusForErrorCode(envelope.error.code));
  sendJson(res, code, envelope);
}
