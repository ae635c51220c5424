// Read a `torch.save` file (the zip format PyTorch has written since 1.6) without Python:
// `<root>/data.pkl` is a pickle of the saved object whose tensors point, through persistent
// ids, at raw storages `<root>/data/<key>`. The pickle is read by the data-only unpickler in
// pickle.ts against the allow-list below, so a malicious checkpoint cannot run code; it can
// only fail to load.
//
// Output: readTorchTree gives the saved object as a tree (dicts become Map<string, ...>);
// readTorchFile flattens nested dicts into dotted names, which is how state dicts name things
// anyway (`encoder.weight`), so readers look tensors up by one string either way.
import { readCheckedFileSync } from '../../util/checkedRead.js';
import { PickleCallable, PickleDict, PickleObject, describeValue as describe, unpickle, type PickleValue } from './pickle.js';
import { DTYPE_BYTES, TorchStorage, TorchTensor, materialiseTensor, type TorchDType } from './tensors.js';
import { openZip, type ZipArchive } from './zipContainer.js';

export { TorchTensor, type TorchDType } from './tensors.js';

export type TorchDict = Map<string, TorchValue>;
export type TorchValue = TorchTensor | null | boolean | number | bigint | string | Uint8Array | TorchValue[] | TorchDict;

export interface ReadTorchOptions {
  /** Names the file in errors when reading from a buffer. */
  label?: string;
  /** Verify zip CRC-32s (default true). */
  verifyCrc?: boolean;
}

const REFUSAL_HINT = 'this file is not a plain tensor checkpoint';
/**
 * Every _rebuild_tensor call copies its view out of the storage, so a small hostile pickle could
 * rebuild one large storage thousands of times. Real checkpoints materialise each storage about
 * once (twice for tied or transposed weights, again twice for float16 → float32), so the float32
 * output may not exceed this many times the file's size (plus a floor for tiny files).
 */
const MATERIALISE_BUDGET_FACTOR = 8;
const MATERIALISE_BUDGET_FLOOR = 64 * 2 ** 20;
/**
 * The pickle holds only the object's structure (names, shapes, storage keys), ~100 bytes per
 * tensor, so even a huge state dict's is a few megabytes; a larger one is refused before it is
 * inflated rather than unpickled into gigabytes.
 */
const MAX_PICKLE_BYTES = 256 * 2 ** 20;
/** Nesting deeper than this is not a state dict; it also keeps recursion bounded. */
const MAX_DEPTH = 32;

/** The saved object as a tree: tensors, Python scalars and strings, lists, and dicts as Maps. */
export function readTorchTree(source: string | Uint8Array, options: ReadTorchOptions = {}): TorchValue {
  const label = options.label ?? (typeof source === 'string' ? source : 'torch checkpoint');
  const buffer = typeof source === 'string' ? readCheckedFileSync(source, 'checkpoint') : source;
  const archive = openTorchArchive(buffer, label, options.verifyCrc ?? true);
  const budget = { bytesLeft: MATERIALISE_BUDGET_FACTOR * buffer.length + MATERIALISE_BUDGET_FLOOR };
  const root = unpickle(archive.zip.read(`${archive.root}/data.pkl`, { maxBytes: MAX_PICKLE_BYTES, what: 'its pickle (data.pkl)' }), {
    resolveGlobal: createTorchResolver(budget),
    persistentLoad: makeStorageLoader(archive.zip, archive.root),
    refusalHint: REFUSAL_HINT,
  });
  try {
    return toTorchValue(root, 0, new Set());
  } catch (error) {
    throw new Error(`${label}: ${(error as Error).message}`);
  }
}

/**
 * The saved object flattened to dotted names: `{encoder: {weight: T}}` and
 * `{'encoder.weight': T}` both give 'encoder.weight'. Lists and tuples stay values.
 */
export function readTorchFile(source: string | Uint8Array, options: ReadTorchOptions = {}): Map<string, TorchValue> {
  const label = options.label ?? (typeof source === 'string' ? source : 'torch checkpoint');
  const tree = readTorchTree(source, options);
  if (!(tree instanceof Map)) throw new Error(`${label} holds a ${describeTorchValue(tree)}, not a dict of tensors (a state dict)`);
  const flat = new Map<string, TorchValue>();
  flatten(tree, '', flat, label);
  return flat;
}

export function isTorchTensor(value: TorchValue | undefined): value is TorchTensor {
  return value instanceof TorchTensor;
}

