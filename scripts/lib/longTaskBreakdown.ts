// What the renderer's main thread did inside its long tasks, from a Chrome trace
// (devtools.timeline categories): self time per trace event name (FunctionCall = script,
// UpdateLayoutTree = style recalc, Layout, Paint, PrePaint, MinorGC, ...), summed over every
// top-level task longer than `overMs`. Used by bench-scroll's --trace to say what a long task is.

interface TraceEvent {
  name: string;
  ph: string;
  ts: number;
  dur?: number;
  /** Thread (CPU) time, µs: unlike dur it does not grow when other processes take the cores. */
  tdur?: number;
  pid: number;
  tid: number;
  args?: { name?: string; data?: { url?: string; functionName?: string } };
}

export interface LongTaskBreakdown {
  tasks: number;
  totalMs: number;
  /** CPU time of those tasks, ms (wall time minus time the thread waited for a core). */
  cpuMs: number;
  /** Self time per event name, ms, largest first. */
  selfMs: [string, number][];
}

export function longTaskBreakdown(trace: { traceEvents: TraceEvent[] } | TraceEvent[], overMs = 50): LongTaskBreakdown {
  const events = Array.isArray(trace) ? trace : trace.traceEvents;
  // The renderer main thread is the one named CrRendererMain that ran the most tasks.
  const mains = events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain');
  const runs = new Map<string, number>();
  for (const e of events) if (e.ph === 'X' && e.name === 'RunTask') runs.set(`${e.pid}:${e.tid}`, (runs.get(`${e.pid}:${e.tid}`) ?? 0) + 1);
  const main = mains.map((m) => `${m.pid}:${m.tid}`).sort((a, b) => (runs.get(b) ?? 0) - (runs.get(a) ?? 0))[0];
  const complete = events
    .filter((e) => e.ph === 'X' && e.dur !== undefined && `${e.pid}:${e.tid}` === main)
    .sort((a, b) => a.ts - b.ts || b.dur! - a.dur!);
  const self = new Map<string, number>();
  let tasks = 0;
  let totalMs = 0;
  let cpuMs = 0;
  // A stack of open events: each event's self time is its duration minus its children's.
  const stack: { e: TraceEvent; end: number; self: number; inLong: boolean }[] = [];
  const close = (upTo: number) => {
    while (stack.length && stack[stack.length - 1]!.end <= upTo) {
      const top = stack.pop()!;
      if (top.inLong) self.set(top.e.name, (self.get(top.e.name) ?? 0) + top.self / 1000);
    }
  };
  for (const e of complete) {
    close(e.ts);
    const parent = stack[stack.length - 1];
    if (parent) parent.self -= e.dur!;
    const topLevel = !parent;
    const inLong = topLevel ? e.dur! > overMs * 1000 : parent.inLong;
    if (topLevel && inLong) {
      tasks++;
      totalMs += e.dur! / 1000;
      cpuMs += (e.tdur ?? e.dur!) / 1000;
    }
    stack.push({ e, end: e.ts + e.dur!, self: e.dur!, inLong });
  }
  close(Infinity);
  return { tasks, totalMs, cpuMs, selfMs: [...self].sort((a, b) => b[1] - a[1]) };
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
}

/** Self time per function (ms, largest first) from a CDP Profiler.stop() profile. */
export function profileSelfTimes(profile: { nodes: ProfileNode[]; samples?: number[]; timeDeltas?: number[] }, top = 12): [string, number][] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // Each sample's time is the gap to the next sample.
  for (let i = 0; i < samples.length; i++) {
    const node = byId.get(samples[i]!);
    if (!node) continue;
    const { functionName, url, lineNumber, columnNumber } = node.callFrame;
    const file = url.split('/').pop() ?? '';
    const name = `${functionName || '(anonymous)'}${file ? ` ${file}:${lineNumber + 1}:${columnNumber + 1}` : ''}`;
    self.set(name, (self.get(name) ?? 0) + (deltas[i + 1] ?? 0) / 1000);
  }
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, top);
}

export interface TaskCpu {
  tasks: number;
  /** Top-level tasks that used more than `overMs` of CPU: long tasks on a machine with free cores. */
  over: number;
  maxMs: number;
  p95Ms: number;
  totalMs: number;
}

/**
 * CPU (thread) time of the renderer main thread's top-level tasks. On a loaded machine a task's
 * wall time mostly measures waiting for a core (a 3 ms task can take 100 ms), so the longest
 * tasks by CPU say what the same build does where the cores are free.
 */
export function taskCpu(trace: { traceEvents: TraceEvent[] } | TraceEvent[], overMs = 50): TaskCpu {
  const events = Array.isArray(trace) ? trace : trace.traceEvents;
  const mains = events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain');
  const runs = new Map<string, number>();
  for (const e of events) if (e.ph === 'X' && e.name === 'RunTask') runs.set(`${e.pid}:${e.tid}`, (runs.get(`${e.pid}:${e.tid}`) ?? 0) + 1);
  const main = mains.map((m) => `${m.pid}:${m.tid}`).sort((a, b) => (runs.get(b) ?? 0) - (runs.get(a) ?? 0))[0];
  const complete = events.filter((e) => e.ph === 'X' && e.dur !== undefined && `${e.pid}:${e.tid}` === main).sort((a, b) => a.ts - b.ts || b.dur! - a.dur!);
  const cpu: number[] = [];
  let end = -Infinity;
  for (const e of complete) {
    if (e.ts < end) continue; // nested in the current top-level task
    end = e.ts + e.dur!;
    cpu.push((e.tdur ?? e.dur!) / 1000);
  }
  const sorted = [...cpu].sort((a, b) => a - b);
  return {
    tasks: cpu.length,
    over: cpu.filter((ms) => ms > overMs).length,
    maxMs: sorted[sorted.length - 1] ?? 0,
    p95Ms: sorted[Math.floor(sorted.length * 0.95)] ?? 0,
    totalMs: cpu.reduce((a, b) => a + b, 0),
  };
}
