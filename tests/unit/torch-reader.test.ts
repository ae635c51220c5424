import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { PickleCallable, PickleDict, unpickle, type PickleValue } from '../../src-main/core/sae/torch/pickle.js';
import { TorchTensor, readTorchFile, readTorchTree, resolveTorchGlobal } from '../../src-main/core/sae/torch/readTorchFile.js';
import { bfloat16ToFloat, halfToFloat } from '../../src-main/core/sae/torch/tensors.js';
import { openZip } from '../../src-main/core/sae/torch/zipContainer.js';
import { OP, PickleBytes, PyFloat, PyTuple, TensorSpec, tensor, torchSave, view, writeZip } from '../helpers/writeTorchZip.js';

const text = (s: string) => new TextEncoder().encode(s);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);
const ENTRIES = [
  { name: 'archive/data.pkl', data: text('pickle bytes') },
  { name: 'archive/data/0', data: Uint8Array.from({ length: 300 }, (_, i) => i % 7) },
  { name: 'archive/version', data: text('3\n') },
];

/** Unpickle with the torch allow-list and no storages. */
const load = (bytes: Uint8Array) => unpickle(bytes, { resolveGlobal: resolveTorchGlobal, refusalHint: 'this file is not a plain tensor checkpoint' });

describe('zip container', () => {
  it.each([
    ['stored', {}],
    ['deflated', { method: 'deflate' as const }],
    ['zip64', { zip64: true }],
    ['zip64 + deflated', { zip64: true, method: 'deflate' as const }],
  ])('reads %s entries, with and without bytes before the archive', (_, options) => {
    for (const prefix of [new Uint8Array(0), text('{"schema": 5, "cfg": {}}\n')]) {
      const zip = openZip(writeZip(ENTRIES, { ...options, prefix }));
      expect(zip.prefixLength).toBe(prefix.length);
      expect(zip.entries.map((entry) => entry.name)).toEqual(ENTRIES.map((entry) => entry.name));
      for (const entry of ENTRIES) expect(zip.read(entry.name)).toEqual(entry.data);
    }
  });

  it('reads archives written by another zip writer (fflate), prefixed', () => {
    const files = { 'ae/data.pkl': text('x'.repeat(500)), 'ae/data/0': new Uint8Array(64).fill(3) };
    for (const level of [0, 6] as const) {
      const bytes = zipSync(files, { level });
      const prefixed = new Uint8Array(bytes.length + 5);
      prefixed.set(text('abcd\n'));
      prefixed.set(bytes, 5);
      const zip = openZip(prefixed);
      expect(zip.prefixLength).toBe(5);
      expect(decode(zip.read('ae/data.pkl'))).toBe('x'.repeat(500));
      expect(zip.read('ae/data/0')).toEqual(files['ae/data/0']);
    }
  });

  it('refuses truncated and damaged archives with a reason', () => {
    const bytes = writeZip(ENTRIES);
    expect(() => openZip(bytes.subarray(0, bytes.length - 5), { label: 'x.pt' })).toThrow(
      'x.pt is not a readable zip archive: no end-of-central-directory record (the file is truncated or not a zip)',
    );
    expect(() => openZip(new Uint8Array(10))).toThrow(/no end-of-central-directory record/);
    // Cut from the front: the central directory's recorded offset no longer fits.
    expect(() => openZip(bytes.subarray(40))).toThrow(/recorded at byte \d+ but ends before it/);

    const corrupt = bytes.slice();
    const dataAt = openZip(corrupt).entries[1]!.localHeaderOffset + 30 + 'archive/data/0'.length + 10;
    corrupt[dataAt]! ^= 0xff;
    expect(() => openZip(corrupt).read('archive/data/0')).toThrow(/the CRC-32 of 'archive\/data\/0' does not match its data/);
    // Without the check, the damaged byte comes through as it is.
    expect(openZip(corrupt, { verifyCrc: false }).read('archive/data/0')[10]).toBe((10 % 7) ^ 0xff);

    const zip = openZip(bytes);
    expect(() => zip.read('archive/missing')).toThrow("zip archive has no entry 'archive/missing'");
  });

  it('refuses a central directory entry that has been overwritten', () => {
    const bytes = writeZip(ENTRIES);
    const central = lastIndexOf(bytes, [0x50, 0x4b, 0x01, 0x02]);
    bytes[central] = 0;
    expect(() => openZip(bytes)).toThrow(/central directory entry 2 is damaged/);
  });
});

