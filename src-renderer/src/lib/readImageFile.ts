import type { QueryImageSource } from '@contract';

/** The web host takes request bodies up to 1 MB; larger images are re-encoded smaller first. */
const MAX_BYTES = 700 * 1024;
const MAX_SIDE = 1024;

function toBase64(buf: ArrayBuffer): string {
  const bytes = new Uint8Array(buf);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/**
 * A dropped or chosen file as bytes for loadQueryImage. Files over ~700 KB are scaled so their
 * longer side is at most 1024 px and re-encoded as JPEG (quality 0.92): the model crops 224 px
 * anyway, but the pixels then differ slightly from what `studio query` sees for the same file.
 */
export async function readImageFile(file: File): Promise<QueryImageSource> {
  if (file.size <= MAX_BYTES) return { data: toBase64(await file.arrayBuffer()), name: file.name };
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext('2d')!.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  const blob = await new Promise<Blob>((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('Could not re-encode the image.'))), 'image/jpeg', 0.92));
  return { data: toBase64(await blob.arrayBuffer()), name: file.name };
}
