// Test-only writer of torch.save-style files, so the torch reader is tested on a fresh clone
// without the shared fixtures. It follows what torch.save emits for a state dict: a protocol-2
// pickle whose tensors are `torch._utils._rebuild_tensor_v2(persistent storage, offset, size,
// stride, False, OrderedDict())`, storages as `<root>/data/<key>` entries, and a `version`
// entry, inside a zip (stored entries by default; deflate and zip64 on request). It is written
// independently of the reader (its own CRC, its own pickle opcodes) so they check each other.
import { deflateSync } from 'fflate';

export type WritableDType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'uint8' | 'bool';

const STORAGE_CLASS: Record<WritableDType, string> = {
  float32: 'FloatStorage', float64: 'DoubleStorage', float16: 'HalfStorage', bfloat16: 'BFloat16Storage',
  int64: 'LongStorage', int32: 'IntStorage', uint8: 'ByteStorage', bool: 'BoolStorage',
};
const ITEM_BYTES: Record<WritableDType, number> = { float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, uint8: 1, bool: 1 };

/** A storage shared by one or more tensor views. */
export class StorageSpec {
  constructor(
    readonly dtype: WritableDType,
    readonly values: ArrayLike<number>,
  ) {}
}

/** A tensor: a view (offset, shape, stride) of a storage. */
export class TensorSpec {
  constructor(
    readonly storage: StorageSpec,
    readonly shape: number[],
    readonly stride: number[],
    readonly offset = 0,
    /** Pickle it the way nn.Parameter pickles (through _rebuild_parameter). */
    readonly parameter = false,
  ) {}
}

/** Forces a Python float for a number that happens to be an integer. */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** A Python tuple (arrays are written as lists). */
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

export type PyValue = null | boolean | number | string | PyFloat | PyTuple | TensorSpec | PyValue[] | { [key: string]: PyValue };

/** A contiguous tensor of `values` (row-major) with its own storage. */
export function tensor(dtype: WritableDType, shape: number[], values: ArrayLike<number>): TensorSpec {
  const numel = shape.reduce((a, b) => a * b, 1);
  if (values.length !== numel) throw new Error(`tensor(): ${values.length} values for shape [${shape.join(', ')}]`);
  return new TensorSpec(new StorageSpec(dtype, values), shape, contiguousStrides(shape));
}

/** A view of `base`'s storage with another shape/stride/offset (e.g. a transpose). */
export function view(base: TensorSpec, shape: number[], stride: number[], offset = 0): TensorSpec {
  return new TensorSpec(base.storage, shape, stride, offset);
}

export function contiguousStrides(shape: number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d]!;
  }
  return strides;
}

export interface TorchSaveOptions {
  /** Top folder inside the zip (torch uses 'archive', or the file's stem). */
  root?: string;
  method?: 'stored' | 'deflate';
  zip64?: boolean;
  /** Wrap the top dict as an OrderedDict with `_metadata` (what state_dict() returns). */
  orderedDict?: boolean;
  /** Bytes written before the zip (saev's header line). */
  prefix?: Uint8Array;
}

/** Bytes of a torch.save-style file holding `obj`. */
export function torchSave(obj: { [key: string]: PyValue }, options: TorchSaveOptions = {}): Uint8Array {
  const root = options.root ?? 'archive';
  const pickler = new StateDictPickler();
  const pickle = pickler.dump(obj, options.orderedDict ?? false);
  const entries: ZipInput[] = [
    { name: `${root}/data.pkl`, data: pickle },
    { name: `${root}/byteorder`, data: new TextEncoder().encode('little') },
  ];
  for (const [storage, key] of pickler.storageKeys) entries.push({ name: `${root}/data/${key}`, data: storageBytes(storage) });
  entries.push({ name: `${root}/version`, data: new TextEncoder().encode('3\n') });
  return writeZip(entries, { method: options.method, zip64: options.zip64, prefix: options.prefix });
}

/** saev's layout: one JSON header line, then the torch.save zip. */
export function saevFile(header: unknown, obj: { [key: string]: PyValue }, options: TorchSaveOptions = {}): Uint8Array {
  return torchSave(obj, { ...options, prefix: new TextEncoder().encode(`${JSON.stringify(header)}\n`) });
}

