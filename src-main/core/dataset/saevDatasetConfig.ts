import path from 'node:path';
import { PickleCallable, PickleDict, PickleObject, unpickle, type PickleValue } from '../sae/torch/pickle.js';

// What saev's shard metadata says about the dataset the activations came from. Protocol 2.1
// stores `data` as base64 of pickle.dumps(<a saev.data.datasets config dataclass>) and `dataset`
// as its root; protocols 1.x/2.0 stored `data` as a plain dict with a "__class__" key. The pickle
// is decoded by the studio's data-only unpickler: only saev's dataset classes and pathlib paths
// resolve, nothing is executed, and anything else is reported instead of read.

export interface SaevDatasetConfig {
  /** saev's class name: ImgFolder, ImgSegFolder, Imagenet, Cifar10, FakeImg, BirdClef2025, ... */
  cls: string | null;
  /** Its root (absolute on the machine that wrote the shards; an HF name for Imagenet/Cifar10). */
  root: string | null;
  /** Why `data` could not be read, when it could not. */
  problem: string | null;
}

/** The dataclass saev pickled, as its class name and field values. */
class SaevDataclass extends PickleObject {
  fields = new Map<string, PickleValue>();
  constructor(readonly cls: string) {
    super();
  }
  override setState(state: PickleValue): void {
    // Frozen dataclasses pickle their __dict__; slotted ones (None, {slots}).
    const dict = Array.isArray(state) && state.length === 2 ? state[1] : state;
    if (!(dict instanceof PickleDict)) throw new Error(`unexpected state for saev dataset ${this.cls}`);
    for (const [k, v] of dict.items) if (typeof k === 'string') this.fields.set(k, v);
  }
}

function resolveGlobal(module: string, name: string): PickleCallable | undefined {
  if (module === 'saev.data.datasets' || module === 'saev.data.images') {
    return new PickleCallable(`${module}.${name}`, () => new SaevDataclass(name));
  }
  if (module === 'pathlib' && /^(Pure)?(Posix|Windows)?Path$/.test(name)) {
    // A path pickles as its class called with its parts (3.11-3.12) or raw segments (3.13).
    const join = name.includes('Windows') ? path.win32.join : path.posix.join;
    return new PickleCallable(`pathlib.${name}`, (args) => (args.length === 0 ? '.' : join(...args.map((a) => String(a)))));
  }
  return undefined;
}

/** Read the `data` field of saev's metadata.json (either form) plus its `dataset` root. */
export function readSaevDatasetConfig(data: unknown, dataset: unknown): SaevDatasetConfig {
  const recordedRoot = typeof dataset === 'string' && dataset.length > 0 ? dataset : null;
  if (typeof data === 'string' && data.length > 0) {
    try {
      const value = unpickle(new Uint8Array(Buffer.from(data, 'base64')), {
        resolveGlobal,
        refusalHint: 'the shards\' "data" field should be a pickled saev dataset config',
      });
      if (!(value instanceof SaevDataclass)) return { cls: null, root: recordedRoot, problem: '"data" does not hold a saev dataset config' };
      const root = value.fields.get('root');
      return { cls: value.cls, root: recordedRoot ?? (typeof root === 'string' ? root : null), problem: null };
    } catch (err) {
      return { cls: null, root: recordedRoot, problem: `"data" could not be decoded: ${(err as Error).message}` };
    }
  }
  if (data && typeof data === 'object' && !Array.isArray(data)) {
    const dict = data as Record<string, unknown>;
    const cls = typeof dict.__class__ === 'string' ? dict.__class__ : null;
    const root = typeof dict.root === 'string' ? dict.root : null;
    return { cls, root: recordedRoot ?? root, problem: null };
  }
  return { cls: null, root: recordedRoot, problem: null };
}
