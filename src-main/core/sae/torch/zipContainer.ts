// Minimal read-only zip reader for torch.save archives. torch.save writes a plain zip (usually
// with stored entries); saev writes one JSON header line *before* it, so every offset recorded
// in the archive is short by the header's length. We therefore locate the end-of-central-
// directory record from the end of the buffer and derive that "prefix shift" from where the
// central directory really is, instead of trusting the recorded offsets.
//
// Everything read from the file is bounds-checked: a truncated or corrupt archive must end in
// a thrown Error that says what is wrong, never in a hang, a crash or silently wrong bytes.
//
// Deflated entries are inflated in bounded steps into a buffer of their recorded size, and the
// recorded sizes themselves are checked against the archive before anything is allocated: a
// few megabytes of deflate can expand a thousandfold, so trusting "inflate to completion" lets
// a small hostile file take gigabytes of memory (a zip bomb).
import { inflateRawSync } from 'node:zlib';

const EOCD_SIGNATURE = 0x06054b50;
const EOCD_SIZE = 22;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_LOCATOR_SIZE = 20;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const ZIP64_EOCD_MIN_SIZE = 56;
const CENTRAL_SIGNATURE = 0x02014b50;
const CENTRAL_SIZE = 46;
const LOCAL_SIGNATURE = 0x04034b50;
const LOCAL_SIZE = 30;
const ZIP64_EXTRA_ID = 0x0001;
/** The EOCD comment is at most 65535 bytes, so the record starts within this of the end. */
const MAX_EOCD_SEARCH = EOCD_SIZE + 0xffff;

/** Deflate cannot do better than ~1032:1 (a 258-byte match in under 2 bits); more is a lie. */
const DEFLATE_MAX_RATIO = 1032;
/**
 * Inflated bytes the whole archive may produce: this floor plus this many times the archive's
 * own size. torch.save stores entries uncompressed; a re-zipped checkpoint of float weights
 * inflates about 1.1x, so these leave ample room while refusing bombs before they allocate.
 */
const INFLATE_BUDGET_FLOOR = 64 * 2 ** 20;
const INFLATE_BUDGET_FACTOR = 32;

const ZIP_METHOD_STORED = 0;
const ZIP_METHOD_DEFLATED = 8;

export interface ZipEntry {
  name: string;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  /** Offset of the local header in the buffer (prefix shift already applied). */
  localHeaderOffset: number;
}

export interface ZipOptions {
  /** Names the archive in error messages (a path, usually). */
  label?: string;
  /** Check each entry's CRC-32 when reading it (default true): catches bit rot in tensor data. */
  verifyCrc?: boolean;
}

export interface ZipArchive {
  /** Bytes before the archive proper (saev's JSON header line, for instance). */
  readonly prefixLength: number;
  readonly entries: readonly ZipEntry[];
  has(name: string): boolean;
  /** The entry's uncompressed bytes; stored entries are views into the input buffer. */
  read(name: string, options?: ReadEntryOptions): Uint8Array;
}

export interface ReadEntryOptions {
  /** Refuse the entry if its recorded uncompressed size exceeds this (e.g. a pickle). */
  maxBytes?: number;
  /** What the entry is, for that refusal ('the pickle'). */
  what?: string;
}

