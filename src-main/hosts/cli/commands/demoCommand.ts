import path from 'node:path';
import { buildDemo, type DemoSize } from '../../../core/demo/buildDemo.js';
import { demoReport, formatDemoReport } from '../../../core/demo/demoReport.js';
import { EXIT, cliSettingsDir, type CliDeps } from '../context.js';

// `studio demo [--out DIR] [--small] [--json]`: builds the embedded demo (generated dataset, two
// toy backbones, three trained SAEs, image and clip indexes, A-vs-B matches). Without --out it
// goes to the studio's data folder, where the app finds it. Ctrl-C stops it; running it again
// continues from the last finished step.

export function defaultDemoDir(env: CliDeps['env']): string {
  return path.join(cliSettingsDir(env), 'demo');
}

export async function demoCommand(opts: { out?: string; small?: boolean; json?: boolean }, deps: CliDeps): Promise<number> {
  const out = path.resolve(opts.out ?? defaultDemoDir(deps.env));
  const size: DemoSize = opts.small ? 'small' : 'full';
  const ac = new AbortController();
  const unsubscribe = deps.onInterrupt(() => ac.abort());
  const t0 = deps.now();
  let lastLine = 0;
  let lastStep = 0;
  try {
    const m = await buildDemo({
      out, size, signal: ac.signal,
      onProgress: (p) => {
        const now = deps.now();
        if (p.step === lastStep && now - lastLine < 1000) return;
        lastStep = p.step;
        lastLine = now;
        const pct = p.total > 0 ? ` ${Math.floor((100 * p.done) / p.total)}%` : '';
        deps.stderr.write(`[${p.step}/${p.steps}] ${p.label}${pct}${p.detail ? `  ${p.detail}` : ''}\n`);
      },
    });
    const seconds = (deps.now() - t0) / 1000;
    const indexes = [m.indexes.aImages, m.indexes.bImages, m.indexes.aClips, m.indexes.bClips];
    if (opts.json) {
      deps.stdout.write(`${JSON.stringify({ indexes, seconds })}\n`);
      return EXIT.ok;
    }
    deps.stdout.write(
      `Demo ready in ${out} (${seconds.toFixed(1)} s).\n` +
        `  images, backbone A (TopK):               ${m.indexes.aImages}\n` +
        `  images, backbone B (TopK):               ${m.indexes.bImages}\n` +
        `  clips,  backbone A (TopK + Matryoshka):  ${m.indexes.aClips}\n` +
        `  clips,  backbone B (TopK):               ${m.indexes.bClips}\n` +
        formatDemoReport(demoReport(m)) +
        `Open it: npm start (the welcome screen lists it), or npx studio serve ${m.indexes.aClips}\n`,
    );
    return EXIT.ok;
  } catch (err) {
    if (ac.signal.aborted) {
      deps.stderr.write('Interrupted; run studio demo again to continue from the last finished step.\n');
      return EXIT.interrupted;
    }
    throw err;
  } finally {
    unsubscribe();
  }
}
