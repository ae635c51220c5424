// The only file names a thumbnail request may ask for: what the indexers write into an index's
// `thumbs` folder, `<item>.webp` (writeThumbnails.thumbnailFile) and `<item>-strip.webp`
// (writeThumbnails.stripFile). Anything else someone dropped into that folder (an `evil.html`, a
// sub-folder, a link with another name) is never served, by either host.
//
// The request is matched as it appeared in the URL, before any decoding: the indexer's names are
// plain ASCII digits, so an escaped spelling of one is not a name we wrote.

const THUMBNAIL_REQUEST = /^\d{1,16}(?:-strip)?\.webp$/;

export function isThumbnailRequest(requested: string): boolean {
  return THUMBNAIL_REQUEST.test(requested);
}
