import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_METHODS, ERROR_CODES, IPC_PREFIX, type StudioErrorCode } from '../../src-main/contract/index.js';
import { StudioError } from '../../src-main/core/errors.js';
import { callApi, validatedApi } from '../../src-main/hosts/dispatch.js';
import { registerIpc, type IpcInvokeEventLike, type IpcMainLike } from '../../src-main/hosts/electron/ipc.js';
import { withBackend, type CliDeps } from '../../src-main/hosts/cli/context.js';
import { startWebHost, type WebHost } from '../../src-main/hosts/web/webHost.js';
import { createBridge } from '../../src-preload/bridge.js';
import { createHttpClient } from '../../src-renderer/src/api/httpClient.js';
import { createIpcClient } from '../../src-renderer/src/api/ipcClient.js';
import { StudioError as RendererStudioError } from '../../src-renderer/src/api/studioError.js';
import { SAMPLE_ARGS } from '../helpers/contractSamples.js';
import { createFakeBackend, FAKE_INDEX_ID, type FakeBackend } from '../helpers/fakeBackend.js';

// The contract's run-time half: every argument is checked against its method's schema once, at
// dispatch (HTTP, IPC and the CLI alike), and every error code travels unchanged from the core to
// the renderer over both hosts.

const query = { indexId: FAKE_INDEX_ID, sort: 'index', desc: false, offset: 0, limit: 5 } as const;

describe('argument validation at dispatch', () => {
  it('accepts every sample argument (the samples are what the contract says)', async () => {
    const backend = createFakeBackend();
    for (const method of API_METHODS) {
      const reply = await callApi(backend, method, SAMPLE_ARGS[method] ?? null);
      if (!reply.ok) expect(reply.error.code, `${method}: ${reply.error.message}`).not.toBe('bad-request');
    }
  });

  it('refuses unknown fields, at the top and nested, naming them, without calling the service', async () => {
    const backend = createFakeBackend();
    const top = await callApi(backend, 'openIndex', { path: '/x', recursive: true });
    expect(top).toEqual({ ok: false, error: { code: 'bad-request', message: expect.stringContaining('Unknown field "recursive"') } });
    const nested = await callApi(backend, 'queryFeatures', { ...query, filter: { dead: 'exclude', colour: 'red' } });
    expect(nested).toEqual({ ok: false, error: { code: 'bad-request', message: expect.stringMatching(/Unknown field "colour" in filter/) } });
    expect(backend.calls).toHaveLength(0);
  });

  it('refuses sort "constructor" as bad-request listing the allowed keys, not as an internal error', async () => {
    const backend = createFakeBackend();
    const reply = await callApi(backend, 'queryFeatures', { ...query, sort: 'constructor' });
    expect(reply.ok).toBe(false);
    if (reply.ok) return;
    expect(reply.error.code).toBe('bad-request');
    expect(reply.error.message).toBe(
      'queryFeatures: sort must be one of "index", "frequency", "mean", "max", "category", "reviewed", "autocorrelation", "switchRate" (got "constructor").',
    );
    expect(backend.calls).toHaveLength(0);
  });

  it('says which field is wrong and what came instead', async () => {
    const backend = createFakeBackend();
    const cases: [string, unknown, RegExp][] = [
      ['featureDetail', { indexId: FAKE_INDEX_ID, feature: -1 }, /^featureDetail: feature must be at least 0 \(got -1\)\.$/],
      ['featureDetail', { indexId: FAKE_INDEX_ID, feature: 1.5 }, /^featureDetail: feature must be an integer \(got 1\.5\)\.$/],
      ['featureDetail', { indexId: FAKE_INDEX_ID }, /^featureDetail: feature is missing/],
      ['startIndex', { model: '', layer: 'l', sae: 's', data: 'd', out: 'o' }, /^startIndex: Missing model: give the backbone manifest/],
      ['startIndex', { layer: 'l', sae: 's', out: 'o' }, /Missing model: .*Missing data: /],
      ['interveneRun', { sessionId: 's', edits: [], patches: [] }, /Select at least one patch/],
      ['openClip', { indexId: FAKE_INDEX_ID }, /Pick a clip/],
      ['startIndex', { layer: 'l', sae: 's', out: 'o', shards: '/s', topK: 5000 }, /^startIndex: topK must be at most 1024 \(got 5000\)\.$/],
      ['openIndex', 'path', /^openIndex: it takes one JSON object argument, got a string\.$/],
    ];
    for (const [method, arg, message] of cases) {
      const reply = await callApi(backend, method, arg);
      expect(reply, method).toEqual({ ok: false, error: { code: 'bad-request', message: expect.stringMatching(message) } });
    }
    expect(backend.calls).toHaveLength(0);
  });

  it('the CLI goes through the same check: withBackend hands commands a validated API', async () => {
    const backend = createFakeBackend();
    const deps = { createBackend: async () => backend, env: {} } as unknown as CliDeps;
    const outcome = await withBackend(deps, {}, (api) => api.queryFeatures({ ...query, sort: 'constructor' as 'index' })).catch((e: unknown) => e);
    expect(outcome).toBeInstanceOf(StudioError);
    expect(outcome).toMatchObject({ code: 'bad-request', message: expect.stringContaining('sort must be one of') });
    expect(backend.calls).toHaveLength(0);
    // Well-formed calls and the non-contract members still work through it.
    const page = await validatedApi(backend).queryFeatures(query);
    expect(page.rows.length).toBeGreaterThan(0);
    expect(backend.calls.map((c) => c.method)).toEqual(['queryFeatures']);
  });
});