interface TorchArchive {
  zip: ZipArchive;
  /** The archive's top folder ('archive' by default; torch uses the file's stem otherwise). */
  root: string;
}

function openTorchArchive(buffer: Uint8Array, label: string, verifyCrc: boolean): TorchArchive {
  let zip: ZipArchive;
  try {
    zip = openZip(buffer, { label, verifyCrc });
  } catch (error) {
    // torch < 1.6 (or _use_new_zipfile_serialization=False) wrote bare pickles, which start
    // with the PROTO opcode; name that case, since re-saving fixes it.
    if (buffer[0] === 0x80 && buffer[1]! <= 5) {
      throw new Error(
        `${label} uses PyTorch's legacy (pre-1.6) serialisation, which is not supported; ` +
          `re-save it with a current PyTorch: torch.save(torch.load(path), path)`,
      );
    }
    throw error;
  }
  const pickles = zip.entries.map((entry) => entry.name).filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (pickles.length !== 1) {
    const names = zip.entries.slice(0, 8).map((entry) => entry.name).join(', ');
    throw new Error(
      `${label} is a zip but not a torch.save archive: expected one '<name>/data.pkl', found ${pickles.length} ` +
        `(entries: ${names || 'none'}${zip.entries.length > 8 ? ', ...' : ''})`,
    );
  }
  const root = pickles[0]!.slice(0, -'/data.pkl'.length);
  const byteorder = zip.has(`${root}/byteorder`) ? new TextDecoder().decode(zip.read(`${root}/byteorder`)).trim() : 'little';
  if (byteorder !== 'little') throw new Error(`${label} was saved on a ${byteorder}-endian machine; only little-endian checkpoints are supported`);
  return { zip, root };
}

// ---------------------------------------------------------------------------------------------
// The allow-list. Each entry is a pure data constructor; nothing here imports or runs Python.

/** Marker for a storage class named in a persistent id (`torch.FloatStorage`, ...). */
class TorchStorageType extends PickleObject {
  constructor(readonly dtype: TorchDType, readonly untyped: boolean) {
    super();
  }
}

/** A `torch.float32`-style dtype object (pickled by name). */
class TorchDTypeValue extends PickleObject {
  constructor(readonly dtype: TorchDType) {
    super();
  }
}

/** A tensor class (`torch.Tensor`, `torch.nn.Parameter`) named by _rebuild_from_type_v2. */
class TorchTensorClass extends PickleObject {}

const STORAGE_TYPES: Record<string, TorchDType> = {
  FloatStorage: 'float32', DoubleStorage: 'float64', HalfStorage: 'float16', BFloat16Storage: 'bfloat16',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8', ByteStorage: 'uint8', BoolStorage: 'bool',
};

const DTYPE_NAMES: Record<string, TorchDType> = {
  float32: 'float32', float: 'float32', float64: 'float64', double: 'float64', float16: 'float16', half: 'float16',
  bfloat16: 'bfloat16', int64: 'int64', long: 'int64', int32: 'int32', int: 'int32', int16: 'int16', short: 'int16',
  int8: 'int8', uint8: 'uint8', bool: 'bool',
};

/** How many bytes of float32 tensor data a file may still materialise. */
interface MaterialiseBudget {
  bytesLeft: number;
}

type Callables = Record<string, (args: readonly PickleValue[]) => PickleValue>;

const tensorCallables = (budget: MaterialiseBudget): Callables => ({
  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  'torch._utils._rebuild_tensor_v2': ([storage, offset, size, stride]) => rebuildTensor(budget, storage, offset, size, stride, null),
  // _rebuild_tensor_v3(..., dtype[, metadata]): an untyped storage read as `dtype`.
  'torch._utils._rebuild_tensor_v3': ([storage, offset, size, stride, , , dtype]) =>
    rebuildTensor(budget, storage, offset, size, stride, dtype ?? null),
});

