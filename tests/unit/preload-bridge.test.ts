import { describe, expect, it, vi } from 'vitest';
import { API_METHODS, IPC_EVENT_CHANNEL, type StudioEvent } from '../../src-main/contract/index.js';
import { createBridge, type IpcListener } from '../../src-preload/bridge.js';
import { fakeJob } from '../helpers/fakeBackend.js';

// src-preload/index.ts against a stand-in for electron: what it hands to contextBridge.
const exposed = vi.hoisted(() => ({ calls: [] as Array<[string, Record<string, unknown>]>, invoked: [] as unknown[][] }));
vi.mock('electron', () => {
  const electron = {
    contextBridge: { exposeInMainWorld: (key: string, api: Record<string, unknown>) => exposed.calls.push([key, api]) },
    ipcRenderer: {
      invoke: async (...args: unknown[]) => {
        exposed.invoked.push(args);
        return { ok: true, result: null };
      },
      on: () => undefined,
      removeListener: () => undefined,
    },
  };
  return { ...electron, default: electron };
});

function setup(reply: (channel: string, arg: unknown) => unknown = () => ({ ok: true, result: 42 })) {
  const listeners = new Map<string, Set<IpcListener>>();
  const invoke = vi.fn(async (channel: string, arg: unknown) => reply(channel, arg));
  const on = vi.fn((channel: string, l: IpcListener) => {
    if (!listeners.has(channel)) listeners.set(channel, new Set());
    listeners.get(channel)!.add(l);
  });
  const off = vi.fn((channel: string, l: IpcListener) => listeners.get(channel)?.delete(l));
  const bridge = createBridge(invoke, on, off);
  const send = (channel: string, payload: unknown) => {
    for (const l of listeners.get(channel) ?? []) l({ sender: 'ipc-event-object' }, payload);
  };
  return { bridge, invoke, on, off, send, listeners };
}

describe('preload bridge', () => {
  it('exposes exactly the contract methods plus onEvent and thumbnailUrl', () => {
    const { bridge } = setup();
    expect(Object.keys(bridge).sort()).toEqual([...API_METHODS, 'onEvent', 'thumbnailUrl'].sort());
    for (const value of Object.values(bridge)) expect(typeof value).toBe('function');
  });

  it('invokes studio:<method> with the single argument and resolves with its envelope', async () => {
    const { bridge, invoke } = setup();
    await expect(bridge.openIndex({ path: '/x' })).resolves.toEqual({ ok: true, result: 42 });
    expect(invoke).toHaveBeenLastCalledWith('studio:openIndex', { path: '/x' });
    await bridge.appInfo();
    expect(invoke).toHaveBeenLastCalledWith('studio:appInfo', null);
  });

  it('never rejects: error envelopes, malformed replies and failed IPC all resolve as envelopes', async () => {
    const notFound = { ok: false, error: { code: 'not-found', message: 'No index at /x.' } };
    await expect(setup(() => notFound).bridge.openIndex({ path: '/x' })).resolves.toEqual(notFound);
    await expect(setup(() => 'garbage').bridge.listJobs()).resolves.toEqual({
      ok: false,
      error: { code: 'internal', message: 'Malformed reply on studio:listJobs.' },
    });
    const gone = setup(() => {
      throw new Error('No handler registered');
    });
    await expect(gone.bridge.listJobs()).resolves.toMatchObject({ ok: false, error: { code: 'internal', message: 'No handler registered' } });
  });

  it('delivers events without the IPC event object and unsubscribes', () => {
    const { bridge, send, off, listeners } = setup();
    const got: StudioEvent[] = [];
    const unsubscribe = bridge.onEvent((e) => got.push(e));
    const event: StudioEvent = { type: 'job', job: fakeJob('running', 1) };
    send(IPC_EVENT_CHANNEL, event);
    expect(got).toEqual([event]);
    unsubscribe();
    expect(off).toHaveBeenCalledTimes(1);
    expect(listeners.get(IPC_EVENT_CHANNEL)?.size).toBe(0);
    send(IPC_EVENT_CHANNEL, event);
    expect(got).toHaveLength(1);
  });

  it('builds thumbnail URLs on the studio-thumb scheme', () => {
    expect(setup().bridge.thumbnailUrl('abc123', 7)).toBe('studio-thumb://abc123/7.webp');
  });
});

describe('preload entry (src-preload/index.ts)', () => {
  it('exposes one object, window.studio, with exactly the contract API and no IPC primitives', async () => {
    await import('../../src-preload/index.js');
    expect(exposed.calls.map(([key]) => key)).toEqual(['studio']);
    const api = exposed.calls[0]![1];
    expect(Object.keys(api).sort()).toEqual([...API_METHODS, 'onEvent', 'thumbnailUrl'].sort());
    for (const key of ['invoke', 'send', 'on', 'ipcRenderer', 'sendSync', 'postMessage']) expect(api).not.toHaveProperty(key);
    await (api.appInfo as () => Promise<unknown>)();
    expect(exposed.invoked.at(-1)).toEqual(['studio:appInfo', null]);
  });
});