describe('pickle subset', () => {
  it('reads scalars, strings, containers and memo references', () => {
    const p = new PickleBytes().op(OP.PROTO, 2, OP.EMPTY_DICT, OP.BINPUT, 0, OP.MARK);
    p.str('small').int(7).str('medium').int(40000).str('negative').int(-5).str('big').int(2 ** 40).str('neg_big').int(-(2 ** 40));
    p.str('float').float(0.25).str('none').op(OP.NONE).str('yes').op(OP.NEWTRUE).str('no').op(OP.NEWFALSE);
    p.str('list').op(OP.EMPTY_LIST, OP.BINPUT, 1, OP.MARK).int(1).int(2).op(OP.APPENDS);
    p.str('same_list').op(OP.BINGET, 1); // a memo reference: the very same list object
    p.str('tuple').int(1).str('a').op(OP.TUPLE2).str('short').op(OP.SHORT_BINUNICODE, 3).raw(text('hé'));
    p.op(OP.SETITEMS, OP.STOP);
    const value = load(p.bytes()) as PickleDict;
    const get = (key: string) => value.items.get(key);
    expect(get('small')).toBe(7);
    expect(get('medium')).toBe(40000);
    expect(get('negative')).toBe(-5);
    expect(get('big')).toBe(2 ** 40);
    expect(get('neg_big')).toBe(-(2 ** 40));
    expect(get('float')).toBe(0.25);
    expect(get('none')).toBeNull();
    expect(get('yes')).toBe(true);
    expect(get('no')).toBe(false);
    expect(get('list')).toEqual([1, 2]);
    expect(get('same_list')).toBe(get('list'));
    expect(get('tuple')).toEqual([1, 'a']);
    expect(Object.isFrozen(get('tuple'))).toBe(true);
    expect(get('short')).toBe('hé');
  });

  it('reads protocol 4 framing, MEMOIZE and STACK_GLOBAL', () => {
    const p = new PickleBytes().op(OP.PROTO, 4, OP.FRAME, 0, 0, 0, 0, 0, 0, 0, 0);
    p.op(OP.SHORT_BINUNICODE, 11).raw(text('collections')).op(OP.MEMOIZE);
    p.op(OP.SHORT_BINUNICODE, 11).raw(text('OrderedDict')).op(OP.MEMOIZE, OP.STACK_GLOBAL, OP.MEMOIZE);
    p.op(OP.EMPTY_TUPLE, OP.REDUCE, OP.MEMOIZE).str('k').int(3).op(OP.SETITEM);
    p.op(OP.BINGET, 3, OP.TUPLE2, OP.STOP); // memo 3 is the OrderedDict itself
    const [dict, again] = load(p.bytes()) as PickleValue[];
    expect(dict).toBeInstanceOf(PickleDict);
    expect((dict as PickleDict).items.get('k')).toBe(3);
    expect(again).toBe(dict);
  });

  it('refuses a malicious os.system GLOBAL + REDUCE without running anything', () => {
    const p = new PickleBytes().op(OP.PROTO, 2).global('os', 'system').str('touch /tmp/pwned').op(OP.TUPLE1, OP.REDUCE, OP.STOP);
    expect(() => load(p.bytes())).toThrow("unsupported pickle global 'os.system'; this file is not a plain tensor checkpoint");
    const stacked = new PickleBytes().op(OP.PROTO, 4).str('builtins').str('eval').op(OP.STACK_GLOBAL).str('1').op(OP.TUPLE1, OP.REDUCE, OP.STOP);
    expect(() => load(stacked.bytes())).toThrow(/unsupported pickle global 'builtins\.eval'/);
    // INST names a class and instantiates it in one go: refused, naming it.
    const inst = new PickleBytes().op(OP.PROTO, 2, OP.MARK).op(0x69).raw(text('subprocess\nPopen\n')).op(OP.STOP);
    expect(() => load(inst.bytes())).toThrow(/pickle INST of 'subprocess\.Popen' is not allowed/);
  });

  it('only calls allow-listed callables, and refuses calling data', () => {
    const p = new PickleBytes().op(OP.PROTO, 2).str('not callable').op(OP.EMPTY_TUPLE, OP.REDUCE, OP.STOP);
    expect(() => load(p.bytes())).toThrow(/cannot call a string/);
    const called: string[] = [];
    const custom = new PickleBytes().op(OP.PROTO, 2).global('x', 'f').int(4).op(OP.TUPLE1, OP.REDUCE, OP.STOP);
    const value = unpickle(custom.bytes(), {
      resolveGlobal: (module, name) => new PickleCallable(`${module}.${name}`, (args) => (called.push(String(args[0])), 'done')),
    });
    expect(value).toBe('done');
    expect(called).toEqual(['4']);
  });

  it('refuses unknown opcodes, truncation, underflow and oversized memos', () => {
    expect(() => load(Uint8Array.of(0x80, 2, 0xff, 0x2e))).toThrow('unknown pickle opcode 0xff (corrupt data, or not a pickle) (pickle byte 2)');
    expect(() => load(Uint8Array.of(0x80, 2, OP.EMPTY_DICT))).toThrow(/without a STOP opcode \(truncated\?\)/);
    expect(() => load(Uint8Array.of(0x80, 2, OP.BINUNICODE, 100, 0, 0, 0, 65))).toThrow(/pickle is truncated: needs 100 bytes/);
    expect(() => load(Uint8Array.of(0x80, 2, OP.SETITEM, 0x2e))).toThrow(/stack underflow/);
    expect(() => load(Uint8Array.of(0x80, 2, OP.BINGET, 9, 0x2e))).toThrow(/memo has no entry 9/);
    expect(() => load(Uint8Array.of(0x80, 9, OP.NONE, 0x2e))).toThrow(/pickle protocol 9 is newer/);
    const many = new PickleBytes().op(OP.PROTO, 2, OP.NONE);
    for (let i = 0; i < 20; i++) many.op(OP.BINPUT, i);
    many.op(OP.STOP);
    expect(() => unpickle(many.bytes(), { resolveGlobal: () => undefined, maxMemo: 10 })).toThrow(/memo exceeds 10 entries/);
    expect(() => unpickle(Uint8Array.of(OP.NONE, OP.NONE, OP.NONE, 0x2e), { resolveGlobal: () => undefined, maxStack: 2 })).toThrow(/stack exceeds 2 items/);
  });
});

