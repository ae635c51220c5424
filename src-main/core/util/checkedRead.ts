// Every file the studio reads on a user's say-so goes through here first. A path can name
// something that is not a file at all: /dev/zero never ends (a reader that trusts "read to EOF"
// grows until the machine runs out of memory), a FIFO blocks the reading thread forever, a
// directory or socket fails with an unhelpful errno. And a real file can simply be far larger
// than anything the studio should hold in memory. So each read:
//   1. stats the path (following links) and refuses anything that is not a regular file, or is
//      larger than the limit for its kind;
//   2. opens it with O_NONBLOCK, so that if the path was swapped for a FIFO after the stat the
//      open cannot block, then fstats the open descriptor and refuses it unless it is the same
//      regular file within the limit (this closes the gap between the stat and the open);
//   3. reads at most the size fstat reported, so a file that grows while being read (or a
//      device that lies about its size) cannot push past the limit.
// The refusal is one line naming the file and what is wrong with it.
import fs from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { StudioError } from '../errors.js';

export type FileKind = 'image' | 'queryImage' | 'checkpoint' | 'json' | 'manifest' | 'onnx' | 'tags' | 'shardMeta' | 'labels' | 'video';

const MB = 1e6;
const GB = 1e9;

/**
 * Largest file of each kind the studio will read, in bytes. Decimal units, because that is how
 * they are stated to users (README "File limits"); each leaves room far above real files.
 */
export const FILE_LIMITS: Readonly<Record<FileKind, number>> = {
  /** Dataset images: a 100-megapixel PNG is ~300 MB, and sharp refuses larger pixel counts anyway. */
  image: 512 * MB,
  /** Images sent to the patch query (the web host's upload limit matches). */
  queryImage: 64 * MB,
  /** SAE checkpoints (.pt, .safetensors): a 1M-latent ViT-L SAE in float32 is ~8 GB. */
  checkpoint: 8 * GB,
  /** Small JSON sidecars (cfg.json, config.json, scaler files). */
  json: 16 * MB,
  /** Backbone manifests. */
  manifest: 16 * MB,
  /** ONNX models: protobuf cannot hold more than 2 GB; bigger models keep weights in external data files. */
  onnx: 2 * GB,
  /** Tag files (CSV / JSON) to import. */
  tags: 64 * MB,
  /** saev shard metadata (metadata.json, shards.json). */
  shardMeta: 16 * MB,
  /** Dataset labels: SSv2's train.json is ~30 MB; saev's per-patch labels.bin for ImageNet ~250 MB. */
  labels: 1 * GB,
  /** Video files handed to ffmpeg (which would wait forever on a FIFO): a long 4K recording is tens of GB. */
  video: 64 * GB,
};

/** What each kind is called in messages: "<noun> <path> is …; <plural> above N are refused". */
const NOUNS: Record<FileKind, [string, string]> = {
  image: ['image', 'images'],
  queryImage: ['query image', 'query images'],
  checkpoint: ['checkpoint', 'checkpoints'],
  json: ['JSON file', 'JSON files'],
  manifest: ['backbone manifest', 'manifests'],
  onnx: ['ONNX model', 'ONNX models'],
  tags: ['tag file', 'tag files'],
  shardMeta: ['shard metadata file', 'shard metadata files'],
  labels: ['label file', 'label files'],
  video: ['video', 'videos'],
};

/** A refused file: not a regular file, or too large for its kind. One line, naming the file. */
export class UnsafeFileError extends StudioError {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super('bad-input', message);
    this.name = 'UnsafeFileError';
  }
}

/** "9.1 GB", "512 MB", "12 kB": for messages only. */
export function formatBytes(bytes: number): string {
  const units: Array<[number, string]> = [
    [GB, 'GB'],
    [MB, 'MB'],
    [1e3, 'kB'],
  ];
  for (const [size, unit] of units) {
    if (bytes >= size) {
      const v = bytes / size;
      return `${v >= 100 ? v.toFixed(0) : v.toFixed(1).replace(/\.0$/, '')} ${unit}`;
    }
  }
  return `${bytes} bytes`;
}

