import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { JobProgress, ProviderChoice } from '../../../contract/index.js';
import { mergeIndexParts } from '../../../core/indexer/mergeParts.js';
import { EXIT, errorMessage, type CliDeps } from '../context.js';
import { formatCount, formatDuration } from '../progressLine.js';
import { createProgressReporter, PROGRESS_LINE_PREFIX } from '../progressReporter.js';
import type { IndexOptions } from './indexCommand.js';

// `studio index … --devices cuda:0,cuda:1 --out OUT`: one `studio index --shard i/n` process per
// device (each sees only its GPU through CUDA_VISIBLE_DEVICES, the way CUDA libraries are pinned
// to a device), their progress combined into one line, then `studio merge` into OUT. The parts
// stay in OUT.parts/ (as on a cluster), so the same command resumes every part and merges again.

export interface Device {
  provider: ProviderChoice;
  /** CUDA device ordinal, or null for the CPU. */
  ordinal: number | null;
  label: string;
}

/** `cpu` or `cuda:N`, comma-separated; the same device may repeat (several workers on one GPU or the CPU). */
export function parseDevices(text: string): Device[] {
  const devices = text.split(',').map((raw) => {
    const s = raw.trim().toLowerCase();
    if (s === 'cpu') return { provider: 'cpu' as const, ordinal: null, label: 'cpu' };
    const m = /^cuda:(\d+)$/.exec(s);
    if (m) return { provider: 'cuda' as const, ordinal: Number(m[1]), label: s };
    throw new Error(`--devices takes a comma-separated list of cpu and cuda:N (e.g. cuda:0,cuda:1), got "${raw.trim()}".`);
  });
  if (devices.length < 2) throw new Error('--devices needs at least two devices (one device is a plain run: use --provider).');
  return devices;
}

/** The `studio index` arguments of one part: the user's, resolved, with this part's provider, shard and folder. */
export function partArgs(o: IndexOptions, device: Device, shard: string, out: string): string[] {
  const abs = (p: string) => path.resolve(p);
  const args: string[] = ['index', '--layer', o.layer];
  const opt = (flag: string, v: string | number | undefined) => {
    if (v !== undefined) args.push(flag, String(v));
  };
  opt('--model', o.model && abs(o.model));
  for (const s of Array.isArray(o.sae) ? o.sae : [o.sae]) args.push('--sae', abs(s));
  opt('--data', o.data && abs(o.data));
  opt('--kind', o.kind);
  opt('--frames', o.frames);
  opt('--fps', o.fps);
  opt('--max-frames', o.maxFrames);
  opt('--labels', o.labels && abs(o.labels));
  opt('--shards', o.shards && abs(o.shards));
  opt('--images', o.images && abs(o.images));
  opt('--top-k', o.topK);
  opt('--batch', o.batch);
  opt('--memory-budget', o.memoryBudget);
  opt('--norm', o.norm);
  opt('--norm-scale', o.normScale);
  opt('--groups', o.groups);
  opt('--thumbnails', o.thumbnails);
  args.push('--provider', device.provider, '--shard', shard, '--out', out);
  return args;
}

interface Worker {
  device: Device;
  child: ChildProcess;
  progress: JobProgress | null;
  /** stderr lines that are not progress: the error message when the part fails. */
  messages: string[];
  exit: Promise<number>;
}

/** Sum of the parts' progress: one line for the whole run. */
function combined(workers: Worker[]): JobProgress {
  const ps = workers.map((w) => w.progress).filter((p): p is JobProgress => p !== null);
  const indexing = ps.filter((p) => p.phase === 'indexing' || p.phase === 'preparing');
  const phase = indexing.length > 0 ? (ps.some((p) => p.phase === 'indexing') ? 'indexing' : 'preparing') : (ps[0]?.phase ?? 'preparing');
  const done = ps.reduce((s, p) => s + (p.phase === 'indexing' ? p.done : p.total), 0);
  const total = ps.reduce((s, p) => s + p.total, 0);
  const rate = ps.reduce((s, p) => s + (p.phase === 'indexing' ? p.itemsPerSec : 0), 0);
  return { phase, done, total, skipped: ps.reduce((s, p) => s + p.skipped, 0), itemsPerSec: rate, etaSec: rate > 0 ? (total - done) / rate : null };
}

