import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scatterWire, type ScatterData } from '../../src-main/contract/index.js';
import { float32Base64Length, float32FromBase64, float32ToBase64 } from '../../src-main/contract/float32Wire.js';
import { registerIpc, type IpcInvokeEventLike, type IpcMainLike } from '../../src-main/hosts/electron/ipc.js';
import { startWebHost, type WebHost } from '../../src-main/hosts/web/webHost.js';
import { createBridge } from '../../src-preload/bridge.js';
import { createHttpClient } from '../../src-renderer/src/api/httpClient.js';
import { createIpcClient } from '../../src-renderer/src/api/ipcClient.js';
import { createFakeBackend, FAKE_INDEX_ID } from '../helpers/fakeBackend.js';
import { mulberry32 } from '../helpers/prng.js';

// The scatter travels as float32 columns: as they are over IPC, as base64 of little-endian bytes
// over the web host (a JSON body cannot hold a Float32Array). Both ways must give back the same
// bits the core produced, and a reply that does not decode must say why.

/** The values' bit patterns, so NaN, -0 and every last bit compare exactly. */
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** Random float32 bit patterns (any value: NaNs, infinities, denormals) plus the awkward ones by name. */
function awkwardValues(n: number, seed: number): Float32Array {
  const random = mulberry32(seed);
  const raw = new Uint32Array(n);
  for (let i = 0; i < n; i++) raw[i] = Math.floor(random() * 2 ** 32);
  const values = new Float32Array(raw.buffer);
  const named = [NaN, -Infinity, Infinity, -0, 0, 1e-45, -3.4028234663852886e38, -9.999, Math.log10(0.25 + 1e-10)];
  values.set(named.slice(0, n));
  return values;
}

describe('float32 base64 codec', () => {
  it('round-trips every bit, for every padding case and at 100,000 values', () => {
    for (const n of [0, 1, 2, 3, 4, 5, 6, 7, 100_000]) {
      const values = awkwardValues(n, 1900 + n);
      const text = float32ToBase64(values);
      expect(text).toHaveLength(float32Base64Length(n));
      const back = float32FromBase64(text, n, 'column');
      expect(back).toBeInstanceOf(Float32Array);
      expect(bits(back), `n = ${n}`).toEqual(bits(values));
    }
  });

  it('writes standard base64 of the little-endian bytes (what any other client can read)', () => {
    const values = Float32Array.from([1, -2.5, NaN, -Infinity, 0.1]);
    const text = float32ToBase64(values);
    expect(text).toBe(Buffer.from(values.buffer).toString('base64'));
    // A view into a larger buffer encodes only its own values.
    const view = new Float32Array(Float32Array.from([7, 1, -2.5, 9]).buffer, 4, 2);
    expect(float32ToBase64(view)).toBe(Buffer.from(Float32Array.from([1, -2.5]).buffer).toString('base64'));
    expect(Array.from(float32FromBase64(text, 5, 'column'))).toEqual([1, -2.5, NaN, -Infinity, Math.fround(0.1)]);
  });

  it('refuses text of the wrong length, naming the field and both counts', () => {
    const text = float32ToBase64(new Float32Array(10));
    expect(() => float32FromBase64(text, 11, 'scatter.logMean')).toThrow(
      'scatter.logMean must hold 11 float32 values (60 base64 characters), got 56 characters.',
    );
    expect(() => float32FromBase64(text.slice(0, -4), 10, 'column')).toThrow(/must hold 10 float32 values/);
  });

  it('refuses what is not base64 or not text', () => {
    const text = float32ToBase64(Float32Array.from([1, 2, 3]));
    expect(() => float32FromBase64(`${text.slice(0, 5)}!${text.slice(6)}`, 3, 'column')).toThrow('column is not base64: character "!" at 5.');
    // 12 bytes need no padding: '=' in the last group is a broken text.
    expect(() => float32FromBase64(`${text.slice(0, -1)}=`, 3, 'column')).toThrow(/not base64: character "=" at 15/);
    // 4 bytes need two '=': a character instead of one is refused.
    const one = float32ToBase64(Float32Array.from([1]));
    expect(() => float32FromBase64(`${one.slice(0, -2)}A=`, 1, 'column')).toThrow(/expected '=' at 6/);
    expect(() => float32FromBase64([1, 2, 3], 3, 'column')).toThrow('column must be base64 text of float32 values, got object.');
  });
});

