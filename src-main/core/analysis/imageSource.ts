import path from 'node:path';
import type { QueryImageSource } from '../../contract/index.js';
import { StudioError } from '../errors.js';
import { FILE_LIMITS, UnsafeFileError, readCheckedFile } from '../util/checkedRead.js';

// The same limit for uploaded bytes as for a path (checked before reading for a path: a limit
// checked after reading does nothing against /dev/zero).
const MAX_IMAGE_BYTES = FILE_LIMITS.queryImage;

/** The bytes of an image the renderer sent (base64) or named by a path on the host. */
export async function readImageSource(image: QueryImageSource): Promise<{ bytes: Buffer; name: string }> {
  let bytes: Buffer;
  let name: string;
  if (image && typeof image.data === 'string') {
    bytes = Buffer.from(image.data, 'base64');
    name = image.name ?? 'image';
  } else if (image && typeof image.path === 'string' && image.path.trim() !== '') {
    const file = path.resolve(image.path.trim());
    try {
      bytes = await readCheckedFile(file, 'queryImage');
    } catch (err) {
      if (err instanceof UnsafeFileError) throw err;
      throw new StudioError('not-found', `Cannot read ${file}: ${(err as Error).message}`);
    }
    name = path.basename(file);
  } else {
    throw new StudioError('bad-request', 'Give an image path or its bytes.');
  }
  if (bytes.length === 0 || bytes.length > MAX_IMAGE_BYTES) throw new StudioError('bad-input', `${name} is empty or larger than 64 MB.`);
  return { bytes, name };
}