export async function multiDeviceIndex(options: IndexOptions, devicesText: string, deps: CliDeps): Promise<number> {
  let devices: Device[];
  try {
    devices = parseDevices(devicesText);
  } catch (err) {
    deps.stderr.write(`error: ${errorMessage(err)}\n`);
    return EXIT.usage;
  }
  if (options.shard) {
    deps.stderr.write('error: --devices splits the run itself; drop --shard (or run one part per process with --shard and no --devices).\n');
    return EXIT.usage;
  }
  const out = path.resolve(options.out);
  const partsDir = `${out}.parts`;
  const n = devices.length;
  const studio = path.join(deps.projectRoot, 'bin', 'studio.mjs');
  const started = deps.now();
  deps.stderr.write(`Indexing in ${n} parts on ${devices.map((d) => d.label).join(', ')} (parts in ${partsDir}).\n`);

  const reporter = createProgressReporter(deps.stderr, deps.now);
  const workers: Worker[] = devices.map((device, i) => {
    const part = path.join(partsDir, `part-${String(i).padStart(4, '0')}`);
    const env: NodeJS.ProcessEnv = { ...process.env, ...deps.env, STUDIO_PROGRESS: 'json' };
    if (device.ordinal !== null) env.CUDA_VISIBLE_DEVICES = String(device.ordinal);
    const child = spawn(process.execPath, [studio, ...partArgs(options, device, `${i}/${n}`, part)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    const w: Worker = { device, child, progress: null, messages: [], exit: new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1))) };
    let buffered = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.startsWith(PROGRESS_LINE_PREFIX)) {
          w.progress = JSON.parse(line.slice(PROGRESS_LINE_PREFIX.length)) as JobProgress;
          reporter.update(combined(workers));
        } else if (line.trim()) {
          w.messages.push(line);
        }
      }
    });
    return w;
  });
  // Ctrl-C: each part stops at its next batch boundary and keeps its work (the command resumes).
  const stopInterrupt = deps.onInterrupt(() => {
    for (const w of workers) w.child.kill('SIGINT');
  });
  let codes: number[];
  try {
    codes = await Promise.all(workers.map((w) => w.exit));
  } finally {
    stopInterrupt();
    reporter.finish();
  }
  const failed = workers.filter((_, i) => codes[i] !== 0);
  if (failed.length > 0) {
    for (const w of failed) {
      const i = workers.indexOf(w);
      // The studio's own message when it gave one, else the start of whatever the process printed (a crash).
      const why = w.messages.filter((m) => m.startsWith('error:')).pop() ?? (w.messages.slice(0, 6).join('\n') || `exit code ${codes[i]}`);
      deps.stderr.write(`part ${i}/${n} on ${w.device.label} failed: ${why}\n`);
    }
    const interrupted = codes.some((c) => c === EXIT.interrupted);
    deps.stderr.write(`Work done so far is kept in ${partsDir}; run the same command again to resume.\n`);
    return interrupted ? EXIT.interrupted : EXIT.failure;
  }
  const result = await mergeIndexParts(out, workers.map((_, i) => path.join(partsDir, `part-${String(i).padStart(4, '0')}`)));
  deps.stdout.write(
    `Indexed ${formatCount(result.items)} items (${formatCount(result.skipped)} skipped) in ${formatDuration((deps.now() - started) / 1000)} ` +
      `on ${n} devices, merged into one index.\n`,
  );
  deps.stdout.write(`Index: ${out}  (browse it with: studio serve ${JSON.stringify(out)}; the parts in ${partsDir} can be deleted)\n`);
  return EXIT.ok;
}