function storageBytes(storage: StorageSpec): Uint8Array {
  const n = storage.values.length;
  const bytes = new Uint8Array(n * ITEM_BYTES[storage.dtype]);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < n; i++) {
    const v = storage.values[i]!;
    switch (storage.dtype) {
      case 'float32': view.setFloat32(i * 4, v, true); break;
      case 'float64': view.setFloat64(i * 8, v, true); break;
      case 'float16': view.setUint16(i * 2, floatToHalf(v), true); break;
      case 'bfloat16': {
        const f = new DataView(new ArrayBuffer(4));
        f.setFloat32(0, v);
        view.setUint16(i * 2, f.getUint32(0) >>> 16, true); // truncation: tests use exactly representable values
        break;
      }
      case 'int64': view.setBigInt64(i * 8, BigInt(v), true); break;
      case 'int32': view.setInt32(i * 4, v, true); break;
      case 'uint8': case 'bool': view.setUint8(i, v); break;
    }
  }
  return bytes;
}

/** number → binary16, round-to-nearest for normal values (enough for test data). */
function floatToHalf(value: number): number {
  const f = new DataView(new ArrayBuffer(4));
  f.setFloat32(0, value);
  const bits = f.getUint32(0);
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  const mantissa = bits & 0x7fffff;
  if (exponent <= 0) return sign; // flush tiny values to zero
  if (exponent >= 0x1f) return sign | 0x7c00;
  return sign | (exponent << 10) | Math.round(mantissa / 0x2000);
}

// ---------------------------------------------------------------------------------------------
// Pickle (protocol 2, as torch.save writes it).

export const OP = {
  PROTO: 0x80, STOP: 0x2e, MARK: 0x28, EMPTY_DICT: 0x7d, EMPTY_LIST: 0x5d, EMPTY_TUPLE: 0x29, SETITEMS: 0x75, SETITEM: 0x73,
  APPENDS: 0x65, APPEND: 0x61, TUPLE: 0x74, TUPLE1: 0x85, TUPLE2: 0x86, TUPLE3: 0x87, BINPUT: 0x71, LONG_BINPUT: 0x72, BINGET: 0x68,
  LONG_BINGET: 0x6a, MEMOIZE: 0x94, GLOBAL: 0x63, STACK_GLOBAL: 0x93, REDUCE: 0x52, BUILD: 0x62, BINPERSID: 0x51, NONE: 0x4e,
  NEWTRUE: 0x88, NEWFALSE: 0x89, BININT: 0x4a, BININT1: 0x4b, BININT2: 0x4d, LONG1: 0x8a, BINFLOAT: 0x47, BINUNICODE: 0x58,
  SHORT_BINUNICODE: 0x8c, FRAME: 0x95,
} as const;

/** Byte-level pickle assembly, for well-formed files here and hand-made hostile ones in tests. */
export class PickleBytes {
  private readonly parts: number[] = [];

  op(...codes: number[]): this {
    this.parts.push(...codes);
    return this;
  }