describe('scatterWire', () => {
  it('refuses columns of different lengths and a reply without a feature count', () => {
    expect(() => scatterWire.toJson({ logFrequency: new Float32Array(3), logMean: new Float32Array(2) })).toThrow(/holds 3 values but logMean 2/);
    expect(() => scatterWire.fromJson({ logFrequency: '', logMean: '' })).toThrow(/features must be the feature count/);
    expect(() => scatterWire.fromJson([1, 2])).toThrow(/features must be the feature count/);
    const json = scatterWire.toJson({ logFrequency: Float32Array.from([1, 2]), logMean: Float32Array.from([3, 4]) });
    expect(() => scatterWire.fromJson({ ...(json as object), features: 3 })).toThrow(/scatter.logFrequency must hold 3 float32 values/);
  });
});

describe('the scatter over both hosts', () => {
  const n = 100_003;
  const sent: ScatterData = { logFrequency: awkwardValues(n, 7), logMean: awkwardValues(n, 8) };
  const backend = createFakeBackend();
  backend.scatter = async () => sent;
  let work: string;
  let host: WebHost;
  let bodyBytes = 0;
  let bodyText = '';

  beforeAll(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'scatter-wire-'));
    mkdirSync(path.join(work, 'renderer'));
    writeFileSync(path.join(work, 'renderer', 'index.html'), '<!doctype html>');
    host = await startWebHost({ backend, port: 0, rendererDir: path.join(work, 'renderer') });
  });
  afterAll(async () => {
    await host.close();
    rmSync(work, { recursive: true, force: true });
  });

  const httpClient = (rewrite?: (body: string) => string) =>
    createHttpClient({
      baseUrl: `http://127.0.0.1:${host.port}`,
      fetch: async (input, init) => {
        const response = await fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), 'X-Studio-Token': host.token } });
        bodyText = await response.text();
        bodyBytes = Buffer.byteLength(bodyText);
        return new Response(rewrite ? rewrite(bodyText) : bodyText, { status: response.status, headers: response.headers });
      },
    });

  it('over HTTP: the same bits, in about 5.4 bytes a value instead of JSON numbers', async () => {
    const got = await httpClient().scatter({ indexId: FAKE_INDEX_ID });
    expect(got.logFrequency).toBeInstanceOf(Float32Array);
    expect(bits(got.logFrequency)).toEqual(bits(sent.logFrequency));
    expect(bits(got.logMean)).toEqual(bits(sent.logMean));
    expect(bodyBytes).toBeLessThan(2 * n * 5.4 + 200);
    expect(JSON.parse(bodyText)).toMatchObject({ ok: true, result: { features: n } });
  });

  it('over HTTP: a reply that does not decode is a bad-reply naming the column', async () => {
    const err = await httpClient((body) => body.replace(/"features":\d+/, '"features":5'))
      .scatter({ indexId: FAKE_INDEX_ID })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'bad-reply', message: expect.stringContaining('scatter.logFrequency must hold 5 float32 values') });
  });

  it('over IPC (structured clone, as contextBridge copies typed arrays): the Float32Arrays as they are', async () => {
    const handlers = new Map<string, (event: IpcInvokeEventLike, arg: unknown) => unknown>();
    const ipc: IpcMainLike = { handle: (channel, listener) => handlers.set(channel, listener), removeHandler: (channel) => handlers.delete(channel) };
    registerIpc(ipc, backend, () => true);
    const bridge = createBridge(async (channel, arg) => structuredClone(await handlers.get(channel)!({}, structuredClone(arg))), () => undefined, () => undefined);
    const got = await createIpcClient(bridge).scatter({ indexId: FAKE_INDEX_ID });
    expect(got.logMean).toBeInstanceOf(Float32Array);
    expect(bits(got.logFrequency)).toEqual(bits(sent.logFrequency));
    expect(bits(got.logMean)).toEqual(bits(sent.logMean));
  });
});
