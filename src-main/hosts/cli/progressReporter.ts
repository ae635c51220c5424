import type { JobInfo } from '../../contract/index.js';
import type { CliOutput } from './context.js';
import { fitToWidth, formatProgressLine } from './progressLine.js';

// Where progress lines go: on a terminal, one line rewritten in place; in a log file or CI,
// a new line every `intervalMs` (and on every phase change) so logs stay readable.

export const LOG_INTERVAL_MS = 10_000;

export interface ProgressReporter {
  update(job: JobInfo): void;
  /** Ends the in-place line so the next output starts on a fresh row. */
  finish(): void;
}

export function createProgressReporter(out: CliOutput, now: () => number, intervalMs = LOG_INTERVAL_MS): ProgressReporter {
  let lastWrite = Number.NEGATIVE_INFINITY;
  let lastPhase = '';
  let lineOpen = false;

  return {
    update(job) {
      const line = formatProgressLine(job.progress);
      if (out.isTTY) {
        // \r + "erase line" keeps one row, even when the new line is shorter than the old one.
        out.write(`\r\x1b[2K${fitToWidth(line, out.columns)}`);
        lineOpen = true;
        return;
      }
      const t = now();
      if (job.progress.phase !== lastPhase || t - lastWrite >= intervalMs) {
        out.write(`${line}\n`);
        lastWrite = t;
        lastPhase = job.progress.phase;
      }
    },
    finish() {
      if (lineOpen) out.write('\n');
      lineOpen = false;
    },
  };
}
