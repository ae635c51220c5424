// Deterministic stand-in thumbnails (the fake client has no image files): a soft two-colour
// gradient with a few shapes per item, drawn once on a canvas and cached as a data URL.

const cache = new Map<number, string>();

function hash(n: number): () => number {
  let a = (n * 2654435761) >>> 0;
  return () => {
    a ^= a << 13;
    a ^= a >>> 17;
    a ^= a << 5;
    return (a >>> 0) / 4294967296;
  };
}

export function placeholderThumbnail(itemId: number, size = 224): string {
  const hit = cache.get(itemId);
  if (hit) return hit;
  const random = hash(itemId + 1);
  const canvas = document.createElement('canvas');
  canvas.width = size;
  canvas.height = size;
  const ctx = canvas.getContext('2d')!;
  const hue = Math.floor(random() * 360);
  const sky = ctx.createLinearGradient(0, 0, 0, size);
  // Muted like most photographs, so the plasma overlay reads the way it will on real data.
  sky.addColorStop(0, `hsl(${hue}, 14%, ${58 + random() * 20}%)`);
  sky.addColorStop(1, `hsl(${(hue + 40) % 360}, 12%, ${22 + random() * 20}%)`);
  ctx.fillStyle = sky;
  ctx.fillRect(0, 0, size, size);
  for (let s = 0; s < 4; s++) {
    ctx.fillStyle = `hsla(${(hue + 120 + s * 50) % 360}, 18%, ${30 + random() * 45}%, 0.9)`;
    ctx.beginPath();
    ctx.ellipse(random() * size, random() * size, 12 + random() * 50, 10 + random() * 40, random() * Math.PI, 0, Math.PI * 2);
    ctx.fill();
  }
  const url = canvas.toDataURL('image/png');
  cache.set(itemId, url);
  return url;
}
