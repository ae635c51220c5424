/**
 * Starts loading images as soon as their URLs are known, before the view that shows them renders:
 * a feature page's exemplar tiles mount, lay out and (being `loading="lazy"`) only then ask for
 * their thumbnails, about 80 ms after the page's data arrives at 100k features. The tiles then
 * find the answers in the browser's cache (thumbnails are sent with `Cache-Control: max-age`).
 * Nothing happens where there is no DOM (unit tests of the stores).
 */
export function warmImages(urls: readonly string[]): void {
  if (typeof Image === 'undefined') return;
  for (const url of urls) {
    const img = new Image();
    img.decoding = 'async';
    img.src = url;
  }
}