/** Parse the central directory of a zip archive held in `buffer`, possibly preceded by other bytes. */
export function openZip(buffer: Uint8Array, options: ZipOptions = {}): ZipArchive {
  const label = options.label ?? 'zip archive';
  const verifyCrc = options.verifyCrc ?? true;
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const fail = (what: string): never => {
    throw new Error(`${label} is not a readable zip archive: ${what}`);
  };

  const eocd = findEndOfCentralDirectory(view) ?? fail('no end-of-central-directory record (the file is truncated or not a zip)');
  let entryCount = view.getUint16(eocd + 10, true);
  let cdSize = view.getUint32(eocd + 12, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  // Where the central directory really ends: right before the (zip64) end record.
  let cdEnd = eocd;

  const locator = eocd - ZIP64_LOCATOR_SIZE;
  if (locator >= 0 && view.getUint32(locator, true) === ZIP64_LOCATOR_SIGNATURE) {
    const zip64 = findZip64Record(view, locator) ?? fail('a zip64 locator points at no zip64 end-of-central-directory record');
    entryCount = readUint64(view, zip64 + 32, fail);
    cdSize = readUint64(view, zip64 + 40, fail);
    cdOffset = readUint64(view, zip64 + 48, fail);
    cdEnd = zip64;
  }

  const cdStart = cdEnd - cdSize;
  if (cdStart < 0) fail(`the central directory claims ${cdSize} bytes but only ${cdEnd} precede its end record`);
  const prefixLength = cdStart - cdOffset;
  if (prefixLength < 0) fail(`the central directory is recorded at byte ${cdOffset} but ends before it (truncated at the start?)`);
  // Every central entry takes at least 46 bytes: a count beyond that is corrupt, and refusing it
  // keeps a bogus count from driving a long loop.
  if (entryCount > cdSize / CENTRAL_SIZE) fail(`${entryCount} entries cannot fit in a ${cdSize}-byte central directory`);

  const entries: ZipEntry[] = [];
  const byName = new Map<string, ZipEntry>();
  let p = cdStart;
  for (let i = 0; i < entryCount; i++) {
    if (p + CENTRAL_SIZE > cdEnd || view.getUint32(p, true) !== CENTRAL_SIGNATURE) fail(`central directory entry ${i} is damaged`);
    const nameLength = view.getUint16(p + 28, true);
    const extraLength = view.getUint16(p + 30, true);
    const commentLength = view.getUint16(p + 32, true);
    const next = p + CENTRAL_SIZE + nameLength + extraLength + commentLength;
    if (next > cdEnd) fail(`central directory entry ${i} runs past the directory`);
    const name = new TextDecoder().decode(buffer.subarray(p + CENTRAL_SIZE, p + CENTRAL_SIZE + nameLength));
    let compressedSize = view.getUint32(p + 20, true);
    let uncompressedSize = view.getUint32(p + 24, true);
    let localOffset = view.getUint32(p + 42, true);
    // Values that did not fit in 32 bits are 0xFFFFFFFF here and live in the zip64 extra field,
    // in this order, only for the ones that overflowed.
    if (compressedSize === 0xffffffff || uncompressedSize === 0xffffffff || localOffset === 0xffffffff) {
      const extra = findExtraField(view, p + CENTRAL_SIZE + nameLength, extraLength, ZIP64_EXTRA_ID) ??
        fail(`entry '${name}' needs a zip64 extra field but has none`);
      let q = extra.start;
      const take = (): number => {
        if (q + 8 > extra.end) fail(`entry '${name}' has a short zip64 extra field`);
        const value = readUint64(view, q, fail);
        q += 8;
        return value;
      };
      if (uncompressedSize === 0xffffffff) uncompressedSize = take();
      if (compressedSize === 0xffffffff) compressedSize = take();
      if (localOffset === 0xffffffff) localOffset = take();
    }
    const entry: ZipEntry = {
      name,
      method: view.getUint16(p + 10, true),
      crc32: view.getUint32(p + 16, true),
      compressedSize,
      uncompressedSize,
      localHeaderOffset: localOffset + prefixLength,
    };
    if (byName.has(name)) fail(`entry '${name}' appears twice`);
    entries.push(entry);
    byName.set(name, entry);
    p = next;
  }

  const budget = { bytesLeft: INFLATE_BUDGET_FLOOR + INFLATE_BUDGET_FACTOR * buffer.length };
  return {
    prefixLength,
    entries,
    has: (name) => byName.has(name),
    read(name, readOptions = {}) {
      const entry = byName.get(name);
      if (!entry) throw new Error(`${label} has no entry '${name}'`);
      if (readOptions.maxBytes !== undefined && entry.uncompressedSize > readOptions.maxBytes) {
        fail(`${readOptions.what ?? `'${name}'`} is recorded as ${formatSize(entry.uncompressedSize)}; more than ${formatSize(readOptions.maxBytes)} is refused`);
      }
      return readEntry(buffer, view, entry, verifyCrc, fail, budget);
    },
  };
}

function formatSize(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  return `${bytes} bytes`;
}

/**
 * Inflates `raw`, which must come to exactly `expected` bytes. zlib's maxOutputLength stops the
 * inflater as soon as its output passes `expected` (native, so a bomb is cut off in
 * milliseconds) instead of letting it run to the end of the stream.
 */
function inflateBounded(raw: Uint8Array, expected: number, name: string, fail: (what: string) => never): Uint8Array {
  let bytes: Uint8Array;
  try {
    const inflated = inflateRawSync(raw, { maxOutputLength: Math.max(1, expected) });
    // A plain Uint8Array view, as stored entries are: callers compare and slice them alike.
    bytes = new Uint8Array(inflated.buffer, inflated.byteOffset, inflated.byteLength);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') fail(`'${name}' inflates past the ${expected} bytes recorded for it`);
    fail(`the deflated data of '${name}' is corrupt (${(error as Error).message})`);
  }
  if (bytes.length !== expected) fail(`'${name}' inflates to ${bytes.length} bytes, but ${expected} were recorded`);
  return bytes;
}

function readEntry(
  buffer: Uint8Array,
  view: DataView,
  entry: ZipEntry,
  verifyCrc: boolean,
  fail: (what: string) => never,
  budget: { bytesLeft: number },
): Uint8Array {
  const at = entry.localHeaderOffset;
  if (at + LOCAL_SIZE > buffer.length || view.getUint32(at, true) !== LOCAL_SIGNATURE) {
    fail(`the local header of '${entry.name}' is missing or damaged`);
  }
  // The local name/extra lengths may differ from the central ones (torch pads the local extra
  // field so that tensor data is 64-byte aligned), so the data start comes from the local header.
  const dataStart = at + LOCAL_SIZE + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
  const dataEnd = dataStart + entry.compressedSize;
  if (dataEnd > buffer.length) fail(`the data of '${entry.name}' runs past the end of the file (truncated?)`);
  const raw = buffer.subarray(dataStart, dataEnd);

  let bytes: Uint8Array;
  if (entry.method === ZIP_METHOD_STORED) {
    if (entry.compressedSize !== entry.uncompressedSize) fail(`stored entry '${entry.name}' has different packed and unpacked sizes`);
    bytes = raw;
  } else if (entry.method === ZIP_METHOD_DEFLATED) {
    // Sizes are checked before the output buffer is allocated.
    const size = entry.uncompressedSize;
    if (size > DEFLATE_MAX_RATIO * raw.length + 64) {
      fail(`'${entry.name}' is recorded as ${formatSize(size)} from ${raw.length} deflated bytes, more than deflate can produce`);
    }
    if (size > budget.bytesLeft) {
      fail(
        `'${entry.name}' is recorded as inflating to ${formatSize(size)} from ${formatSize(raw.length)}; an archive of ` +
          `${formatSize(buffer.length)} may inflate to at most ${formatSize(INFLATE_BUDGET_FLOOR)} + ${INFLATE_BUDGET_FACTOR}x its size (a zip bomb?)`,
      );
    }
    budget.bytesLeft -= size;
    bytes = inflateBounded(raw, size, entry.name, fail);
  } else {
    fail(`entry '${entry.name}' uses compression method ${entry.method}; only stored (0) and deflate (8) are supported`);
  }
  if (verifyCrc && crc32(bytes!) !== entry.crc32) fail(`the CRC-32 of '${entry.name}' does not match its data (the file is corrupt)`);
  return bytes!;
}

/** Offset of the end-of-central-directory record, scanning back over a possible comment. */
function findEndOfCentralDirectory(view: DataView): number | null {
  const last = view.byteLength - EOCD_SIZE;
  const first = Math.max(0, view.byteLength - MAX_EOCD_SEARCH);
  for (let p = last; p >= first; p--) {
    // The comment length must account exactly for the rest of the file: this rejects the
    // signature bytes turning up by chance inside the comment or tensor data.
    if (view.getUint32(p, true) === EOCD_SIGNATURE && p + EOCD_SIZE + view.getUint16(p + 20, true) === view.byteLength) return p;
  }
  return null;
}

/**
 * The zip64 end record normally sits right before its locator; the locator's own offset is
 * relative to the archive start and so is off by the prefix length, hence it is only a fallback.
 */
function findZip64Record(view: DataView, locator: number): number | null {
  const adjacent = locator - ZIP64_EOCD_MIN_SIZE;
  if (adjacent >= 0 && view.getUint32(adjacent, true) === ZIP64_EOCD_SIGNATURE) return adjacent;
  const recorded = view.getBigUint64(locator + 8, true);
  if (recorded + BigInt(ZIP64_EOCD_MIN_SIZE) <= BigInt(locator)) {
    const at = Number(recorded);
    if (view.getUint32(at, true) === ZIP64_EOCD_SIGNATURE) return at;
  }
  return null;
}

function findExtraField(view: DataView, start: number, length: number, id: number): { start: number; end: number } | null {
  const end = start + length;
  let p = start;
  while (p + 4 <= end) {
    const size = view.getUint16(p + 2, true);
    if (view.getUint16(p, true) === id) return { start: p + 4, end: Math.min(end, p + 4 + size) };
    p += 4 + size;
  }
  return null;
}

function readUint64(view: DataView, at: number, fail: (what: string) => never): number {
  const value = view.getBigUint64(at, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) fail(`a 64-bit size or offset (${value}) is implausibly large`);
  return Number(value);
}

let crcTable: Uint32Array | null = null;

/** CRC-32 (IEEE, as zip uses). */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  const table = crcTable;
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = table[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