  u32(n: number): this {
    this.parts.push(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
    return this;
  }

  raw(bytes: ArrayLike<number>): this {
    for (let i = 0; i < bytes.length; i++) this.parts.push(bytes[i]!);
    return this;
  }

  str(text: string): this {
    const utf8 = new TextEncoder().encode(text);
    return this.op(OP.BINUNICODE).u32(utf8.length).raw(utf8);
  }

  global(module: string, name: string): this {
    return this.op(OP.GLOBAL).raw(new TextEncoder().encode(`${module}\n${name}\n`));
  }

  int(n: number): this {
    if (Number.isInteger(n) && n >= 0 && n < 256) return this.op(OP.BININT1, n);
    if (Number.isInteger(n) && n >= 0 && n < 65536) return this.op(OP.BININT2, n & 0xff, n >>> 8);
    if (Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31) return this.op(OP.BININT).u32(n >>> 0);
    // LONG1: little-endian two's complement, as short as possible.
    let big = BigInt(n);
    const bytes: number[] = [];
    while (big !== 0n && big !== -1n) {
      bytes.push(Number(big & 0xffn));
      big >>= 8n;
    }
    if (bytes.length === 0 || (big === 0n) !== ((bytes[bytes.length - 1]! & 0x80) === 0)) bytes.push(big === 0n ? 0 : 0xff);
    return this.op(OP.LONG1, bytes.length).raw(bytes);
  }

  float(value: number): this {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, value, false);
    return this.op(OP.BINFLOAT).raw(bytes);
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

class StateDictPickler {
  readonly storageKeys = new Map<StorageSpec, string>();
  private readonly out = new PickleBytes();
  private readonly memo = new Map<string, number>();

  dump(obj: { [key: string]: PyValue }, ordered: boolean): Uint8Array {
    this.out.op(OP.PROTO, 2);
    if (ordered) {
      this.memoGlobal('collections', 'OrderedDict');
      this.out.op(OP.EMPTY_TUPLE, OP.REDUCE);
    } else {
      this.out.op(OP.EMPTY_DICT);
    }
    this.put();
    this.items(obj);
    if (ordered) {
      // state_dict()'s `_metadata`, set as an attribute through BUILD.
      this.out.op(OP.EMPTY_DICT).str('_metadata').op(OP.EMPTY_DICT).str('').op(OP.EMPTY_DICT).str('version').int(1);
      this.out.op(OP.SETITEM, OP.SETITEM, OP.SETITEM, OP.BUILD);
    }
    this.out.op(OP.STOP);
    return this.out.bytes();
  }

  private items(obj: { [key: string]: PyValue }): void {
    const keys = Object.keys(obj);
    if (keys.length === 0) return;
    this.out.op(OP.MARK);
    for (const key of keys) {
      this.out.str(key);
      this.put();
      this.value(obj[key]!);
    }
    this.out.op(OP.SETITEMS);
  }

  private value(value: PyValue): void {
    if (value === null) this.out.op(OP.NONE);
    else if (value === true) this.out.op(OP.NEWTRUE);
    else if (value === false) this.out.op(OP.NEWFALSE);
    else if (typeof value === 'number') (Number.isInteger(value) ? this.out.int(value) : this.out.float(value));
    else if (value instanceof PyFloat) this.out.float(value.value);
    else if (typeof value === 'string') {
      this.out.str(value);
      this.put();
    } else if (value instanceof TensorSpec) this.tensor(value);
    else if (value instanceof PyTuple) this.tuple(value.items);
    else if (Array.isArray(value)) {
      this.out.op(OP.EMPTY_LIST);
      this.put();
      if (value.length > 0) {
        this.out.op(OP.MARK);
        for (const item of value) this.value(item);
        this.out.op(OP.APPENDS);
      }
    } else {
      this.out.op(OP.EMPTY_DICT);
      this.put();
      this.items(value);
    }
  }

  private tuple(items: PyValue[]): void {
    if (items.length === 0) {
      this.out.op(OP.EMPTY_TUPLE);
      return;
    }
    if (items.length > 3) this.out.op(OP.MARK);
    for (const item of items) this.value(item);
    this.out.op(items.length === 1 ? OP.TUPLE1 : items.length === 2 ? OP.TUPLE2 : items.length === 3 ? OP.TUPLE3 : OP.TUPLE);
    this.put();
  }

  private tensor(spec: TensorSpec): void {
    if (spec.parameter) this.memoGlobal('torch._utils', '_rebuild_parameter');
    this.memoGlobal('torch._utils', '_rebuild_tensor_v2');
    this.out.op(OP.MARK);
    // Persistent id ('storage', torch.XStorage, key, 'cpu', numel), as torch writes it.
    let key = this.storageKeys.get(spec.storage);
    if (key === undefined) {
      key = String(this.storageKeys.size);
      this.storageKeys.set(spec.storage, key);
    }
    this.out.op(OP.MARK);
    this.value('storage');
    this.memoGlobal('torch', STORAGE_CLASS[spec.storage.dtype]);
    this.value(key);
    this.value('cpu');
    this.out.int(spec.storage.values.length);
    this.out.op(OP.TUPLE);
    this.put();
    this.out.op(OP.BINPERSID);
    this.out.int(spec.offset);
    this.tuple(spec.shape);
    this.tuple(spec.stride);
    this.out.op(OP.NEWFALSE);
    this.memoGlobal('collections', 'OrderedDict');
    this.out.op(OP.EMPTY_TUPLE, OP.REDUCE);
    this.put();
    this.out.op(OP.TUPLE, OP.REDUCE);
    this.put();
    if (spec.parameter) {
      this.out.op(OP.NEWFALSE);
      this.memoGlobal('collections', 'OrderedDict');
      this.out.op(OP.EMPTY_TUPLE, OP.REDUCE, OP.TUPLE3, OP.REDUCE);
    }
  }

  /** A GLOBAL the first time, a BINGET of its memo slot afterwards (as pickle does). */
  private memoGlobal(module: string, name: string): void {
    const slot = this.memo.get(`${module}.${name}`);
    if (slot !== undefined) {
      this.get(slot);
      return;
    }
    this.out.global(module, name);
    this.memo.set(`${module}.${name}`, this.put());
  }

  private nextSlot = 0;

  private put(): number {
    const slot = this.nextSlot++;
    if (slot < 256) this.out.op(OP.BINPUT, slot);
    else this.out.op(OP.LONG_BINPUT).u32(slot);
    return slot;
  }

  private get(slot: number): void {
    if (slot < 256) this.out.op(OP.BINGET, slot);
    else this.out.op(OP.LONG_BINGET).u32(slot);
  }
}

// ---------------------------------------------------------------------------------------------
// Zip

export interface ZipInput {
  name: string;
  data: Uint8Array;
}

export interface ZipWriteOptions {
  method?: 'stored' | 'deflate';
  zip64?: boolean;
  prefix?: Uint8Array;
}

/** A zip archive of `entries`; offsets are relative to the zip's start, as torch.save writes them after a prefix. */
export function writeZip(entries: ZipInput[], options: ZipWriteOptions = {}): Uint8Array {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const push = (bytes: Uint8Array) => {
    chunks.push(bytes);
    offset += bytes.length;
  };
  const central: Uint8Array[] = [];
  for (const entry of entries) {
    const name = new TextEncoder().encode(entry.name);
    const deflated = options.method === 'deflate';
    const body = deflated ? deflateSync(entry.data) : entry.data;
    const crc = crc32(entry.data);
    const localOffset = offset;
    const local = new Bytes();
    local.u32(0x04034b50).u16(deflated ? 20 : 10).u16(0).u16(deflated ? 8 : 0).u16(0).u16(0x21);
    local.u32(crc).u32(body.length).u32(entry.data.length).u16(name.length).u16(0).raw(name);
    push(local.done());
    push(body);

    const cd = new Bytes();
    const big = options.zip64 ?? false;
    cd.u32(0x02014b50).u16(45).u16(big ? 45 : 20).u16(0).u16(deflated ? 8 : 0).u16(0).u16(0x21).u32(crc);
    cd.u32(big ? 0xffffffff : body.length).u32(big ? 0xffffffff : entry.data.length);
    cd.u16(name.length).u16(big ? 28 : 0).u16(0).u16(0).u16(0).u32(0).u32(big ? 0xffffffff : localOffset).raw(name);
    if (big) cd.u16(0x0001).u16(24).u64(entry.data.length).u64(body.length).u64(localOffset);
    central.push(cd.done());
  }
  const cdOffset = offset;
  for (const cd of central) push(cd);
  const cdSize = offset - cdOffset;
  if (options.zip64) {
    const zip64At = offset;
    const record = new Bytes();
    record.u32(0x06064b50).u64(44).u16(45).u16(45).u32(0).u32(0);
    record.u64(entries.length).u64(entries.length).u64(cdSize).u64(cdOffset);
    push(record.done());
    push(new Bytes().u32(0x07064b50).u32(0).u64(zip64At).u32(1).done());
    push(new Bytes().u32(0x06054b50).u16(0).u16(0).u16(0xffff).u16(0xffff).u32(0xffffffff).u32(0xffffffff).u16(0).done());
  } else {
    push(new Bytes().u32(0x06054b50).u16(0).u16(0).u16(entries.length).u16(entries.length).u32(cdSize).u32(cdOffset).u16(0).done());
  }
  const prefix = options.prefix ?? new Uint8Array(0);
  const out = new Uint8Array(prefix.length + offset);
  out.set(prefix);
  let at = prefix.length;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

class Bytes {
  private readonly parts: number[] = [];
  u16(n: number): this {
    this.parts.push(n & 0xff, (n >>> 8) & 0xff);
    return this;
  }
  u32(n: number): this {
    this.parts.push(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
    return this;
  }
  u64(n: number): this {
    return this.u32(n % 2 ** 32).u32(Math.floor(n / 2 ** 32));
  }
  raw(bytes: Uint8Array): this {
    for (const b of bytes) this.parts.push(b);
    return this;
  }
  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

function crc32(bytes: Uint8Array): number {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return ~crc >>> 0;
}