const DATA_CALLABLES: Callables = {
  // Parameters pickle as their data plus autograd flags the studio has no use for.
  'torch._utils._rebuild_parameter': ([data]) => expectTensor(data, 'a parameter'),
  'torch._utils._rebuild_parameter_with_state': ([data]) => expectTensor(data, 'a parameter'),
  // _rebuild_from_type_v2(func, new_type, args, state): func(*args) viewed as a tensor subclass.
  'torch._tensor._rebuild_from_type_v2': ([func, cls, args]) => {
    if (!(func instanceof PickleCallable) || !(cls instanceof TorchTensorClass) || !Array.isArray(args)) {
      throw new Error('_rebuild_from_type_v2 got unexpected arguments');
    }
    return expectTensor(func.call(args), 'a tensor subclass');
  },
  // state_dict() returns an OrderedDict: REDUCE with no items, then SETITEMS (and BUILD for _metadata).
  'collections.OrderedDict': (args) => {
    if (args.length !== 0) throw new Error('OrderedDict with constructor arguments is not supported');
    return new PickleDict();
  },
  'torch.Size': ([dims]) => {
    if (!Array.isArray(dims)) throw new Error('torch.Size needs a tuple');
    return Object.freeze([...dims]) as PickleValue[];
  },
  // Protocol 2 pickles Python 3 bytes as _codecs.encode(text, 'latin1').
  '_codecs.encode': ([text, encoding]) => {
    if (typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) throw new Error('only latin1 _codecs.encode is supported');
    return Uint8Array.from(text, (ch) => ch.charCodeAt(0) & 0xff);
  },
};

const TENSOR_CLASSES = new Set(['torch.Tensor', 'torch.nn.parameter.Parameter', 'torch.nn.Parameter']);

/** The allow-list as a pickle resolver; tensors it rebuilds draw on `budget`. */
function createTorchResolver(budget: MaterialiseBudget): (module: string, name: string) => PickleValue | undefined {
  const callables: Callables = { ...DATA_CALLABLES, ...tensorCallables(budget) };
  return (module, name) => {
    const qualified = `${module}.${name}`;
    const call = Object.hasOwn(callables, qualified) ? callables[qualified] : undefined;
    if (call) return new PickleCallable(qualified, call);
    return resolveMarker(module, name, qualified);
  };
}

/** The allow-list without a budget (for reading pickles that hold no storages). */
export const resolveTorchGlobal = createTorchResolver({ bytesLeft: Infinity });

function resolveMarker(module: string, name: string, qualified: string): PickleValue | undefined {
  if (module === 'torch' && Object.hasOwn(STORAGE_TYPES, name)) return new TorchStorageType(STORAGE_TYPES[name]!, false);
  if ((module === 'torch' || module === 'torch.storage') && name === 'UntypedStorage') return new TorchStorageType('uint8', true);
  if (module === 'torch' && Object.hasOwn(DTYPE_NAMES, name)) return new TorchDTypeValue(DTYPE_NAMES[name]!);
  if (TENSOR_CLASSES.has(qualified)) return new TorchTensorClass();
  return undefined;
}

/** persistent_load: ('storage', storage_type, key, location, numel) → the storage's bytes. */
function makeStorageLoader(zip: ZipArchive, root: string): (pid: PickleValue) => PickleValue {
  const loaded = new Map<string, TorchStorage>();
  return (pid) => {
    if (!Array.isArray(pid) || pid.length < 5 || pid[0] !== 'storage') {
      throw new Error(`unexpected persistent id (${describe(pid)}); expected ('storage', type, key, location, numel)`);
    }
    const [, type, key, , numel] = pid;
    if (!(type instanceof TorchStorageType)) throw new Error(`storage type is a ${describe(type)}, not a torch storage class`);
    if (typeof key !== 'string' || !/^[\w.-]{1,64}$/.test(key)) throw new Error(`storage key ${JSON.stringify(key)} is not a plain name`);
    if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) throw new Error(`storage '${key}' has an invalid size`);
    const cached = loaded.get(key);
    if (cached) return cached;
    const entry = `${root}/data/${key}`;
    if (!zip.has(entry)) throw new Error(`storage '${key}' is missing from the archive (no ${entry})`);
    const bytes = zip.read(entry);
    const needed = numel * (type.untyped ? 1 : DTYPE_BYTES[type.dtype]);
    if (bytes.length < needed) throw new Error(`storage '${key}' holds ${bytes.length} bytes but ${needed} were declared`);
    const storage = new TorchStorage(key, type.dtype, bytes);
    loaded.set(key, storage);
    return storage;
  };
}

