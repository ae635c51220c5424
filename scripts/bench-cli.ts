// Benchmark (not a test): how long `studio` takes to start and answer, from the built bundle
// (out/cli/, what bin/studio.mjs runs) against the TypeScript sources through tsx (what it ran
// before, still used with STUDIO_FROM_SOURCE=1).
//
//   npm run bench:cli [-- --runs 9 --features 192 --index DIR --realtime]
//
// Builds a small real fixture index (toy ViT, TopK SAE of --features latents, 60 images; or uses
// --index DIR), makes sure the bundle is fresh, then runs each command --runs times in fresh
// processes, alternating bundle and tsx, and prints median wall and CPU time and the ratio:
//   --help, --version            start-up alone (commander and program.ts)
//   info DIR                     + the studio service and SQLite, reading the summary
//   features DIR --limit 100     + one page of the feature table
// A second table gives what each heavy package costs to import in a fresh Node (why program.ts
// and the service load them only in the commands that need them), against `node -e 0`.
// On a busy machine wall time mostly measures the wait for a core: the CPU columns (GNU time,
// children included) are steadier, and --realtime runs each command under `chrt -f 10` (Linux,
// root) so wall time approximates an idle machine's.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFixtureIndex } from '../tests/helpers/buildFixtureIndex.js';
import { buildCli } from './build-cli.mjs';
import { arg } from './lib/benchArgs.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STUDIO = path.join(REPO, 'bin', 'studio.mjs');

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const GNU_TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
const REALTIME = process.argv.includes('--realtime') ? ['chrt', '-f', '10'] : [];

let rebuilds = 0;

/** Wall and CPU milliseconds of one `node ARGS` run (cpu NaN without GNU time); throws when it fails. */
function timeNode(args: string[], env: NodeJS.ProcessEnv): { wall: number; cpu: number } {
  const argv = [...REALTIME, process.execPath, ...args];
  const [cmd, cmdArgs] = GNU_TIME ? [GNU_TIME, ['-f', 'CPU %U %S', ...argv]] : [argv[0]!, argv.slice(1)];
  const t0 = performance.now();
  const r = spawnSync(cmd, cmdArgs, { cwd: REPO, env, encoding: 'utf8' });
  const wall = performance.now() - t0;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  if (r.stderr.includes('studio: rebuilding the bundle')) rebuilds++;
  const m = /CPU ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
  return { wall, cpu: m ? (Number(m[1]) + Number(m[2])) * 1000 : NaN };
}

async function main() {
  const runs = Number(arg('runs', '9'));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-bench-cli-'));
  try {
    let indexDir = arg('index', '');
    if (!indexDir) {
      const features = Number(arg('features', '192'));
      process.stdout.write(`building a fixture index (${features} features, 60 images)... `);
      indexDir = (await buildFixtureIndex(path.join(work, 'fixture'), { dSae: features })).indexDir;
      console.log('done');
    }
    const built = await buildCli({ logLevel: 'error' });
    console.log(`bundle ${path.relative(REPO, built.outdir)}: ${(built.bytes / 1e6).toFixed(1)} MB, built in ${built.ms} ms`);

    // Settings (recent indexes) go to a scratch folder, not the user's; the trace says when a run
    // had to rebuild the bundle first (a source changed during the benchmark).
    const base: NodeJS.ProcessEnv = { ...process.env, STUDIO_SETTINGS_DIR: path.join(work, 'settings'), STUDIO_CLI_TRACE: '1' };
    delete base.STUDIO_FROM_SOURCE;
    const modes = { bundle: base, tsx: { ...base, STUDIO_FROM_SOURCE: '1' } };
    const commands: [string, string[]][] = [
      ['--help', ['--help']],
      ['--version', ['--version']],
      ['info', ['info', indexDir]],
      ['features --limit 100', ['features', indexDir, '--limit', '100']],
    ];

    const ms = (x: number) => (Number.isNaN(x) ? '-' : x.toFixed(0)).padStart(9);
    const how = `${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}${REALTIME.length ? ', real-time priority' : ''}`;
    console.log(`\nstart-up, median of ${runs} runs, ms (${how})`);
    console.log(`${''.padEnd(24)}${'wall'.padStart(18)}${''.padStart(12)}${'CPU'.padStart(18)}`);
    console.log(`${'command'.padEnd(24)}${'bundle'.padStart(9)}${'tsx'.padStart(9)}${'tsx/bundle'.padStart(12)}${'bundle'.padStart(9)}${'tsx'.padStart(9)}`);
    for (const [label, args] of commands) {
      const times = { bundle: [] as { wall: number; cpu: number }[], tsx: [] as { wall: number; cpu: number }[] };
      for (const mode of ['bundle', 'tsx'] as const) timeNode([STUDIO, ...args], modes[mode]); // warm the file cache
      for (let i = 0; i < runs; i++) {
        for (const mode of ['bundle', 'tsx'] as const) times[mode].push(timeNode([STUDIO, ...args], modes[mode]));
      }
      const wall = (mode: 'bundle' | 'tsx') => median(times[mode].map((t) => t.wall));
      const cpu = (mode: 'bundle' | 'tsx') => median(times[mode].map((t) => t.cpu));
      const ratio = `${(wall('tsx') / wall('bundle')).toFixed(1)}x`.padStart(12);
      console.log(`${label.padEnd(24)}${ms(wall('bundle'))}${ms(wall('tsx'))}${ratio}${ms(cpu('bundle'))}${ms(cpu('tsx'))}`);
    }

    if (rebuilds > 0) console.log(`(${rebuilds} bundle run(s) rebuilt it first: a source changed meanwhile; medians absorb a few)`);
    console.log(`\nimporting one package in a fresh Node, median of ${runs} runs, ms (Node's own start included)`);
    console.log(`${'package'.padEnd(24)}${'wall'.padStart(9)}${'CPU'.padStart(9)}`);
    const imports: [string, string][] = [
      ['node -e 0', ''],
      ['commander', 'commander'],
      ['better-sqlite3', 'better-sqlite3'],
      ['onnxruntime-node', 'onnxruntime-node'],
      ['sharp', 'sharp'],
      ['zod (not bundled)', 'zod'],
      ['tsx/esm/api', 'tsx/esm/api'],
    ];
    for (const [label, spec] of imports) {
      const code = spec ? `await import(${JSON.stringify(spec)})` : '0';
      const args = ['--input-type=module', '-e', code];
      const t: { wall: number; cpu: number }[] = [];
      for (let i = 0; i < runs; i++) t.push(timeNode(args, base));
      console.log(`${label.padEnd(24)}${ms(median(t.map((x) => x.wall)))}${ms(median(t.map((x) => x.cpu)))}`);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

await main();
