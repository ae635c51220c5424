import { spawn } from 'node:child_process';

// Runs one child process for the start path with a wall-clock limit and a periodic tick (for
// progress), keeping the tail of its output so a failure can be explained in one line.

export interface ChildResult {
  /** Exit code, or null when killed by a signal (the limit included). */
  code: number | null;
  timedOut: boolean;
  /** Set when the program could not be started at all (e.g. ENOENT). */
  spawnError?: string;
  /** Last lines of stdout and stderr together. */
  outputTail: string[];
}

export interface RunChildOptions {
  cwd?: string;
  env: NodeJS.ProcessEnv;
  /** Kill the child after this many milliseconds; 0 = no limit. */
  timeoutMs: number;
  /** Called about every `tickMs` while the child runs, with the elapsed milliseconds. */
  onTick?: (elapsedMs: number) => void;
  tickMs?: number;
  /** Copy the child's output through (verbose); it is kept for the failure message either way. */
  echo?: (text: string) => void;
}

const TAIL_LINES = 20;

export function runChild(command: string, args: string[], options: RunChildOptions): Promise<ChildResult> {
  return new Promise((resolve) => {
    const started = Date.now();
    const tail: string[] = [];
    let partial = '';
    const collect = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      options.echo?.(text);
      const lines = (partial + text).split(/\r?\n|\r/);
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) tail.push(line);
      if (tail.length > TAIL_LINES) tail.splice(0, tail.length - TAIL_LINES);
    };
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);

    let timedOut = false;
    const limit =
      options.timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            child.kill('SIGTERM');
            // An installer stuck in a native call may ignore SIGTERM.
            setTimeout(() => child.kill('SIGKILL'), 2000).unref();
          }, options.timeoutMs)
        : null;
    const ticker = options.onTick ? setInterval(() => options.onTick!(Date.now() - started), options.tickMs ?? 1000) : null;

    let spawnError: string | undefined;
    child.on('error', (err) => {
      spawnError = err.message;
    });
    child.on('close', (code) => {
      if (limit) clearTimeout(limit);
      if (ticker) clearInterval(ticker);
      if (partial.trim()) tail.push(partial);
      resolve({ code, timedOut, spawnError, outputTail: tail.slice(-TAIL_LINES) });
    });
  });
}