// The rebuild helpers take `PickleValue | undefined`: a file may pickle a call with too few
// arguments, and the type checks below reject the missing ones like any other wrong value.
function rebuildTensor(
  budget: MaterialiseBudget,
  storage: PickleValue | undefined,
  offset: PickleValue | undefined,
  size: PickleValue | undefined,
  stride: PickleValue | undefined,
  dtype: PickleValue,
): TorchTensor {
  if (!(storage instanceof TorchStorage)) throw new Error(`tensor storage is a ${describe(storage)}`);
  if (typeof offset !== 'number') throw new Error(`tensor storage offset is a ${describe(offset)}`);
  const dims = intTuple(size, 'size');
  const strides = intTuple(stride, 'stride');
  let viewDtype = storage.dtype;
  if (dtype !== null) {
    if (!(dtype instanceof TorchDTypeValue)) throw new Error(`tensor dtype is a ${describe(dtype)}`);
    viewDtype = dtype.dtype;
  }
  const reserve = (numel: number) => {
    if (4 * numel > budget.bytesLeft) {
      throw new Error(`the checkpoint rebuilds more tensor data than a file of its size can hold (at a tensor of shape [${dims.join(', ')}])`);
    }
    budget.bytesLeft -= 4 * numel;
  };
  return materialiseTensor(storage, { offset, size: dims, stride: strides, dtype: viewDtype }, reserve);
}

function intTuple(value: PickleValue | undefined, what: string): number[] {
  if (!Array.isArray(value) || !value.every((n) => typeof n === 'number')) throw new Error(`tensor ${what} is not a tuple of ints`);
  return value as number[];
}

function expectTensor(value: PickleValue | undefined, what: string): TorchTensor {
  if (!(value instanceof TorchTensor)) throw new Error(`${what} wraps a ${describe(value)}, not a tensor`);
  return value;
}

// ---------------------------------------------------------------------------------------------
// From pickle data to the public tree.

function toTorchValue(value: PickleValue, depth: number, path: Set<unknown>): TorchValue {
  if (depth > MAX_DEPTH) throw new Error(`the saved object nests deeper than ${MAX_DEPTH} levels`);
  if (value instanceof TorchTensor || value === null || value instanceof Uint8Array) return value;
  if (typeof value !== 'object') return value;
  // Pickle memo references can make a list contain itself; a state dict never does.
  if (path.has(value)) throw new Error('the saved object contains itself (a reference cycle)');
  path.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => toTorchValue(item, depth + 1, path));
    if (value instanceof PickleDict) {
      const out: TorchDict = new Map();
      for (const [key, item] of value.items) {
        if (typeof key !== 'string' && typeof key !== 'number' && typeof key !== 'bigint') {
          throw new Error(`a dict key is a ${describe(key)}; only string and integer keys are supported`);
        }
        out.set(String(key), toTorchValue(item, depth + 1, path));
      }
      return out;
    }
    if (value instanceof TorchDTypeValue) return `torch.${value.dtype}`;
    if (value instanceof PickleCallable) return value.qualifiedName;
    throw new Error(`the saved object holds a bare ${describe(value)}, which is not data`);
  } finally {
    path.delete(value);
  }
}

function flatten(dict: TorchDict, prefix: string, out: Map<string, TorchValue>, label: string): void {
  for (const [key, value] of dict) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (value instanceof Map) {
      flatten(value, name, out, label);
      continue;
    }
    if (out.has(name)) throw new Error(`${label} has two values named '${name}' once nested dicts are flattened`);
    out.set(name, value);
  }
}

function describeTorchValue(value: TorchValue): string {
  if (value instanceof TorchTensor) return `single tensor of shape [${value.shape.join(', ')}]`;
  if (Array.isArray(value)) return 'list';
  return value === null ? 'None' : typeof value;
}

/**
 * The float32 data of tensor `name` in a flattened checkpoint, checked against `shape`
 * (`[]` accepts a 0-d or single-element tensor); errors name the file and what it holds.
 */
export function takeTorchTensor(values: Map<string, TorchValue>, name: string, shape: number[], label: string): Float32Array {
  const value = values.get(name);
  if (!(value instanceof TorchTensor)) {
    const tensors = [...values].filter(([, v]) => v instanceof TorchTensor).map(([k]) => k);
    throw new Error(
      `${label} has no tensor '${name}'${value === undefined ? '' : ` (it holds a ${describeTorchValue(value)})`}; ` +
        `tensors found: ${tensors.join(', ') || 'none'}`,
    );
  }
  const matches = shape.length === 0 ? value.data.length === 1 : value.shape.length === shape.length && value.shape.every((n, i) => n === shape[i]);
  if (!matches) {
    throw new Error(`tensor '${name}' in ${label} has shape [${value.shape.join(', ')}] but [${shape.join(', ')}] was expected`);
  }
  return value.data;
}
