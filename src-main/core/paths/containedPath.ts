import { realpathSync } from 'node:fs';
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
 * through a symlink. Both sides are resolved with realpath, so a symlinked root still works and a
 * symlink inside root that points out of it is refused.
 *
 * `requested` is the path as it appeared in a URL (percent-encoded); callers must not decode it
 * first, or `%252e` would be decoded twice.
 */
export function resolveContained(root: string, requested: string): string | null {
  const segments = containedSegments(requested);
  if (segments === null) return null;
  let realRoot: string;
  try {
    realRoot = realpathSync.native(path.resolve(root));
  } catch {
    return null;
  }
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
