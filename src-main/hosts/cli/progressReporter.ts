import type { JobProgress } from '../../contract/index.js';
import type { CliOutput } from './context.js';
import { fitToWidth, formatProgressLine } from './progressLine.js';

// Where progress lines go: on a terminal, one line rewritten in place; in a log file or CI,
// a new line every `intervalMs` (and on every phase change) so logs stay readable.

export const LOG_INTERVAL_MS = 10_000;

/** Prefix of the machine-readable progress lines a child `studio index` writes for `--devices` (STUDIO_PROGRESS=json). */
export const PROGRESS_LINE_PREFIX = '@studio-progress ';

export interface ProgressReporter {
  update(progress: JobProgress): void;
  /** Ends the in-place line so the next output starts on a fresh row. */
  finish(): void;
}

/** One JSON line per update (at most every 200 ms, and on phase changes), for a parent process to combine. */
export function createJsonProgressReporter(out: CliOutput, now: () => number): ProgressReporter {
  let lastWrite = Number.NEGATIVE_INFINITY;
  let lastPhase = '';
  return {
    update(progress) {
      const t = now();
      if (progress.phase === lastPhase && t - lastWrite < 200) return;
      lastWrite = t;
      lastPhase = progress.phase;
      out.write(`${PROGRESS_LINE_PREFIX}${JSON.stringify(progress)}\n`);
    },
    finish() {},
  };
}

export function createProgressReporter(out: CliOutput, now: () => number, intervalMs = LOG_INTERVAL_MS): ProgressReporter {
  let lastWrite = Number.NEGATIVE_INFINITY;
  let lastPhase = '';
  let lineOpen = false;

  return {
    update(progress) {
      const line = formatProgressLine(progress);
      if (out.isTTY) {
        // \r + "erase line" keeps one row, even when the new line is shorter than the old one.
        out.write(`\r\x1b[2K${fitToWidth(line, out.columns)}`);
        lineOpen = true;
        return;
      }
      const t = now();
      if (progress.phase !== lastPhase || t - lastWrite >= intervalMs) {
        out.write(`${line}\n`);
        lastWrite = t;
        lastPhase = progress.phase;
      }
    },
    finish() {
      if (lineOpen) out.write('\n');
      lineOpen = false;
    },
  };
}
