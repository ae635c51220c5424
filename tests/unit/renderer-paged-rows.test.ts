import { describe, expect, it } from 'vitest';
import { PagedRows } from '../../src-renderer/src/lib/pagedRows';

// The table's paging under fast scrolling (issue 19): requests are bounded, the latest viewport
// decides what is asked for next, and replies for pages the user scrolled away from are dropped.

const PAGE = 100;
const TOTAL = 100_000;

/** A host that answers only when the test says so, and records what was asked and how much at once. */
function heldHost(fails: (page: number) => boolean = () => false) {
  const asked: number[] = [];
  const waiting = new Map<number, () => void>();
  let open = 0;
  let maxOpen = 0;
  return {
    asked,
    get maxOpen() {
      return maxOpen;
    },
    waiting,
    fetchPage(page: number) {
      asked.push(page);
      open++;
      maxOpen = Math.max(maxOpen, open);
      return new Promise<{ rows: number[]; total: number }>((resolve, reject) => {
        waiting.set(page, () => {
          open--;
          waiting.delete(page);
          if (fails(page)) reject(new Error(`page ${page} failed`));
          else resolve({ rows: Array.from({ length: PAGE }, (_, i) => page * PAGE + i), total: TOTAL });
        });
      });
    },
    /** Answers one page and lets its continuation run. */
    async answer(page: number) {
      const release = waiting.get(page);
      if (!release) throw new Error(`page ${page} was not asked for (waiting: ${[...waiting.keys()].join(', ')})`);
      release();
      await new Promise((r) => setTimeout(r, 0));
    },
  };
}

function paged(host: ReturnType<typeof heldHost>, maxInFlight = 3, maxCachedPages = 20) {
  const errors: unknown[] = [];
  const rows = new PagedRows<number>({
    pageSize: PAGE,
    maxCachedPages,
    maxInFlight,
    prefetchAhead: 2,
    prefetchBehind: 1,
    fetchPage: (p) => host.fetchPage(p),
    onPage: () => {},
    onError: (e) => errors.push(e),
  });
  return { rows, errors };
}

/** Page 0 answered, so the total is known (prefetch waits for it). */
async function opened(host: ReturnType<typeof heldHost>, rows: PagedRows<number>) {
  const first = rows.want(0, 30);
  await host.answer(0);
  await first;
  while (host.waiting.size) for (const p of [...host.waiting.keys()]) await host.answer(p);
}

describe('paged rows under fast scrolling', () => {
  it('keeps at most maxInFlight requests out during a fling, and then asks for where the viewport is now', async () => {
    const host = heldHost();
    const { rows } = paged(host);
    await opened(host, rows);
    const askedBefore = host.asked.length;
    // A fling: 300 frames, a page and a half per frame, with a slow host that answers nothing.
    for (let f = 1; f <= 300; f++) void rows.want(f * 150, f * 150 + 32);
    expect(host.maxOpen).toBeLessThanOrEqual(3);
    // The first frames' pages (3 and the prefetches 4, 5; 1 and 2 were cached); the rest coalesce.
    expect(host.asked.slice(askedBefore)).toEqual([3, 4, 5]);
    // The host answers: pages of the first frames are no longer near the viewport, so they are
    // not kept, and the freed slots go to the viewport where it is now (rows 45,000-45,032).
    for (const p of [...host.waiting.keys()]) await host.answer(p);
    expect(rows.row(300)).toBeUndefined();
    expect(rows.row(400)).toBeUndefined();
    expect(host.asked.slice(askedBefore + 3, askedBefore + 4)).toEqual([450]);
    await host.answer(450);
    expect(rows.row(45_010)).toBe(45_010);
    // In all, the fling asked for a handful of pages, not the 450 it passed over.
    for (const p of [...host.waiting.keys()]) await host.answer(p);
    expect(host.asked.length - askedBefore).toBeLessThanOrEqual(3 + 4);
    expect(host.maxOpen).toBeLessThanOrEqual(3);
  });

  it('does not apply a reply for a page that left the viewport, and ignores replies from before a reset', async () => {
    const host = heldHost();
    const { rows } = paged(host, 1);
    await opened(host, rows);
    const far = rows.want(10 * PAGE, 10 * PAGE + 30);
    expect([...host.waiting.keys()]).toEqual([10]);
    const farther = rows.want(500 * PAGE, 500 * PAGE + 30);
    await far; // settles: page 10 is not wanted any more
    await host.answer(10);
    expect(rows.row(10 * PAGE)).toBeUndefined();
    await host.answer(500);
    await farther;
    expect(rows.row(500 * PAGE + 7)).toBe(500 * PAGE + 7);
    // A new query: whatever was asked before it never shows up.
    const stale = [...host.waiting.keys()];
    rows.reset();
    for (const p of stale) await host.answer(p);
    expect(rows.row(501 * PAGE)).toBeUndefined();
    expect(rows.total).toBeNull();
  });

  it('keeps the pages shown most recently when the cache is full, and never the ones near the viewport out', async () => {
    const host = heldHost();
    const { rows } = paged(host, 3, 8);
    await opened(host, rows);
    const visit = async (page: number) => {
      const done = rows.want(page * PAGE, page * PAGE + 30);
      while (host.waiting.size) for (const p of [...host.waiting.keys()]) await host.answer(p);
      await done;
    };
    await visit(100); // caches 99-102
    await visit(0); // back at the top: pages 0-2 are used again
    await visit(300); // 299-302: the cache is over 8 pages, the least recently used go first
    expect(rows.cachedPages).toBe(8);
    expect(rows.row(0)).toBe(0); // shown more recently than page 100
    expect(rows.row(100 * PAGE)).toBeUndefined();
    for (const p of [299, 300, 301, 302]) expect(rows.row(p * PAGE)).toBe(p * PAGE);
  });

  it('does not retry a failed page until the viewport moves', async () => {
    const host = heldHost((page) => page === 7);
    const { rows, errors } = paged(host, 3);
    await opened(host, rows);
    const first = rows.want(700, 730);
    await host.answer(7);
    await first;
    expect(errors).toHaveLength(1);
    for (const p of [...host.waiting.keys()]) await host.answer(p); // the prefetches around it
    void rows.want(700, 731); // same page: not asked again, however often the table re-asks
    expect(host.waiting.has(7)).toBe(false);
    void rows.want(1_500, 1_530);
    void rows.want(700, 730); // the viewport moved and came back: asked again, once a slot frees
    while (host.waiting.size) for (const p of [...host.waiting.keys()]) await host.answer(p);
    expect(host.asked.filter((p) => p === 7)).toHaveLength(2);
  });
});
