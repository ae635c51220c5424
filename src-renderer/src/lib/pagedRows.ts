/**
 * Rows of a long table fetched page by page around a moving viewport.
 *
 * Scrolling asks for a new viewport every frame. Sending a request for every page that ever
 * crossed the screen queued hundreds of requests on a host that answers one at a time, and
 * rows stayed blank for as long as that queue took to drain. Here the latest viewport wins:
 * - at most `maxInFlight` requests are outstanding; a free slot goes to the page that matters
 *   most for the viewport as it is *now* (visible pages first, nearest first, then prefetch, the
 *   scroll direction first), so pages a fling passed over are never asked for;
 * - a reply for a page that is no longer near the viewport is dropped, not cached;
 * - pages live in a least-recently-used cache of `maxCachedPages`; pages near the viewport are
 *   never evicted.
 * Every reset (new query) or `markStale` starts an epoch; replies from an older epoch are ignored.
 */

export interface PagedRowsOptions<Row> {
  pageSize: number;
  maxCachedPages: number;
  maxInFlight: number;
  /** Pages kept and fetched beyond the visible ones, on the side the viewport is moving to. */
  prefetchAhead: number;
  /** ... and on the side it came from. */
  prefetchBehind: number;
  fetchPage(page: number): Promise<{ rows: readonly Row[]; total: number }>;
  /** A page was applied (its rows are readable) and the total may have changed. */
  onPage(total: number): void;
  /** A request failed; the page is not asked for again until the viewport changes. */
  onError(error: unknown): void;
}

interface Waiter {
  pages: number[];
  epoch: number;
  resolve: () => void;
}

export class PagedRows<Row> {
  private readonly pages = new Map<number, readonly Row[]>();
  /** Pages shown from before a `markStale`, to be fetched again when near the viewport. */
  private readonly stale = new Set<number>();
  private readonly inFlight = new Map<number, number>(); // page -> epoch it was asked in
  private readonly failed = new Set<number>();
  private waiters: Waiter[] = [];
  private epoch = 0;
  private first = 0;
  private last = 0;
  private direction: 1 | -1 = 1;
  total: number | null = null;

  constructor(private readonly o: PagedRowsOptions<Row>) {}

  /** Forgets every page (a new query); replies still on their way are ignored. */
  reset(): void {
    this.epoch++;
    this.pages.clear();
    this.stale.clear();
    this.inFlight.clear();
    this.failed.clear();
    this.total = null;
    this.first = this.last = 0;
    this.settleWaiters();
  }

  /** Keeps the rows on screen but fetches every page near the viewport again (tags changed). */
  markStale(): Promise<void> {
    this.epoch++;
    this.inFlight.clear();
    this.failed.clear();
    for (const page of this.pages.keys()) this.stale.add(page);
    if (this.pages.size === 0) return this.want(this.first * this.o.pageSize, this.last * this.o.pageSize);
    return this.want(this.first * this.o.pageSize, (this.last + 1) * this.o.pageSize - 1);
  }

  /**
   * The viewport now shows rows [firstRow, lastRow]. Resolves when those rows' pages are
   * readable, or when they stopped mattering (the viewport moved on, the query changed, a
   * request failed).
   */
  want(firstRow: number, lastRow: number): Promise<void> {
    const first = Math.floor(Math.max(0, firstRow) / this.o.pageSize);
    let last = Math.floor(Math.max(firstRow, lastRow) / this.o.pageSize);
    if (this.total != null) last = Math.max(first, Math.min(last, this.lastPage()));
    if (first !== this.first || last !== this.last) {
      if (first !== this.first) this.direction = first > this.first ? 1 : -1;
      this.first = first;
      this.last = last;
      this.failed.clear();
    }
    for (let p = first; p <= last; p++) this.touch(p);
    const pages: number[] = [];
    for (let p = first; p <= last; p++) pages.push(p);
    const done = new Promise<void>((resolve) => this.waiters.push({ pages, epoch: this.epoch, resolve }));
    this.pump();
    this.settleWaiters();
    return done;
  }

  /** The row at a position, or undefined while its page is not loaded. */
  row(position: number): Row | undefined {
    return this.pages.get(Math.floor(position / this.o.pageSize))?.[position % this.o.pageSize];
  }

