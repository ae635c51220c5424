/**
 * A dataset's items (a path relative to the dataset root, and a label or none), packed in a few
 * typed arrays. A run holds its item list from start to end; as one object and two strings per
 * item, a million ImageNet paths took about 120 MB of heap, here they take the UTF-8 bytes of the
 * paths plus 8 bytes per item. Item i is the index's item id i.
 */
export class ItemList {
  /** Made by ItemListBuilder.finish or ItemList.from. */
  constructor(
    private readonly bytes: Buffer,
    /** Item i's path is bytes[ends[i - 1] (0 for i = 0), ends[i]). */
    private readonly ends: Float64Array,
    /** Index into `labelNames`, or -1 for none. */
    private readonly labelIds: Int32Array,
    private readonly labelNames: readonly string[],
  ) {}

  get length(): number {
    return this.ends.length;
  }

  path(i: number): string {
    if (!(i >= 0 && i < this.ends.length)) throw new RangeError(`Item ${i} is not in a list of ${this.ends.length}.`);
    return this.bytes.toString('utf8', i === 0 ? 0 : this.ends[i - 1]!, this.ends[i]!);
  }

  label(i: number): string | null {
    if (!(i >= 0 && i < this.ends.length)) throw new RangeError(`Item ${i} is not in a list of ${this.ends.length}.`);
    const id = this.labelIds[i]!;
    return id < 0 ? null : this.labelNames[id]!;
  }

  /** The distinct labels, sorted (code-unit order). */
  distinctLabels(): string[] {
    const used = new Set<number>();
    for (const id of this.labelIds) if (id >= 0) used.add(id);
    return [...used].map((id) => this.labelNames[id]!).sort(codeUnitCompare);
  }

  /** Every item as an object: for small lists (tests, a part's few failures), not a dataset. */
  toArray(): { path: string; label: string | null }[] {
    return Array.from({ length: this.length }, (_, i) => ({ path: this.path(i), label: this.label(i) }));
  }

  static from(items: readonly { path: string; label: string | null }[]): ItemList {
    const b = new ItemListBuilder();
    for (const it of items) b.push(it.path, it.label);
    return b.finish();
  }
}

/**
 * Appends items one at a time, growing its arrays by doubling, so no per-item object is made.
 * Given the item count and path bytes ahead (saev's numbered examples), it allocates them once and
 * hands them over without a copy; otherwise `finish` copies them to size (a transient double).
 */
export class ItemListBuilder {
  private bytes: Buffer;
  private used = 0;
  private ends: Float64Array;
  private labelIds: Int32Array;
  private count = 0;
  private readonly labelIndex = new Map<string, number>();
  private readonly labelNames: string[] = [];

  constructor(expectedItems = 1024, expectedBytes = 1 << 16) {
    this.bytes = Buffer.allocUnsafe(Math.max(1, expectedBytes));
    this.ends = new Float64Array(Math.max(1, expectedItems));
    this.labelIds = new Int32Array(Math.max(1, expectedItems));
  }

  get length(): number {
    return this.count;
  }

  push(path: string, label: string | null): void {
    const need = Buffer.byteLength(path, 'utf8');
    if (this.used + need > this.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.used + need));
      this.bytes.copy(grown, 0, 0, this.used);
      this.bytes = grown;
    }
    this.used += this.bytes.write(path, this.used, 'utf8');
    if (this.count === this.ends.length) {
      this.ends = grow(this.ends, new Float64Array(this.count * 2));
      this.labelIds = grow(this.labelIds, new Int32Array(this.count * 2));
    }
    this.ends[this.count] = this.used;
    this.labelIds[this.count] = label === null ? -1 : this.labelId(label);
    this.count++;
  }

  /** The list, in arrays cut to size (the builder must not be used after). */
  finish(): ItemList {
    const bytes = this.used === this.bytes.length ? this.bytes : Buffer.from(this.bytes.subarray(0, this.used));
    const full = this.count === this.ends.length;
    return new ItemList(bytes, full ? this.ends : this.ends.slice(0, this.count), full ? this.labelIds : this.labelIds.slice(0, this.count), this.labelNames);
  }

  private labelId(label: string): number {
    let id = this.labelIndex.get(label);
    if (id === undefined) {
      id = this.labelNames.length;
      this.labelNames.push(label);
      this.labelIndex.set(label, id);
    }
    return id;
  }
}

function grow<T extends Float64Array | Int32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

export function codeUnitCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
