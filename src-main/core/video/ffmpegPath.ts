import fs from 'node:fs';
import { createRequire } from 'node:module';
import { StudioError } from '../errors.js';

/**
 * The ffmpeg binary: $STUDIO_FFMPEG when set (a user's own build, e.g. with more codecs), else
 * the one @ffmpeg-installer ships for this platform. Inside a packaged app the binary sits in
 * app.asar.unpacked, while the package reports a path inside app.asar.
 */
export function ffmpegPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.STUDIO_FFMPEG) {
    if (!fs.existsSync(env.STUDIO_FFMPEG)) throw new StudioError('bad-input', `STUDIO_FFMPEG points at ${env.STUDIO_FFMPEG}, which does not exist.`);
    return env.STUDIO_FFMPEG;
  }
  let bundled: string;
  try {
    bundled = (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;
  } catch (err) {
    throw new StudioError(
      'bad-input',
      `No ffmpeg for ${process.platform}-${process.arch} is bundled (${(err as Error).message}); set STUDIO_FFMPEG to an ffmpeg binary.`,
    );
  }
  return bundled.replace(`app.asar${pathSep()}`, `app.asar.unpacked${pathSep()}`);
}

function pathSep(): string {
  return process.platform === 'win32' ? '\\' : '/';
}
