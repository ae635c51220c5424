// What ffmpeg says about an input (`ffmpeg -i FILE`, stderr), read into numbers. No ffprobe is
// bundled, so this text is all we have; it is parsed here, apart from the decoding, so the
// formats of several ffmpeg versions can be tested as plain strings.

export interface VideoInfo {
  /** Size of the frames the decoder returns: square pixels, rotation applied. */
  width: number;
  height: number;
  /** Size as stored in the stream (before pixel aspect and rotation). */
  storedWidth: number;
  storedHeight: number;
  /** Sample (pixel) aspect ratio, [num, den]; [1, 1] when square or unknown. */
  sar: [number, number];
  /** Clockwise degrees to turn the stored picture to show it upright: 0, 90, 180 or 270. */
  rotation: 0 | 90 | 180 | 270;
  /** Stored size resampled to square pixels (before rotation). */
  squareSize: [number, number];
  /** Same as [width, height]. */
  displaySize: [number, number];
  /** Index of the video stream decoded (ffmpeg's `0:N`). */
  stream: number;
  fps: number;
  durationSec: number;
  /** Estimated from duration × fps (containers do not always store it). */
  frames: number;
}

/** Largest side we resample to; a wild aspect ratio must not ask for a gigantic frame. */
const MAX_SIDE = 16384;

function rate(value: string | undefined): number {
  if (!value) return NaN;
  return value.endsWith('k') ? Number(value.slice(0, -1)) * 1000 : Number(value);
}

/** Parses ffmpeg's input description. Throws an Error with the reason when it holds no usable video stream. */
export function parseProbe(stderr: string): VideoInfo {
  const lines = stderr.split('\n');
  // The first real video stream: cover art ("attached pic") is a one-frame video stream too.
  const at = lines.findIndex((l) => /Stream #\d+:\d+.*?: Video: /.test(l) && !/\(attached pic\)/.test(l));
  if (at < 0) {
    throw new Error(lines.filter((l) => /error|invalid|no such/i.test(l)).slice(-1)[0]?.trim() || 'no video stream found');
  }
  const head = lines[at]!;
  // The stream's own Metadata / Side data follow it, at its indent or deeper, up to the next stream.
  const indent = head.length - head.trimStart().length;
  const block: string[] = [];
  for (const l of lines.slice(at + 1)) {
    if (l.trim() === '' || /Stream #/.test(l) || l.length - l.trimStart().length < indent) break;
    block.push(l);
  }
  const blockText = block.join('\n');

  const stream = Number(/Stream #\d+:(\d+)/.exec(head)![1]);
  // ", WxH" followed by a space, comma or the end ("(avc1 / 0x31637661)" has no comma before it).
  const size = /, (\d{1,5})x(\d{1,5})(?=[, ]|$)/.exec(head);
  if (!size) throw new Error(`no frame size in "${head.trim()}"`);
  const storedWidth = Number(size[1]);
  const storedHeight = Number(size[2]);
  if (storedWidth < 1 || storedHeight < 1) throw new Error(`frame size ${storedWidth}x${storedHeight}`);

  const fps = rate(/([\d.]+k?) fps/.exec(head)?.[1]) || rate(/([\d.]+k?) tbr/.exec(head)?.[1]);
  if (!(fps > 0)) throw new Error(`no frame rate in "${head.trim()}"`);
  const duration = /Duration: (\d+):(\d+):([\d.]+)/.exec(stderr);
  const durationSec = duration ? Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3]) : 0;

  // "[SAR a:b DAR c:d]" is the codec's; ", SAR a:b DAR c:d" (no brackets) is the container's,
  // printed when it differs, and ffmpeg's filters then use it, so it wins. SAR 0:1 means
  // "unknown": take square pixels, as players do.
  const sarMatch = /, SAR (\d+):(\d+) DAR \d+:\d+/.exec(head) ?? /\[SAR (\d+):(\d+) DAR \d+:\d+\]/.exec(head);
  let sar: [number, number] = sarMatch && Number(sarMatch[1]) > 0 && Number(sarMatch[2]) > 0 ? [Number(sarMatch[1]), Number(sarMatch[2])] : [1, 1];
  if (sar[0] === sar[1]) sar = [1, 1];
  const ratio = sar[0] / sar[1];
  // Resample so no side shrinks: wide pixels widen the frame, tall pixels heighten it.
  const squareSize: [number, number] = ratio >= 1 ? [Math.round(storedWidth * ratio), storedHeight] : [storedWidth, Math.round(storedHeight / ratio)];
  if (Math.max(...squareSize) > MAX_SIDE) throw new Error(`pixel aspect ratio ${sar[0]}:${sar[1]} of a ${storedWidth}x${storedHeight} stream gives a ${squareSize[0]}x${squareSize[1]} picture, larger than ${MAX_SIDE} pixels`);

  const rotation = parseRotation(blockText);
  const displaySize: [number, number] = rotation === 90 || rotation === 270 ? [squareSize[1], squareSize[0]] : [...squareSize];
  return {
    width: displaySize[0],
    height: displaySize[1],
    storedWidth,
    storedHeight,
    sar,
    rotation,
    squareSize,
    displaySize,
    stream,
    fps,
    durationSec,
    frames: Math.max(1, Math.round(durationSec * fps)),
  };
}

/**
 * Clockwise rotation from the stream's display matrix ("rotation of -90.00 degrees" means turn
 * 90° clockwise, as ffmpeg's autorotation reads it), else from the older `rotate` tag (already
 * clockwise). Angles that are not a multiple of 90 are refused rather than ignored.
 */
function parseRotation(block: string): 0 | 90 | 180 | 270 {
  const matrix = /displaymatrix: rotation of (-?[\d.]+) degrees/.exec(block);
  const tag = /^\s*rotate\s*:\s*(-?[\d.]+)\s*$/m.exec(block);
  let degrees = matrix ? -Number(matrix[1]) : tag ? Number(tag[1]) : 0;
  if (!Number.isFinite(degrees)) degrees = 0;
  const turns = degrees / 90;
  if (Math.abs(turns - Math.round(turns)) > 1e-3) throw new Error(`rotation of ${degrees} degrees is not supported (only multiples of 90)`);
  return ((((Math.round(turns) % 4) + 4) % 4) * 90) as 0 | 90 | 180 | 270;
}
