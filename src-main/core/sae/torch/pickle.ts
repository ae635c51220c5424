// A data-only unpickler for the subset of Python's pickle format that torch.save writes for
// state dicts (protocol 2, plus the newer opcodes protocols 3-5 may emit for the same data).
//
// Python's unpickler can import any module and call any callable the file names, which is
// why loading an untrusted .pt with plain `torch.load` runs arbitrary code. This one never
// executes anything: GLOBAL / STACK_GLOBAL only resolve through `resolveGlobal`, which maps an
// allow-list of names to pure JavaScript data constructors, and every other name is refused
// with an error that names it. REDUCE / NEWOBJ can only call what that allow-list returned.
//
// Bounded: every opcode consumes at least one byte of a finite buffer, so the loop ends; the
// stack, memo and string/integer sizes are capped so a corrupt file cannot exhaust memory.

/** A Python value as plain data. Lists are arrays; tuples are frozen arrays. */
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | PickleDict
  | PickleCallable
  | PickleObject;

/** A Python dict; `attributes` holds state set by BUILD (OrderedDict's `_metadata`, for one). */
export class PickleDict {
  readonly items = new Map<unknown, PickleValue>();
  attributes: PickleValue = null;
}

/** An allow-listed global: calling it builds a value from its arguments, nothing more. */
export class PickleCallable {
  constructor(
    readonly qualifiedName: string,
    readonly call: (args: readonly PickleValue[]) => PickleValue,
  ) {}
}

/**
 * Base for values the allow-list builds (tensors, storages, dtypes). BUILD on one of these
 * calls `setState`, which by default refuses: only types that expect state accept it.
 */
export class PickleObject {
  setState(_state: PickleValue): void {
    throw new Error(`pickle BUILD on ${this.constructor.name} is not supported`);
  }
}

export interface UnpickleOptions {
  /** Map `module.name` to a data constructor, or return undefined to refuse it. */
  resolveGlobal(module: string, name: string): PickleCallable | PickleValue | undefined;
  /** torch stores tensor data out of band; it names each storage with a persistent id. */
  persistentLoad?(pid: PickleValue): PickleValue;
  /** Appended to refusal messages, e.g. "this file is not a plain tensor checkpoint". */
  refusalHint?: string;
  maxStack?: number;
  maxMemo?: number;
}

const DEFAULT_MAX_STACK = 1_000_000;
const DEFAULT_MAX_MEMO = 1_000_000;
/** Python ints in checkpoints are small; a longer LONG is corruption, not data. */
const MAX_LONG_BYTES = 64;
const HIGHEST_PROTOCOL = 5;

const MARK = Symbol('mark');
type StackItem = PickleValue | typeof MARK;

/** Unpickle `bytes` (exactly one pickle, ending in STOP) into plain data. */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): PickleValue {
  return new Unpickler(bytes, options).run();
}

