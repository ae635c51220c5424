/**
 * The rows a virtualised table renders: a fixed number of row elements whose contents are
 * patched as the table scrolls, instead of unmounting the rows that leave the screen and
 * mounting the ones that enter (a fling replaces every row every frame: that was dozens of
 * element trees created, styled and laid out per frame, and the long tasks of issue 19).
 *
 * Row element i always shows position `first + i`, so the elements stay in the document in
 * screen order (screen readers and tests read rows in DOM order) and are never moved, created
 * or removed while scrolling.
 *
 * `first` moves in whole steps of `step` rows: scrolling a few rows at a time (a wheel) changes
 * nothing until the window crosses a step, then every element is patched once, so a slow scroll
 * costs about as much per row scrolled as a fast one. The pool holds the largest window asked
 * for so far plus one step, rounded up to a step, and never shrinks: a window that gains or
 * loses a partly visible row at its edges does not add or remove an element. It is smaller only
 * when the list is.
 */
export class RowPool {
  private size = 0;

  constructor(private readonly step = 8) {
    if (!Number.isInteger(step) || step < 1) throw new Error(`RowPool step must be a positive integer, got ${step}`);
  }

  /** Row elements in the pool. */
  get capacity(): number {
    return this.size;
  }

  /**
   * The positions to render for a window of `count` rows from `first`, in a list of `total`:
   * `capacity` consecutive positions (fewer only when the list is shorter) that include the
   * window, starting at `first` rounded down to a step, or ending at the end of the list.
   */
  window(first: number, count: number, total: number): { first: number; count: number } {
    const need = Math.ceil((count + this.step - 1) / this.step) * this.step;
    if (need > this.size) this.size = need;
    const n = Math.max(0, Math.min(this.size, total));
    const snapped = Math.floor(Math.max(0, first) / this.step) * this.step;
    return { first: Math.max(0, Math.min(snapped, total - n)), count: n };
  }
}