  /** Loaded pages with their first position, for lookups by content. */
  *loaded(): Generator<[number, readonly Row[]]> {
    for (const [page, rows] of this.pages) yield [page * this.o.pageSize, rows];
  }

  get pending(): number {
    return this.inFlight.size;
  }

  get cachedPages(): number {
    return this.pages.size;
  }

  private lastPage(): number {
    return Math.max(0, Math.ceil((this.total ?? 0) / this.o.pageSize) - 1);
  }

  /** Pages worth holding: the visible ones plus the prefetch margin. */
  private near(page: number): boolean {
    const ahead = this.direction === 1 ? this.o.prefetchAhead : this.o.prefetchBehind;
    const behind = this.direction === 1 ? this.o.prefetchBehind : this.o.prefetchAhead;
    return page >= this.first - behind && page <= this.last + ahead;
  }

  private needs(page: number): boolean {
    if (page < 0 || (this.total != null && page > this.lastPage())) return false;
    return (!this.pages.has(page) || this.stale.has(page)) && !this.inFlight.has(page) && !this.failed.has(page);
  }

  /** Visible pages from the middle out, then prefetch pages ahead and behind, alternating. */
  private order(): number[] {
    const out: number[] = [];
    const mid = (this.first + this.last) / 2;
    const visible: number[] = [];
    for (let p = this.first; p <= this.last; p++) visible.push(p);
    visible.sort((a, b) => Math.abs(a - mid) - Math.abs(b - mid));
    out.push(...visible);
    // Prefetch only once the total is known: before that the pages past the end are unknown.
    if (this.total == null) return out;
    const ahead = this.direction === 1 ? this.o.prefetchAhead : this.o.prefetchBehind;
    const behind = this.direction === 1 ? this.o.prefetchBehind : this.o.prefetchAhead;
    for (let i = 1; i <= Math.max(ahead, behind); i++) {
      if (i <= ahead) out.push(this.direction === 1 ? this.last + i : this.first - i);
      if (i <= behind) out.push(this.direction === 1 ? this.first - i : this.last + i);
    }
    return out;
  }

  private pump(): void {
    for (const page of this.order()) {
      if (this.inFlight.size >= this.o.maxInFlight) return;
      if (this.needs(page)) this.request(page);
    }
  }

  private request(page: number): void {
    const epoch = this.epoch;
    this.inFlight.set(page, epoch);
    this.o.fetchPage(page).then(
      (result) => {
        if (epoch !== this.epoch) return;
        this.inFlight.delete(page);
        // Latest viewport wins: a page the user already scrolled away from is not kept.
        if (this.near(page) || this.total == null) {
          this.total = result.total;
          this.pages.set(page, result.rows);
          this.stale.delete(page);
          this.dropPastEnd();
          this.evict();
          this.o.onPage(result.total);
        }
        this.pump();
        this.settleWaiters();
      },
      (error: unknown) => {
        if (epoch !== this.epoch) return;
        this.inFlight.delete(page);
        this.failed.add(page);
        this.o.onError(error);
        this.pump();
        this.settleWaiters();
      },
    );
  }

  /** Moves a page to the recently-used end of the cache. */
  private touch(page: number): void {
    const rows = this.pages.get(page);
    if (rows === undefined) return;
    this.pages.delete(page);
    this.pages.set(page, rows);
  }

  private evict(): void {
    for (const page of this.pages.keys()) {
      if (this.pages.size <= this.o.maxCachedPages) return;
      if (!this.near(page)) {
        this.pages.delete(page);
        this.stale.delete(page);
      }
    }
  }

  /** A filter that now matches fewer rows leaves pages past the new end. */
  private dropPastEnd(): void {
    const last = this.lastPage();
    for (const page of [...this.pages.keys()]) {
      if (page > last) {
        this.pages.delete(page);
        this.stale.delete(page);
      }
    }
  }

  private settleWaiters(): void {
    this.waiters = this.waiters.filter((w) => {
      const settled =
        w.epoch !== this.epoch ||
        w.pages.every((p) => (this.pages.has(p) && !this.stale.has(p)) || !this.near(p) || this.failed.has(p) || (this.total != null && p > this.lastPage()));
      if (settled) w.resolve();
      return !settled;
    });
  }
}