describe('readTorchFile', () => {
  const A = tensor('float32', [3, 4], Array.from({ length: 12 }, (_, i) => i + 0.5));

  it('reads tensors of every dtype, 0-d scalars and Python values, flattening nested dicts', () => {
    const bytes = torchSave({
      'encoder.weight': A,
      half: tensor('float16', [2], [1.5, -2]),
      bf16: tensor('bfloat16', [2], [0.5, -3]),
      double: tensor('float64', [2], [0.125, 1e-3]),
      long: tensor('int64', [3], [8, 8, 2 ** 40]),
      int: tensor('int32', [], [8]),
      mask: tensor('bool', [2], [1, 0]),
      bytes: tensor('uint8', [2], [255, 7]),
      param: new TensorSpec(A.storage, [3, 4], [4, 1], 0, true),
      config: { lr: new PyFloat(1), name: 'sae', layers: [1, 2], shape: new PyTuple([3, 4]), nothing: null },
    });
    const values = readTorchFile(bytes);
    const t = (name: string) => values.get(name) as TorchTensor;
    expect(t('encoder.weight')).toMatchObject({ dtype: 'float32', shape: [3, 4] });
    expect(Array.from(t('encoder.weight').data)).toEqual(A.storage.values);
    expect(Array.from(t('half').data)).toEqual([1.5, -2]);
    expect(Array.from(t('bf16').data)).toEqual([0.5, -3]);
    expect(Array.from(t('double').data)).toEqual([0.125, Math.fround(1e-3)]);
    expect(Array.from(t('long').data)).toEqual([8, 8, 2 ** 40]);
    expect(t('int')).toMatchObject({ dtype: 'int32', shape: [] });
    expect(t('int').item()).toBe(8);
    expect(Array.from(t('mask').data)).toEqual([1, 0]);
    expect(Array.from(t('bytes').data)).toEqual([255, 7]);
    expect(Array.from(t('param').data)).toEqual(A.storage.values);
    expect(values.get('config.lr')).toBe(1);
    expect(values.get('config.name')).toBe('sae');
    expect(values.get('config.layers')).toEqual([1, 2]);
    expect(values.get('config.shape')).toEqual([3, 4]);
    expect(values.get('config.nothing')).toBeNull();
  });

  it('materialises views (a transpose, an offset slice) that share one storage', () => {
    const values = readTorchFile(
      torchSave({ A, At: view(A, [4, 3], [1, 4]), row1: view(A, [4], [1], 4), col2: view(A, [3], [4], 2), cube: view(A, [2, 2, 2], [4, 1, 2], 1) }),
    );
    const data = (name: string) => Array.from((values.get(name) as TorchTensor).data);
    const a = (r: number, c: number) => r * 4 + c + 0.5;
    expect(data('At')).toEqual([0, 1, 2, 3].flatMap((c) => [0, 1, 2].map((r) => a(r, c))));
    expect((values.get('At') as TorchTensor).shape).toEqual([4, 3]);
    expect(data('row1')).toEqual([0, 1, 2, 3].map((c) => a(1, c)));
    expect(data('col2')).toEqual([0, 1, 2].map((r) => a(r, 2)));
    // element [i, j, k] = storage[1 + 4i + j + 2k]
    expect(data('cube')).toEqual([0, 1].flatMap((i) => [0, 1].flatMap((j) => [0, 1].map((k) => 1 + 4 * i + j + 2 * k + 0.5))));
  });

  it('reads OrderedDict state dicts (BUILD of _metadata), other archive roots, deflate, zip64 and a prefix', () => {
    for (const options of [{ orderedDict: true }, { root: 'ae' }, { method: 'deflate' as const }, { zip64: true, prefix: text('{"a": 1}\n') }]) {
      const values = readTorchFile(torchSave({ W: A, k: tensor('int64', [], [32]) }, options));
      expect([...values.keys()]).toEqual(['W', 'k']);
      expect((values.get('k') as TorchTensor).item()).toBe(32);
    }
  });

  it('keeps the tree when asked for it', () => {
    const tree = readTorchTree(torchSave({ outer: { inner: A } })) as Map<string, unknown>;
    expect(tree.get('outer')).toBeInstanceOf(Map);
    expect((tree.get('outer') as Map<string, unknown>).get('inner')).toBeInstanceOf(TorchTensor);
  });

  it('refuses a checkpoint whose pickle calls os.system', () => {
    const pickle = new PickleBytes().op(OP.PROTO, 2).global('os', 'system').str('echo hi').op(OP.TUPLE1, OP.REDUCE, OP.STOP).bytes();
    const bytes = writeZip([{ name: 'archive/data.pkl', data: pickle }]);
    expect(() => readTorchFile(bytes, { label: 'evil.pt' })).toThrow(
      "unsupported pickle global 'os.system'; this file is not a plain tensor checkpoint (pickle byte 2)",
    );
  });

  it('refuses views outside their storage, missing storages and non-checkpoints', () => {
    expect(() => readTorchFile(torchSave({ bad: view(A, [4, 4], [4, 1]) }))).toThrow(
      "tensor on storage '0' of shape [4, 4] (offset 0, strides [4, 1]) reaches element 15, but the storage holds only 12 float32 values",
    );
    const withoutStorage = writeZip([{ name: 'archive/data.pkl', data: pickleOf(torchSave({ A })) }]);
    expect(() => readTorchFile(withoutStorage)).toThrow(/storage '0' is missing from the archive \(no archive\/data\/0\)/);
    expect(() => readTorchFile(writeZip([{ name: 'weights.bin', data: text('x') }]), { label: 'w.pt' })).toThrow(
      "w.pt is a zip but not a torch.save archive: expected one '<name>/data.pkl', found 0 (entries: weights.bin)",
    );
    expect(() => readTorchFile(Uint8Array.of(0x80, 2, 0x8a, 0x0a), { label: 'old.pt' })).toThrow(/old\.pt uses PyTorch's legacy \(pre-1\.6\) serialisation/);
    expect(() => readTorchFile(writeZip([{ name: 'archive/data.pkl', data: Uint8Array.of(0x80, 2, OP.NONE, 0x2e) }]))).toThrow(
      /holds a None, not a dict of tensors/,
    );
  });

  it('refuses a file that rebuilds one storage far more often than its size allows', () => {
    const big = tensor('float32', [65536], new Float32Array(65536));
    const views = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`v${i}`, view(big, [65536], [1])]));
    expect(() => readTorchFile(torchSave(views))).toThrow(/rebuilds more tensor data than a file of its size can hold/);
  });

  it('refuses a list that contains itself', () => {
    const p = new PickleBytes().op(OP.PROTO, 2, OP.EMPTY_DICT).str('loop').op(OP.EMPTY_LIST, OP.BINPUT, 0, OP.BINGET, 0, OP.APPEND, OP.SETITEM, OP.STOP);
    expect(() => readTorchFile(writeZip([{ name: 'archive/data.pkl', data: p.bytes() }]))).toThrow(/contains itself/);
  });
});

describe('float decoding', () => {
  it('decodes half and bfloat16 edge values', () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(halfToFloat(0x7e00)).toBeNaN();
    expect(bfloat16ToFloat(0x3f80)).toBe(1);
    expect(bfloat16ToFloat(0xc040)).toBe(-3);
  });
});

function pickleOf(torchFile: Uint8Array): Uint8Array {
  return openZip(torchFile).read('archive/data.pkl');
}

function lastIndexOf(bytes: Uint8Array, pattern: number[]): number {
  for (let i = bytes.length - pattern.length; i >= 0; i--) if (pattern.every((b, j) => bytes[i + j] === b)) return i;
  return -1;
}
