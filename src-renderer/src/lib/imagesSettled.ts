/**
 * Resolves once every <img> under `root` has loaded or failed, or after `capMs` (a lazy image
 * below the fold does not load until scrolled to). The feature page waits on it before asking
 * for what is not on screen yet: the host answers one request at a time, and neighbour pages or
 * similar features asked for earlier would queue ahead of the exemplar thumbnails.
 */
export function imagesSettled(root: ParentNode | null, capMs: number): Promise<void> {
  const pending = root ? Array.from(root.querySelectorAll('img')).filter((img) => !img.complete) : [];
  if (!pending.length) return Promise.resolve();
  return new Promise((resolve) => {
    let left = pending.length;
    const timer = setTimeout(resolve, capMs);
    const done = () => {
      if (--left > 0) return;
      clearTimeout(timer);
      resolve();
    };
    for (const img of pending) {
      img.addEventListener('load', done, { once: true });
      img.addEventListener('error', done, { once: true });
    }
  });
}
