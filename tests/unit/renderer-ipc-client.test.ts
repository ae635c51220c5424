import { describe, expect, it } from 'vitest';
import { createBridge } from '../../src-preload/bridge';
import { createIpcClient } from '../../src-renderer/src/api/ipcClient';
import { StudioError } from '../../src-renderer/src/api/studioError';

// The renderer's side of the Electron bridge: the preload's envelopes, copied as contextBridge
// copies them (structured clone), unwrap into the same StudioError codes the web client raises.

function setup(reply: () => unknown) {
  return createBridge(async () => reply(), () => undefined, () => undefined);
}

describe('IPC client over the preload bridge', () => {
  it('error codes survive contextBridge: the renderer sees not-found and superseded, as over HTTP', async () => {
    // contextBridge copies values with the structured clone algorithm: a plain envelope survives
    // whole, while a thrown error keeps its message only (what made every error "internal").
    const thrown = structuredClone(Object.assign(new Error('No index at /x.'), { code: 'not-found' }));
    expect((thrown as { code?: string }).code).toBeUndefined();

    for (const code of ['not-found', 'superseded', 'bad-input']) {
      const bridge = setup(() => ({ ok: false, error: { code, message: `failed with ${code}` } }));
      const cloned = Object.fromEntries(
        Object.entries(bridge).map(([name, fn]) => [name, async (arg?: unknown) => structuredClone(await (fn as (a?: unknown) => Promise<unknown>)(arg))]),
      ) as unknown as typeof bridge;
      const client = createIpcClient({ ...cloned, onEvent: bridge.onEvent, thumbnailUrl: bridge.thumbnailUrl });
      const err = await client.openIndex({ path: '/x' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StudioError);
      expect((err as StudioError).code).toBe(code);
      expect((err as StudioError).message).toBe(`failed with ${code}`);
    }
    const ok = createIpcClient(setup(() => ({ ok: true, result: { version: '1' } })));
    await expect(ok.appInfo()).resolves.toEqual({ version: '1' });
  });

});