function describeType(stat: fs.Stats): string | null {
  if (stat.isFile()) return null;
  if (stat.isFIFO()) return 'a FIFO (named pipe)';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  if (stat.isDirectory()) return 'a folder';
  return 'not an ordinary file';
}

function refuseStat(file: string, kind: FileKind, stat: fs.Stats, limit: number): void {
  const [noun, plural] = NOUNS[kind];
  const type = describeType(stat);
  if (type) throw new UnsafeFileError(file, `${noun} ${file} is ${type}, not a regular file`);
  const max = Math.min(limit, bufferConstants.MAX_LENGTH);
  if (stat.size > max) {
    throw new UnsafeFileError(file, `${noun} ${file} is ${formatBytes(stat.size)}; ${plural} above ${formatBytes(max)} are refused`);
  }
}

export interface CheckOptions {
  /** Overrides the kind's limit (tests; callers with a tighter budget). */
  limit?: number;
}

/**
 * Stats `file` (following links) and throws UnsafeFileError unless it is a regular file within
 * its kind's limit. Returns its size. For paths handed to a library that opens them itself
 * (onnxruntime, sharp); errno errors (ENOENT, EACCES) are thrown as they are.
 */
export function checkFile(file: string, kind: FileKind, options: CheckOptions = {}): number {
  const stat = fs.statSync(file);
  refuseStat(file, kind, stat, options.limit ?? FILE_LIMITS[kind]);
  return stat.size;
}

// O_NONBLOCK exists on POSIX only; Windows has no FIFOs to block on.
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);

function checkOpened(file: string, kind: FileKind, before: fs.Stats, after: fs.Stats, limit: number): void {
  refuseStat(file, kind, after, limit);
  // A different inode means the path changed between the stat and the open.
  if (before.ino !== after.ino || before.dev !== after.dev) {
    throw new UnsafeFileError(file, `${NOUNS[kind][0]} ${file} changed while it was being opened; try again`);
  }
}

/** The whole of a checked file (see the top of this file). */
export function readCheckedFileSync(file: string, kind: FileKind, options: CheckOptions = {}): Buffer {
  const limit = options.limit ?? FILE_LIMITS[kind];
  const before = fs.statSync(file);
  refuseStat(file, kind, before, limit);
  const fd = fs.openSync(file, OPEN_FLAGS);
  try {
    const opened = fs.fstatSync(fd);
    checkOpened(file, kind, before, opened, limit);
    const buffer = Buffer.allocUnsafe(opened.size);
    let filled = 0;
    while (filled < buffer.length) {
      const n = fs.readSync(fd, buffer, filled, buffer.length - filled, filled);
      if (n === 0) break; // shrank while reading: return what is there
      filled += n;
    }
    return filled === buffer.length ? buffer : buffer.subarray(0, filled);
  } finally {
    fs.closeSync(fd);
  }
}

/** Async form of readCheckedFileSync, for readers on the event loop (images, query images). */
export async function readCheckedFile(file: string, kind: FileKind, options: CheckOptions = {}): Promise<Buffer> {
  const limit = options.limit ?? FILE_LIMITS[kind];
  const before = await fs.promises.stat(file);
  refuseStat(file, kind, before, limit);
  const handle = await fs.promises.open(file, OPEN_FLAGS);
  try {
    const opened = await handle.stat();
    checkOpened(file, kind, before, opened, limit);
    const buffer = Buffer.allocUnsafe(opened.size);
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === buffer.length ? buffer : buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

/** A checked file as UTF-8 text (JSON, manifests, tag files). */
export function readCheckedTextSync(file: string, kind: FileKind, options: CheckOptions = {}): string {
  return readCheckedFileSync(file, kind, options).toString('utf8');
}
