import type { VideoClipSource } from '../indexer/sources/videoClipSource.js';
import type { PatchRowSource } from './rowStream.js';

// Clips as training rows: each clip's sampled frames are decoded and run through the per-frame
// backbone (VideoClipSource), and every frame's patch tokens become rows (CLS dropped). Clip
// (tubelet) backbones give one set of patch rows per tubelet step. A clip that cannot be decoded is
// skipped with its reason, as the indexer does.

/** Clips decoded per read: a clip already holds frames × patches rows. */
const CLIPS_PER_READ = 2;
/** Frames per backbone forward. */
const FRAMES_PER_FORWARD = 16;

export function clipPatchRows(source: VideoClipSource): PatchRowSource {
  const d = source.d;
  const cls = source.hasCls ? 1 : 0;
  const perFrame = cls + source.patches;
  return {
    d,
    count: source.items.length,
    itemsPerRead: CLIPS_PER_READ,
    async read(start, end) {
      const parts: Float32Array[] = [];
      const skipped: { item: number; reason: string }[] = [];
      let total = 0;
      for (let item = start; item < end; item++) {
        const { clip, reason } = await source.load(item);
        if (!clip) {
          skipped.push({ item, reason });
          continue;
        }
        const { rows } = await source.activations(clip, FRAMES_PER_FORWARD);
        const frames = rows.length / (perFrame * d);
        if (cls === 0) {
          parts.push(rows);
        } else {
          const patchRows = new Float32Array(frames * source.patches * d);
          for (let t = 0; t < frames; t++) {
            patchRows.set(rows.subarray((t * perFrame + 1) * d, (t + 1) * perFrame * d), t * source.patches * d);
          }
          parts.push(patchRows);
        }
        total += parts[parts.length - 1]!.length;
      }
      const rows = new Float32Array(total);
      let o = 0;
      for (const p of parts) {
        rows.set(p, o);
        o += p.length;
      }
      return { rows, items: parts.length, skipped };
    },
  };
}
