import type { ItemList } from '../dataset/packedItemList.js';
import { StudioError } from '../errors.js';

/**
 * One part of an indexing run split over several processes, machines or scheduler tasks:
 * `--shard i/n` indexes the items whose key hashes to i modulo n.
 *
 * Why a hash of the item's key and not "every n-th item" or a contiguous block: the key (the
 * item's path relative to the data folder with `/` separators, or its row number in saev shards)
 * does not depend on the file system's listing order, on which files a re-run finds unreadable
 * or on n's relation to the folder layout, so a part holds the same items on every re-run and
 * on every node, and parts of a folder sorted by class still get a mix of classes (similar
 * wall time per part).
 */
export interface ShardSpec {
  /** 0-based part number. */
  index: number;
  /** Number of parts. */
  count: number;
}

export const MAX_SHARDS = 100_000;

/** Parses `i/n` (0 <= i < n). Scheduler variables are 0-based: Slurm's array id, Kubernetes' completion index. */
export function parseShardSpec(text: string): ShardSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new StudioError('bad-request', `--shard takes i/n, the 0-based part and the number of parts (e.g. 0/4), got "${text}".`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > MAX_SHARDS) throw new StudioError('bad-request', `--shard ${text}: the number of parts must be 1–${MAX_SHARDS}, got ${count}.`);
  if (index >= count) throw new StudioError('bad-request', `--shard ${text}: the part must be 0–${count - 1} (parts count from 0), got ${index}.`);
  return { index, count };
}

export function formatShardSpec(spec: ShardSpec): string {
  return `${spec.index}/${spec.count}`;
}

/**
 * The part an item key belongs to: FNV-1a (32-bit) over the key's UTF-16 code units, then an
 * avalanche finaliser so keys differing in the last character spread over all parts.
 */
export function shardOfKey(key: string, count: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  h ^= h >>> 16;
  return (h >>> 0) % count;
}

/** Whether the item with this key is indexed by the given part (always, without a shard). */
export function inShard(key: string, spec: ShardSpec | null): boolean {
  return spec === null || spec.count === 1 || shardOfKey(key, spec.count) === spec.index;
}

/** The ids (ascending) of the items a part indexes; the key is the item's path. */
export function partItemIds(items: ItemList, spec: ShardSpec): number[] {
  const ids: number[] = [];
  for (let i = 0; i < items.length; i++) if (inShard(items.path(i), spec)) ids.push(i);
  return ids;
}

/** Position of the first id >= `from` in ascending `ids` (ids.length when none). */
export function firstAtOrAfter(ids: readonly number[], from: number): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ids[mid]! < from) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
