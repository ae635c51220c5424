import { PatchMapSlots } from './patchMapSlots.js';

/**
 * Per-feature top-k exemplars: for each feature a min-heap of at most k (value, item) pairs, the
 * worst at the root, so an item enters in O(log k) when it beats the root. Each heap slot owns a
 * compact patch map (store/patchMapCodec.ts), written only when an item enters: a patch map exists
 * only while its item is in some feature's top-k, and holds only the patches the feature fired on.
 *
 * Order: higher value first; on equal values the lower item id (seen first) wins, so the result
 * matches a brute-force stable sort by (value desc, item asc).
 */
export class ExemplarHeaps {
  readonly size: Int32Array;
  /** Slot data, addressed as feature * k + slot. */
  readonly values: Float32Array;
  readonly items: Int32Array;
  /** heap[feature * k + position] = slot at that heap position. */
  private readonly heap: Int32Array;
  private readonly maps: PatchMapSlots;

  constructor(
    readonly features: number,
    readonly k: number,
    readonly patches: number,
  ) {
    this.size = new Int32Array(features);
    this.values = new Float32Array(features * k);
    this.items = new Int32Array(features * k);
    this.heap = new Int32Array(features * k);
    this.maps = new PatchMapSlots(features, k, patches);
  }

  /** Would (value, item) enter feature f's top-k? Items arrive in increasing id order. */
  accepts(f: number, value: number, item: number): boolean {
    if (this.size[f]! < this.k) return true;
    const root = f * this.k + this.heap[f * this.k]!;
    return this.better(value, item, this.values[root]!, this.items[root]!);
  }

  /** Insert (value, item) with its patch map (float32, `patches` long) if it qualifies. */
  offer(f: number, value: number, item: number, map: Float32Array, mapOffset: number): boolean {
    const k = this.k;
    const base = f * k;
    let slot: number;
    const n = this.size[f]!;
    if (n < k) {
      slot = n;
      this.heap[base + n] = slot;
      this.size[f] = n + 1;
      this.writeSlot(f, slot, value, item, map, mapOffset);
      this.siftUp(f, n);
      return true;
    }
    const rootSlot = this.heap[base]!;
    if (!this.better(value, item, this.values[base + rootSlot]!, this.items[base + rootSlot]!)) return false;
    slot = rootSlot;
    this.writeSlot(f, slot, value, item, map, mapOffset);
    this.siftDown(f, 0);
    return true;
  }

  /** Restore an entry read back from a checkpoint (map already compact). */
  restore(f: number, value: number, item: number, map: Uint8Array): void {
    const n = this.size[f]!;
    if (n >= this.k) throw new Error(`checkpoint holds more than k=${this.k} exemplars for feature ${f}`);
    this.heap[f * this.k + n] = n;
    this.size[f] = n + 1;
    this.values[f * this.k + n] = value;
    this.items[f * this.k + n] = item;
    this.maps.set(f, n, map);
    this.siftUp(f, n);
  }

  /** Feature f's exemplars best first: slots with their value, item and compact patch map (a view, valid until f's next offer). */
  ranked(f: number): { value: number; item: number; map: Uint8Array }[] {
    const out: { value: number; item: number; map: Uint8Array }[] = [];
    const base = f * this.k;
    for (let s = 0; s < this.size[f]!; s++) {
      out.push({ value: this.values[base + s]!, item: this.items[base + s]!, map: this.maps.get(f, s) });
    }
    out.sort((a, b) => b.value - a.value || a.item - b.item);
    return out;
  }

  private better(v: number, item: number, rv: number, ritem: number): boolean {
    return v > rv || (v === rv && item < ritem);
  }

  private writeSlot(f: number, slot: number, value: number, item: number, map: Float32Array, off: number): void {
    const idx = f * this.k + slot;
    this.values[idx] = value;
    this.items[idx] = item;
    this.maps.write(f, slot, map, off);
  }

  /** True when slot a should sit above slot b in the min-heap (a is worse). */
  private worse(f: number, a: number, b: number): boolean {
    const base = f * this.k;
    const va = this.values[base + a]!;
    const vb = this.values[base + b]!;
    return va < vb || (va === vb && this.items[base + a]! > this.items[base + b]!);
  }

  private siftUp(f: number, pos: number): void {
    const base = f * this.k;
    const h = this.heap;
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      if (!this.worse(f, h[base + pos]!, h[base + parent]!)) break;
      const t = h[base + pos]!;
      h[base + pos] = h[base + parent]!;
      h[base + parent] = t;
      pos = parent;
    }
  }

  private siftDown(f: number, pos: number): void {
    const base = f * this.k;
    const h = this.heap;
    const n = this.size[f]!;
    for (;;) {
      const l = 2 * pos + 1;
      const r = l + 1;
      let m = pos;
      if (l < n && this.worse(f, h[base + l]!, h[base + m]!)) m = l;
      if (r < n && this.worse(f, h[base + r]!, h[base + m]!)) m = r;
      if (m === pos) return;
      const t = h[base + pos]!;
      h[base + pos] = h[base + m]!;
      h[base + m] = t;
      pos = m;
    }
  }
}
