import { describe, expect, it } from 'vitest';
import { API_METHODS, IPC_PREFIX } from '../../src-main/contract/index.js';
import { registerIpc, type IpcInvokeEventLike, type IpcMainLike } from '../../src-main/hosts/electron/ipc.js';
import { APP_ENTRY_URL, isTrustedRendererUrl, trustedSenderCheck } from '../../src-main/hosts/electron/trust.js';
import { createFakeBackend, FAKE_INDEX_ID } from '../helpers/fakeBackend.js';

type Handler = (event: IpcInvokeEventLike, ...args: unknown[]) => unknown;

function fakeIpcMain() {
  const handlers = new Map<string, Handler>();
  const ipc: IpcMainLike = {
    handle(channel, listener) {
      if (handlers.has(channel)) throw new Error(`second handler for ${channel}`);
      handlers.set(channel, listener);
    },
    removeHandler(channel) {
      handlers.delete(channel);
    },
  };
  return { ipc, handlers };
}

const trusted: IpcInvokeEventLike = { senderFrame: { url: `${APP_ENTRY_URL}#/index/abc/features` } };

describe('registerIpc', () => {
  it('registers exactly one studio:<method> handler per API method and removes them again', () => {
    const { ipc, handlers } = fakeIpcMain();
    const unregister = registerIpc(ipc, createFakeBackend(), trustedSenderCheck());
    expect([...handlers.keys()].sort()).toEqual(API_METHODS.map((m) => `${IPC_PREFIX}${m}`).sort());
    unregister();
    expect(handlers.size).toBe(0);
  });

  it('returns result envelopes for trusted calls', async () => {
    const { ipc, handlers } = fakeIpcMain();
    const backend = createFakeBackend();
    registerIpc(ipc, backend, trustedSenderCheck());
    const reply = await handlers.get('studio:featureDetail')!(trusted, { indexId: FAKE_INDEX_ID, feature: 1 });
    expect(reply).toMatchObject({ ok: true, result: { indexId: FAKE_INDEX_ID, row: { feature: 1 } } });
    expect(await handlers.get('studio:appInfo')!(trusted)).toMatchObject({ ok: true, result: { version: '0.0.0-test' } });
    // The Electron host keeps the native picker: pickPath reaches the backend.
    expect(await handlers.get('studio:pickPath')!(trusted, { kind: 'directory' })).toEqual({
      ok: true,
      result: '/picked/by/native/dialog',
    });
  });

  it('turns thrown errors into error envelopes with code and message', async () => {
    const { ipc, handlers } = fakeIpcMain();
    registerIpc(ipc, createFakeBackend(), trustedSenderCheck());
    expect(await handlers.get('studio:openIndex')!(trusted, { path: '/x/missing' })).toEqual({
      ok: false,
      error: { code: 'not-found', message: 'No index at /x/missing.' },
    });
    expect(await handlers.get('studio:openIndex')!(trusted, { path: '/x/boom' })).toEqual({
      ok: false,
      error: { code: 'internal', message: 'disk on fire' },
    });
    expect(await handlers.get('studio:openIndex')!(trusted, 'not an object')).toMatchObject({
      ok: false,
      error: { code: 'bad-request' },
    });
  });

  it.each([
    [{ senderFrame: { url: 'https://evil.example/' } }],
    [{ senderFrame: { url: 'file:///home/user/index.html' } }],
    [{ senderFrame: { url: 'studio-app://other/index.html' } }],
    [{ senderFrame: { url: 'http://localhost:5173/' } }],
    [{ senderFrame: null }],
    [{}],
  ])('refuses calls from untrusted senders %j without calling the backend', async (event) => {
    const { ipc, handlers } = fakeIpcMain();
    const backend = createFakeBackend();
    registerIpc(ipc, backend, trustedSenderCheck());
    const reply = await handlers.get('studio:openIndex')!(event as IpcInvokeEventLike, { path: '/x' });
    expect(reply).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(backend.calls).toHaveLength(0);
  });
});

describe('isTrustedRendererUrl', () => {
  it('trusts the app protocol page and, in development, only the dev server origin', () => {
    expect(isTrustedRendererUrl('studio-app://renderer/index.html#/')).toBe(true);
    expect(isTrustedRendererUrl('http://localhost:5173/#/', 'http://localhost:5173')).toBe(true);
    expect(isTrustedRendererUrl('http://localhost:5174/', 'http://localhost:5173')).toBe(false);
    expect(isTrustedRendererUrl('http://localhost:5173/')).toBe(false);
    expect(isTrustedRendererUrl('not a url')).toBe(false);
  });
});
