import { describe, expect, it } from 'vitest';
import { OnnxGraphBuilder } from '../../src-main/core/onnx/graphBuilder.js';
import { PROVIDER_PREFERENCE, availableProviders, createSession, resolveProvider } from '../../src-main/core/onnx/providers.js';

function identityModel(): Uint8Array {
  const b = new OnnxGraphBuilder('identity');
  b.addInput('x', 'float32', ['n']);
  b.node('Identity', ['x'], ['y']);
  b.addOutput('y', 'float32', ['n']);
  return b.toBytes();
}

describe('execution providers', () => {
  it('lists cpu, best first, and resolves auto to the best', () => {
    const available = availableProviders();
    expect(available).toContain('cpu');
    expect(available[available.length - 1]).toBe('cpu');
    const ranks = available.map((p) => PROVIDER_PREFERENCE.indexOf(p));
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    expect(resolveProvider('auto')).toBe(available.find((p) => p !== 'webgpu'));
    expect(resolveProvider('cpu')).toBe('cpu');
    expect(resolveProvider('cuda')).toBe('cuda');
  });

  it('runs on cpu when asked', async () => {
    const { session, provider, fallbackReason } = await createSession(identityModel(), 'cpu');
    expect(provider).toBe('cpu');
    expect(fallbackReason).toBeNull();
    await session.release();
  });

  it('falls back to cpu, saying why, when the chosen provider cannot start', async () => {
    // DirectML only exists in Windows builds; elsewhere this exercises the fallback path.
    const choice = process.platform === 'win32' ? 'coreml' : 'dml';
    const { session, provider, fallbackReason } = await createSession(identityModel(), choice);
    expect(provider).toBe('cpu');
    expect(fallbackReason).toMatch(new RegExp(`^${choice} could not start`));
    await session.release();
  });

  it('auto always ends on a working provider', async () => {
    const { session, provider } = await createSession(identityModel(), 'auto');
    expect(availableProviders()).toContain(provider);
    await session.release();
  });

  it('names the model when even cpu cannot load it', async () => {
    await expect(createSession(Uint8Array.of(1, 2, 3, 4), 'cpu')).rejects.toThrow(/could not load in-memory model \(4 bytes\)/);
    await expect(createSession('/nonexistent/model.onnx', 'cpu')).rejects.toThrow(/\/nonexistent\/model\.onnx/);
  });
});