/** A backend whose openIndex fails with the code named by the path. */
function failingBackend(): FakeBackend {
  const backend = createFakeBackend();
  backend.openIndex = async ({ path: code }) => {
    throw new StudioError(code as StudioErrorCode, `failed with ${code}`);
  };
  return backend;
}

describe('every error code reaches the renderer unchanged', () => {
  let work: string;
  let host: WebHost;

  beforeAll(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'contract-'));
    mkdirSync(path.join(work, 'renderer'));
    writeFileSync(path.join(work, 'renderer', 'index.html'), '<!doctype html>');
    host = await startWebHost({ backend: failingBackend(), port: 0, rendererDir: path.join(work, 'renderer') });
  });
  afterAll(async () => {
    await host.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('over HTTP: web host → http client', async () => {
    const client = createHttpClient({
      baseUrl: `http://127.0.0.1:${host.port}`,
      fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), 'X-Studio-Token': host.token } }),
    });
    expect(ERROR_CODES.length).toBeGreaterThan(10);
    for (const code of ERROR_CODES) {
      const err = await client.openIndex({ path: code }).catch((e: unknown) => e);
      expect(err, code).toBeInstanceOf(RendererStudioError);
      expect(err, code).toMatchObject({ code, message: `failed with ${code}` });
    }
  });

  it('over IPC: ipcMain handler → preload bridge (structured clone, as contextBridge copies) → ipc client', async () => {
    const handlers = new Map<string, (event: IpcInvokeEventLike, arg: unknown) => unknown>();
    const ipc: IpcMainLike = { handle: (channel, listener) => handlers.set(channel, listener), removeHandler: (channel) => handlers.delete(channel) };
    registerIpc(ipc, failingBackend(), () => true);
    const bridge = createBridge(
      async (channel, arg) => structuredClone(await handlers.get(channel)!({}, structuredClone(arg))),
      () => undefined,
      () => undefined,
    );
    const client = createIpcClient(bridge);
    for (const code of ERROR_CODES) {
      const err = await client.openIndex({ path: code }).catch((e: unknown) => e);
      expect(err, code).toBeInstanceOf(RendererStudioError);
      expect(err, code).toMatchObject({ code, message: `failed with ${code}` });
    }
    // Argument errors found at dispatch come back the same way.
    const refused = await client.queryFeatures({ ...query, sort: 'constructor' as 'index' }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'bad-request', message: expect.stringContaining('(got "constructor")') });
    expect([...handlers.keys()]).toContain(`${IPC_PREFIX}openIndex`);
  });

  it('a code outside the closed set arrives as bad-reply, saying which code came', async () => {
    const bridge = createBridge(async () => ({ ok: false, error: { code: 'teapot', message: 'short and stout' } }), () => undefined, () => undefined);
    const err = await createIpcClient(bridge).appInfo().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'bad-reply', message: expect.stringContaining('"teapot"') });
  });
});
