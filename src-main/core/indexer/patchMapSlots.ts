import { encodedPatchMapLength, encodePatchMapInto, patchMapLengthAt } from '../store/patchMapCodec.js';

/**
 * Compact patch maps (store/patchMapCodec.ts) for `groups` × `slotsPerGroup` slots: the exemplar
 * heaps (group = feature, k slots) and the range samples (group = feature × range). A group's maps
 * share one byte arena, allocated on first use; a rewritten slot reuses its bytes when the new map
 * fits, else it is appended, and a full arena is compacted (and grown to twice its live bytes), so
 * an arena never holds more than about twice what its maps need. Memory therefore follows how
 * many patches fire in the kept items, not the backbone's grid.
 */
export class PatchMapSlots {
  private readonly arenas: (Uint8Array | null)[];
  /** Bytes in use at the end of each group's arena (live maps and dead space before it). */
  private readonly used: Int32Array;
  /** Per slot (group × slotsPerGroup + slot): where its map starts, its length and the room it has. */
  private readonly start: Int32Array;
  private readonly length: Uint16Array;
  private readonly room: Uint16Array;

  constructor(
    readonly groups: number,
    readonly slotsPerGroup: number,
    readonly patches: number,
  ) {
    // A map is at most 6 + 3 × patches bytes, which must fit the 16-bit lengths.
    if (6 + 3 * patches > 0xffff) throw new Error(`patch maps of ${patches} patches exceed the 64 KiB a slot records`);
    this.arenas = new Array(groups).fill(null);
    this.used = new Int32Array(groups);
    this.start = new Int32Array(groups * slotsPerGroup);
    this.length = new Uint16Array(groups * slotsPerGroup);
    this.room = new Uint16Array(groups * slotsPerGroup);
  }

  /** Encodes `src[off … off + patches)` as the map of (group, slot). */
  write(group: number, slot: number, src: ArrayLike<number>, off: number): void {
    const at = this.reserve(group, slot, encodedPatchMapLength(src, off, this.patches));
    encodePatchMapInto(src, off, this.patches, this.arenas[group]!, at);
  }

  /** Stores an already encoded map (read back from a checkpoint) as the map of (group, slot). */
  set(group: number, slot: number, map: Uint8Array): void {
    const len = patchMapLengthAt(map, 0, this.patches);
    if (len !== map.length) throw new Error(`patch map holds ${map.length} bytes; its header says ${len}`);
    const at = this.reserve(group, slot, len);
    this.arenas[group]!.set(map, at);
  }

  /**
   * The map of (group, slot), as a view into the group's arena: valid until the group's next write
   * (callers pack or decode it at once; a checkpoint snapshot copies it into its blob).
   */
  get(group: number, slot: number): Uint8Array {
    const i = group * this.slotsPerGroup + slot;
    const arena = this.arenas[group];
    if (!arena || this.length[i] === 0) throw new Error(`no patch map in slot ${slot} of group ${group}`);
    return arena.subarray(this.start[i]!, this.start[i]! + this.length[i]!);
  }

  /** Byte offset in the group's arena where `len` bytes for `slot` may be written. */
  private reserve(group: number, slot: number, len: number): number {
    const i = group * this.slotsPerGroup + slot;
    if (len <= this.room[i]!) {
      this.length[i] = len;
      return this.start[i]!;
    }
    let arena = this.arenas[group];
    if (!arena || this.used[group]! + len > arena.length) arena = this.compact(group, slot, len);
    const at = this.used[group]!;
    this.used[group] = at + len;
    this.start[i] = at;
    this.length[i] = len;
    this.room[i] = len;
    return at;
  }

  /** Rewrites the group's live maps (all but `skip`, about to be replaced) into an arena with room for `len` more. */
  private compact(group: number, skip: number, len: number): Uint8Array {
    const S = this.slotsPerGroup;
    const base = group * S;
    const old = this.arenas[group];
    let live = 0;
    for (let s = 0; s < S; s++) if (s !== skip) live += this.length[base + s]!;
    const arena = new Uint8Array(Math.max(64, 2 * (live + len)));
    let at = 0;
    for (let s = 0; s < S; s++) {
      const i = base + s;
      if (s === skip) this.length[i] = 0;
      if (this.length[i] === 0) {
        this.room[i] = 0;
        continue;
      }
      arena.set(old!.subarray(this.start[i]!, this.start[i]! + this.length[i]!), at);
      this.start[i] = at;
      this.room[i] = this.length[i]!;
      at += this.length[i]!;
    }
    this.arenas[group] = arena;
    this.used[group] = at;
    return arena;
  }
}
