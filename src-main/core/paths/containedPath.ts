import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';

// Every host that turns a request into a file path (web host static files and thumbnails, the
// Electron thumbnail protocol, the service's resolveThumbnail) goes through this one function, so
// there is exactly one place where traversal is refused.

/** Longest request we bother decoding; real thumbnail and asset paths are a few dozen chars. */
const MAX_REQUEST_LENGTH = 1024;

/**
 * Splits a request path (as it appeared in a URL, i.e. still percent-encoded) into safe path
 * segments, or null when it must be refused. Pure: looks at the string only.
 *
 * Decodes exactly once. Anything that still contains `%` after that is a double-encoded attempt
 * (`%252e%252e`) and is refused rather than decoded again. Refused as well: absolute paths
 * (POSIX, drive letters, UNC), backslashes (a separator on Windows), `:` (drive letters and NTFS
 * alternate data streams), NUL and other control characters, and any segment made only of dots
 * and spaces other than `.` (`..`, and `...`/`.. ` which Windows trims to `..`).
 */
export function containedSegments(requested: string): string[] | null {
  if (typeof requested !== 'string' || requested.length === 0 || requested.length > MAX_REQUEST_LENGTH) {
    return null;
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(requested);
  } catch {
    return null; // malformed escapes such as `%E0%A4%A`
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\%:]/.test(decoded)) return null;
  if (decoded.startsWith('/')) return null;
  const segments: string[] = [];
  for (const segment of decoded.split('/')) {
    if (segment === '' || segment === '.') continue; // `a//b` and `./a` name the same file
    if (/^[.\s]+$/.test(segment)) return null;
    segments.push(segment);
  }
  return segments.length > 0 ? segments : null;
}

/** True when `child` is `parent` itself or lies below it (both absolute and normalised). */
export function isInside(parent: string, child: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/**
 * Absolute real path of an existing file or folder `requested` names below `root`, or null when
 * the request is unsafe (see containedSegments), names nothing, or resolves outside `root`
 * through a symlink. Both sides are resolved with realpath, so a symlink inside root that points
 * out of it is refused.
 *
 * `root` itself must be a real folder where it is named: its ancestors may be links (macOS's
 * /var -> /private/var, a symlinked home), but its own last component may not be. Roots are
 * folders inside a folder the user chose (an index's `thumbs`, the renderer build), and whoever
 * wrote that folder could otherwise point `thumbs` at any folder the studio user can read and
 * have it served as thumbnails. The check compares the root's real path with its real parent's,
 * in one realpath each, so swapping the link in and out between two calls does not pass it.
 *
 * `requested` is the path as it appeared in a URL (percent-encoded); callers must not decode it
 * first, or `%252e` would be decoded twice.
 */
export function resolveContained(root: string, requested: string): string | null {
  const segments = containedSegments(requested);
  if (segments === null) return null;
  const realRoot = realFolderInPlace(root);
  if (realRoot === null) return null;
  const candidate = path.join(realRoot, ...segments);
  if (!isInside(realRoot, candidate)) return null;
  let realCandidate: string;
  try {
    realCandidate = realpathSync.native(candidate);
  } catch {
    return null; // missing, or a dangling symlink
  }
  return isInside(realRoot, realCandidate) && realCandidate !== realRoot ? realCandidate : null;
}

/**
 * Real path of `folder` when it is a directory that is not itself a link (its real path sits
 * directly in its real parent folder), else null. A link to a sibling in the same parent passes:
 * it stays inside the folder the user chose.
 */
export function realFolderInPlace(folder: string): string | null {
  const absolute = path.resolve(folder);
  let realFolder: string;
  let realParent: string;
  try {
    realFolder = realpathSync.native(absolute);
    realParent = realpathSync.native(path.dirname(absolute));
    if (!statSync(realFolder).isDirectory()) return null;
  } catch {
    return null;
  }
  // The filesystem root is its own parent.
  if (realFolder === realParent) return absolute === path.dirname(absolute) ? realFolder : null;
  return path.dirname(realFolder) === realParent ? realFolder : null;
}