class Unpickler {
  private pos = 0;
  private readonly view: DataView;
  private readonly stack: StackItem[] = [];
  private readonly memo = new Map<number, PickleValue>();
  private readonly maxStack: number;
  private readonly maxMemo: number;
  private readonly hint: string;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly options: UnpickleOptions,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.maxStack = options.maxStack ?? DEFAULT_MAX_STACK;
    this.maxMemo = options.maxMemo ?? DEFAULT_MAX_MEMO;
    this.hint = options.refusalHint ? `; ${options.refusalHint}` : '';
  }

  run(): PickleValue {
    while (this.pos < this.bytes.length) {
      const at = this.pos;
      const op = this.bytes[this.pos++]!;
      if (op === 0x2e /* STOP '.' */) {
        const value = this.pop();
        if (this.stack.length !== 0) this.fail(at, `STOP with ${this.stack.length} items left on the stack`);
        return value;
      }
      this.step(op, at);
      if (this.stack.length > this.maxStack) this.fail(at, `stack exceeds ${this.maxStack} items`);
    }
    throw new Error(`pickle ended at byte ${this.bytes.length} without a STOP opcode (truncated?)`);
  }

  private step(op: number, at: number): void {
    switch (op) {
      // --- framing and protocol ---
      case 0x80: { // PROTO
        const protocol = this.u8();
        if (protocol > HIGHEST_PROTOCOL) this.fail(at, `pickle protocol ${protocol} is newer than this reader knows (up to ${HIGHEST_PROTOCOL})`);
        return;
      }
      case 0x95: // FRAME: a length hint only; the framed opcodes follow inline.
        this.take(8);
        return;
      case 0x28: return this.push(MARK); // MARK '('
      case 0x30: this.pop(); return; // POP '0'
      case 0x31: this.popMark(at); return; // POP_MARK '1'
      case 0x32: return this.push(this.peek(at)); // DUP '2'

      // --- constants and numbers ---
      case 0x4e: return this.push(null); // NONE 'N'
      case 0x88: return this.push(true); // NEWTRUE
      case 0x89: return this.push(false); // NEWFALSE
      case 0x4b: return this.push(this.u8()); // BININT1 'K'
      case 0x4d: return this.push(this.u16()); // BININT2 'M'
      case 0x4a: return this.push(this.i32()); // BININT 'J'
      case 0x8a: return this.push(this.long(this.u8(), at)); // LONG1
      case 0x8b: return this.push(this.long(this.u32(), at)); // LONG4
      case 0x47: { // BINFLOAT 'G': big-endian double
        const value = this.view.getFloat64(this.need(8), false);
        this.pos += 8;
        return this.push(value);
      }
      case 0x49: return this.push(this.textInt(this.line(), at)); // INT 'I'
      case 0x4c: return this.push(this.textInt(this.line().replace(/L$/, ''), at)); // LONG 'L'
      case 0x46: { // FLOAT 'F'
        const text = this.line();
        const value = Number(text);
        if (text.trim() === '' || (Number.isNaN(value) && !/nan/i.test(text))) this.fail(at, `FLOAT '${text}' is not a number`);
        return this.push(value);
      }

      // --- strings and bytes ---
      case 0x58: return this.push(this.utf8(this.u32())); // BINUNICODE 'X'
      case 0x8c: return this.push(this.utf8(this.u8())); // SHORT_BINUNICODE
      case 0x8d: return this.push(this.utf8(this.u64(at))); // BINUNICODE8
      case 0x54: return this.push(this.latin1(this.i32NonNegative(at))); // BINSTRING 'T' (Python 2 str)
      case 0x55: return this.push(this.latin1(this.u8())); // SHORT_BINSTRING 'U'
      case 0x42: return this.push(new Uint8Array(this.take(this.u32()))); // BINBYTES 'B'
      case 0x43: return this.push(new Uint8Array(this.take(this.u8()))); // SHORT_BINBYTES 'C'
      case 0x8e: return this.push(new Uint8Array(this.take(this.u64(at)))); // BINBYTES8
      case 0x96: return this.push(new Uint8Array(this.take(this.u64(at)))); // BYTEARRAY8
      case 0x53: return this.push(this.quotedString(this.line(), at)); // STRING 'S'
      case 0x56: return this.push(this.line()); // UNICODE 'V' (raw-unicode-escape; ASCII in practice)

      // --- containers ---
      case 0x5d: return this.push([]); // EMPTY_LIST ']'
      case 0x29: return this.push(tuple([])); // EMPTY_TUPLE ')'
      case 0x7d: return this.push(new PickleDict()); // EMPTY_DICT '}'
      case 0x8f: return this.push([]); // EMPTY_SET (kept as a list: no set semantics needed)
      case 0x6c: return this.push(this.popMark(at)); // LIST 'l'
      case 0x74: return this.push(tuple(this.popMark(at))); // TUPLE 't'
      case 0x85: return this.push(tuple(this.popN(1))); // TUPLE1
      case 0x86: return this.push(tuple(this.popN(2))); // TUPLE2
      case 0x87: return this.push(tuple(this.popN(3))); // TUPLE3
      case 0x91: return this.push(tuple(this.popMark(at))); // FROZENSET
      case 0x64: { // DICT 'd'
        const dict = new PickleDict();
        this.setItems(dict, this.popMark(at), at);
        return this.push(dict);
      }
      case 0x61: { // APPEND 'a'
        const value = this.pop();
        this.list(this.peek(at), at).push(value);
        return;
      }
      case 0x65: case 0x90: { // APPENDS 'e', ADDITEMS
        const values = this.popMark(at);
        const list = this.list(this.peek(at), at);
        for (const value of values) list.push(value);
        return;
      }
      case 0x73: { // SETITEM 's'
        const value = this.pop();
        const key = this.pop();
        this.setItems(this.dict(this.peek(at), at), [key, value], at);
        return;
      }
      case 0x75: { // SETITEMS 'u'
        const pairs = this.popMark(at);
        this.setItems(this.dict(this.peek(at), at), pairs, at);
        return;
      }

      // --- memo ---
      case 0x71: return this.put(this.u8(), at); // BINPUT 'q'
      case 0x72: return this.put(this.u32(), at); // LONG_BINPUT 'r'
      case 0x70: return this.put(this.textIndex(at), at); // PUT 'p'
      case 0x94: return this.put(this.memo.size, at); // MEMOIZE
      case 0x68: return this.push(this.get(this.u8(), at)); // BINGET 'h'
      case 0x6a: return this.push(this.get(this.u32(), at)); // LONG_BINGET 'j'
      case 0x67: return this.push(this.get(this.textIndex(at), at)); // GET 'g'

      // --- globals, calls and persistent ids ---
      case 0x63: { // GLOBAL 'c': "module\nname\n"
        const module = this.line();
        return this.push(this.resolve(module, this.line(), at));
      }
      case 0x93: { // STACK_GLOBAL
        const name = this.pop();
        const module = this.pop();
        if (typeof module !== 'string' || typeof name !== 'string') this.fail(at, 'STACK_GLOBAL needs two strings');
        return this.push(this.resolve(module as string, name as string, at));
      }
      case 0x52: { // REDUCE 'R': callable(*args)
        const args = this.pop();
        const callable = this.pop();
        return this.push(this.call(callable, args, at));
      }
      case 0x81: { // NEWOBJ: cls.__new__(cls, *args); for allow-listed classes, the same as calling them.
        const args = this.pop();
        const cls = this.pop();
        return this.push(this.call(cls, args, at));
      }
      case 0x62: { // BUILD 'b': obj.__setstate__(state)
        const state = this.pop();
        const target = this.peek(at);
        if (target instanceof PickleDict) target.attributes = state;
        else if (target instanceof PickleObject) this.guard(at, () => target.setState(state));
        else this.fail(at, `BUILD on a ${describeValue(target)} is not supported${this.hint}`);
        return;
      }
      case 0x51: { // BINPERSID 'Q'
        const pid = this.pop();
        return this.push(this.persistent(pid, at));
      }
      case 0x50: return this.push(this.persistent(this.line(), at)); // PERSID 'P'

      // Opcodes that build arbitrary objects or need the out-of-band machinery: no plain
      // tensor checkpoint uses them.
      case 0x69: // INST 'i'
        this.fail(at, `pickle INST of '${this.line()}.${this.line()}' is not allowed${this.hint}`);
        return;
      case 0x6f: this.fail(at, `pickle OBJ opcode is not allowed${this.hint}`); return;
      case 0x92: this.fail(at, `pickle NEWOBJ_EX opcode is not allowed${this.hint}`); return;
      case 0x82: case 0x83: case 0x84: this.fail(at, `pickle extension-registry opcodes (EXT1/2/4) are not supported${this.hint}`); return;
      case 0x97: case 0x98: this.fail(at, `pickle out-of-band buffers are not supported${this.hint}`); return;
      default:
        this.fail(at, `unknown pickle opcode 0x${op.toString(16).padStart(2, '0')} (corrupt data, or not a pickle)`);
    }
  }

  // --- stack helpers ---

  private push(value: StackItem): void {
    this.stack.push(value);
  }

  private pop(): PickleValue {
    const value = this.stack.pop();
    if (value === undefined) throw new Error(`pickle stack underflow at byte ${this.pos - 1} (corrupt data)`);
    if (value === MARK) throw new Error(`pickle opcode at byte ${this.pos - 1} found a MARK where a value was expected (corrupt data)`);
    return value;
  }

  private peek(at: number): PickleValue {
    const value = this.stack[this.stack.length - 1];
    if (value === undefined || value === MARK) this.fail(at, 'expected a value on the stack');
    return value as PickleValue;
  }

  private popN(n: number): PickleValue[] {
    const out = new Array<PickleValue>(n);
    for (let i = n - 1; i >= 0; i--) out[i] = this.pop();
    return out;
  }

  /** Pop everything above the topmost MARK, and the MARK. */
  private popMark(at: number): PickleValue[] {
    const mark = this.stack.lastIndexOf(MARK);
    if (mark < 0) this.fail(at, 'no MARK on the stack');
    const items = this.stack.splice(mark) as StackItem[];
    items.shift();
    return items as PickleValue[];
  }

  private list(target: PickleValue, at: number): PickleValue[] {
    if (!Array.isArray(target) || Object.isFrozen(target)) this.fail(at, `APPEND to a ${describeValue(target)}`);
    return target as PickleValue[];
  }

  private dict(target: PickleValue, at: number): PickleDict {
    if (!(target instanceof PickleDict)) this.fail(at, `SETITEM on a ${describeValue(target)}`);
    return target as PickleDict;
  }

  private setItems(dict: PickleDict, pairs: PickleValue[], at: number): void {
    if (pairs.length % 2 !== 0) this.fail(at, 'odd number of items for a dict');
    for (let i = 0; i < pairs.length; i += 2) dict.items.set(pairs[i], pairs[i + 1]!);
  }

  private put(index: number, at: number): void {
    if (!this.memo.has(index) && this.memo.size >= this.maxMemo) this.fail(at, `memo exceeds ${this.maxMemo} entries`);
    this.memo.set(index, this.peek(at));
  }

  private get(index: number, at: number): PickleValue {
    if (!this.memo.has(index)) this.fail(at, `memo has no entry ${index}`);
    return this.memo.get(index)!;
  }

  // --- calls ---

  private resolve(module: string, name: string, at: number): PickleValue {
    const resolved = this.options.resolveGlobal(module, name);
    if (resolved === undefined) this.fail(at, `unsupported pickle global '${module}.${name}'${this.hint}`);
    return resolved as PickleValue;
  }

  private call(callable: PickleValue, args: PickleValue, at: number): PickleValue {
    if (!(callable instanceof PickleCallable)) this.fail(at, `cannot call a ${describeValue(callable)}${this.hint}`);
    if (!Array.isArray(args)) this.fail(at, `arguments of ${(callable as PickleCallable).qualifiedName} are a ${describeValue(args)}, not a tuple`);
    const fn = callable as PickleCallable;
    return this.guard(at, () => fn.call(args as PickleValue[]), fn.qualifiedName);
  }

  private persistent(pid: PickleValue, at: number): PickleValue {
    const load = this.options.persistentLoad;
    if (!load) this.fail(at, `persistent id found but this pickle should have none${this.hint}`);
    return this.guard(at, () => load!(pid));
  }

  /** Run a constructor, prefixing its errors with where in the pickle it was called. */
  private guard<T>(at: number, fn: () => T, what?: string): T {
    try {
      return fn();
    } catch (error) {
      this.fail(at, `${what ? `${what}: ` : ''}${(error as Error).message}`);
      throw error; // unreachable: fail throws
    }
  }

  // --- byte readers (all bounds-checked) ---

  /** Position of `n` readable bytes, or a truncation error. */
  private need(n: number): number {
    if (n < 0 || this.pos + n > this.bytes.length) {
      throw new Error(`pickle is truncated: needs ${n} bytes at byte ${this.pos}, has ${this.bytes.length - this.pos}`);
    }
    return this.pos;
  }

  private take(n: number): Uint8Array {
    const start = this.need(n);
    this.pos += n;
    return this.bytes.subarray(start, start + n);
  }

  private u8(): number {
    const value = this.bytes[this.need(1)]!;
    this.pos += 1;
    return value;
  }

  private u16(): number {
    const value = this.view.getUint16(this.need(2), true);
    this.pos += 2;
    return value;
  }

  private u32(): number {
    const value = this.view.getUint32(this.need(4), true);
    this.pos += 4;
    return value;
  }

  private i32(): number {
    const value = this.view.getInt32(this.need(4), true);
    this.pos += 4;
    return value;
  }

  private i32NonNegative(at: number): number {
    const value = this.i32();
    if (value < 0) this.fail(at, `negative length ${value}`);
    return value;
  }

  private u64(at: number): number {
    const value = this.view.getBigUint64(this.need(8), true);
    this.pos += 8;
    // Any length beyond the buffer fails in take(); this only keeps Number() exact.
    if (value > BigInt(this.bytes.length)) this.fail(at, `length ${value} exceeds the pickle's size`);
    return Number(value);
  }

  private utf8(n: number): string {
    return new TextDecoder('utf-8').decode(this.take(n));
  }

  private latin1(n: number): string {
    return new TextDecoder('latin1').decode(this.take(n));
  }

  /** Text-protocol argument: bytes up to the next newline. */
  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) throw new Error(`pickle is truncated: a text argument at byte ${this.pos} has no newline`);
    const text = new TextDecoder('latin1').decode(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return text;
  }

  private long(n: number, at: number): number | bigint {
    if (n > MAX_LONG_BYTES) this.fail(at, `a ${n}-byte integer is too long for a checkpoint`);
    const bytes = this.take(n);
    let value = 0n;
    for (let i = n - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
    if (n > 0 && bytes[n - 1]! & 0x80) value -= 1n << BigInt(8 * n); // two's complement
    return toNumberIfSafe(value);
  }

  private textInt(text: string, at: number): number | bigint | boolean {
    // Protocol 0 spells booleans as INT "01" / "00".
    if (text === '01') return true;
    if (text === '00') return false;
    if (!/^[+-]?\d{1,200}$/.test(text)) this.fail(at, `'${text}' is not an integer`);
    return toNumberIfSafe(BigInt(text));
  }

  private textIndex(at: number): number {
    const text = this.line();
    if (!/^\d{1,10}$/.test(text)) this.fail(at, `memo index '${text}' is not a number`);
    return Number(text);
  }

  private quotedString(text: string, at: number): string {
    const match = /^(['"])(.*)\1$/s.exec(text);
    if (!match) this.fail(at, `STRING argument ${JSON.stringify(text)} is not quoted`);
    // Escapes beyond \\ and \' are not worth supporting: torch never writes protocol 0 strings.
    return match![2]!.replace(/\\(['"\\])/g, '$1');
  }

  private fail(at: number, message: string): never {
    throw new Error(`${message} (pickle byte ${at})`);
  }
}

/** Tuples are frozen arrays, so APPEND to one is refused like Python refuses it. */
function tuple(items: PickleValue[]): PickleValue[] {
  return Object.freeze(items) as PickleValue[];
}

function toNumberIfSafe(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

/** A short description of a value's Python-ish type for error messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'None';
  if (Array.isArray(value)) return Object.isFrozen(value) ? 'tuple' : 'list';
  if (value instanceof Uint8Array) return 'bytes';
  if (value instanceof PickleDict) return 'dict';
  if (value instanceof PickleCallable) return `global ${value.qualifiedName}`;
  if (value instanceof PickleObject) return value.constructor.name;
  return typeof value === 'bigint' ? 'int' : typeof value;
}
