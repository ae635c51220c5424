// The browser half of figure export: reading thumbnails into data: URIs, rasterising a figure's
// SVG to PNG, and handing a file to the user. Kept apart from the pure builders so those stay
// testable under Node.

import type { FigureSvg } from './svg';

function blobToDataUrl(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error ?? new Error('could not read the image'));
    reader.readAsDataURL(blob);
  });
}

function loadImage(src: string, crossOrigin: boolean): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    if (crossOrigin) img.crossOrigin = 'anonymous';
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error(`could not load ${src.slice(0, 80)}`));
    img.src = src;
  });
}

/** Whether `url` is on the page's own origin (the web host's /thumb/ route), so fetch may read it. */
function sameOrigin(url: string): boolean {
  try {
    return new URL(url, window.location.href).origin === window.location.origin;
  } catch {
    return false;
  }
}

/**
 * A thumbnail as a data: URI, or null when it cannot be read. The web host serves thumbnails on
 * the page's origin to pages holding its token cookie: fetch reads the bytes as they are. In
 * Electron they come from the studio-thumb: scheme, which the page's CSP allows as an image
 * (img-src) but not as a connection (connect-src 'self'): there the image is loaded with
 * crossorigin="anonymous" (the scheme answers our page's origin with CORS headers, see
 * thumbProtocol.ts), drawn into a canvas and read back as PNG.
 */
async function thumbnailDataUrl(url: string): Promise<string | null> {
  if (url.startsWith('data:')) return url;
  if (sameOrigin(url)) {
    try {
      const res = await fetch(url, { credentials: 'same-origin' });
      if (res.ok) {
        const blob = await res.blob();
        if (blob.type.startsWith('image/')) return await blobToDataUrl(blob);
      }
    } catch {
      // fall through to drawing it
    }
  }
  try {
    const img = await loadImage(url, true);
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext('2d');
    if (!ctx) return null;
    ctx.drawImage(img, 0, 0);
    return canvas.toDataURL('image/png'); // throws if the canvas is tainted
  } catch {
    return null;
  }
}

/** Thumbnails of many items at once, a few at a time so a large grid does not flood the host. */
export async function thumbnailDataUrls(urls: readonly string[], concurrency = 6): Promise<(string | null)[]> {
  const out: (string | null)[] = new Array(urls.length).fill(null);
  let next = 0;
  const worker = async () => {
    while (next < urls.length) {
      const i = next++;
      out[i] = await thumbnailDataUrl(urls[i]!); // i < urls.length
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, urls.length) }, worker));
  return out;
}

function svgBlob(figure: FigureSvg): Blob {
  return new Blob([figure.svg], { type: 'image/svg+xml;charset=utf-8' });
}

/**
 * The figure as a PNG at `scale` × its size (2× by default: sharp at print size for a column-wide
 * figure). The SVG is drawn through an Image of a Blob URL; its images are data: URIs, so nothing
 * outside the document is loaded and the canvas stays readable.
 */
async function pngBlob(figure: FigureSvg, scale = 2): Promise<Blob> {
  const url = URL.createObjectURL(svgBlob(figure));
  try {
    const img = await loadImage(url, false);
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(figure.width * scale);
    canvas.height = Math.round(figure.height * scale);
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('no 2D canvas');
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    return await new Promise<Blob>((resolve, reject) =>
      canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the PNG could not be encoded'))), 'image/png'),
    );
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** Offers a file for download (the browser's download, Electron's save dialog). */
function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
  // Revoke later: the download reads the URL after click() returns.
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}

export async function exportFigure(figure: FigureSvg, format: 'svg' | 'png'): Promise<void> {
  const blob = format === 'svg' ? svgBlob(figure) : await pngBlob(figure);
  saveBlob(blob, `${figure.name}.${format}`);
}
