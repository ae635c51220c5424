import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A one-node Slurm cluster on loopback for tests: its own munged (own socket), slurmctld and
 * slurmd in the foreground as children of the test, state and logs in a temp folder, free ports.
 * Debian's slurmd/slurmctld/munge packages are enough (`.ci/run` installs them).
 */
export interface LocalSlurm {
  /** Environment for sbatch/squeue/sacct: SLURM_CONF pointing at this cluster. */
  env: NodeJS.ProcessEnv;
  dir: string;
  stop(): Promise<void>;
}

const DAEMONS = ['/usr/sbin/munged', '/usr/sbin/slurmctld', '/usr/sbin/slurmd', '/usr/bin/sbatch'];

/** Why a local cluster cannot start here, or null when it can. */
export function localSlurmUnavailable(): string | null {
  const missing = DAEMONS.filter((p) => !fs.existsSync(p));
  if (missing.length > 0) return `Slurm is not installed (missing ${missing.join(', ')}; apt-get install slurmd slurmctld slurm-client munge)`;
  if (process.getuid?.() !== 0) return 'a local Slurm cluster needs root (slurmd runs jobs as their user)';
  if (!fs.existsSync('/etc/munge/munge.key')) return 'munge has no key (/etc/munge/munge.key)';
  return null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function slurmConf(dir: string, ctldPort: number, slurmdPort: number, cpus: number): string {
  return [
    'ClusterName=studiotest',
    'SlurmctldHost=localhost(127.0.0.1)',
    `SlurmctldPort=${ctldPort}`,
    `SlurmdPort=${slurmdPort}`,
    'SlurmUser=root',
    'SlurmdUser=root',
    'AuthType=auth/munge',
    `AuthInfo=socket=${dir}/munge/munge.sock`,
    'CredType=cred/munge',
    `StateSaveLocation=${dir}/state`,
    `SlurmdSpoolDir=${dir}/spool`,
    `SlurmctldPidFile=${dir}/run/slurmctld.pid`,
    `SlurmdPidFile=${dir}/run/slurmd.pid`,
    `SlurmctldLogFile=${dir}/log/slurmctld.log`,
    `SlurmdLogFile=${dir}/log/slurmd.log`,
    'ProctrackType=proctrack/linuxproc',
    'TaskPlugin=task/none',
    'SelectType=select/cons_tres',
    'SelectTypeParameters=CR_CPU',
    'SchedulerType=sched/backfill',
    'ReturnToService=2',
    'MpiDefault=none',
    'JobCompType=jobcomp/none',
    'AccountingStorageType=accounting_storage/none',
    `NodeName=localhost NodeAddr=127.0.0.1 CPUs=${cpus} State=UNKNOWN`,
    'PartitionName=studio Nodes=localhost Default=YES MaxTime=INFINITE State=UP',
    '',
  ].join('\n');
}

async function waitFor(what: string, ok: () => boolean, timeoutMs: number, logs: () => string): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`local Slurm: ${what} did not come up in ${timeoutMs / 1000} s\n${logs()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function startLocalSlurm(): Promise<LocalSlurm> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-slurm-'));
  for (const sub of ['munge', 'state', 'spool', 'run', 'log']) fs.mkdirSync(path.join(dir, sub));
  fs.chmodSync(dir, 0o755);
  spawnSync('chown', ['munge:munge', path.join(dir, 'munge')]);
  const sock = path.join(dir, 'munge', 'munge.sock');
  const conf = path.join(dir, 'slurm.conf');
  fs.writeFileSync(conf, slurmConf(dir, await freePort(), await freePort(), Math.max(2, os.cpus().length)));
  const env = { ...process.env, SLURM_CONF: conf };
  const children: ChildProcess[] = [];
  const logs = (): string =>
    ['munge/munged.log', 'log/slurmctld.log', 'log/slurmd.log']
      .map((f) => {
        const p = path.join(dir, f);
        return fs.existsSync(p) ? `--- ${f}\n${fs.readFileSync(p, 'utf8').split('\n').slice(-15).join('\n')}` : `--- ${f}: none`;
      })
      .join('\n');

  const stop = async (): Promise<void> => {
    for (const child of children.reverse()) child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const munged = spawn('runuser', ['-u', 'munge', '--', '/usr/sbin/munged', '--foreground', `--socket=${sock}`,
      `--pid-file=${dir}/munge/munged.pid`, `--log-file=${dir}/munge/munged.log`, `--seed-file=${dir}/munge/seed`], { stdio: 'ignore' });
    children.push(munged);
    await waitFor('munged', () => fs.existsSync(sock), 10_000, logs);
    children.push(spawn('/usr/sbin/slurmctld', ['-D', '-c', '-f', conf], { env, stdio: 'ignore' }));
    children.push(spawn('/usr/sbin/slurmd', ['-D', '-f', conf], { env, stdio: 'ignore' }));
    await waitFor('the node', () => {
      const r = spawnSync('sinfo', ['-h', '-o', '%t'], { env, encoding: 'utf8' });
      return r.status === 0 && /^idle/m.test(r.stdout);
    }, 30_000, logs);
  } catch (err) {
    await stop();
    throw err;
  }
  return { env, dir, stop };
}

/** Waits until none of the job ids is pending or running; returns each job's final state from the logs' view (squeue empty). */
export async function waitForJobs(env: NodeJS.ProcessEnv, jobIds: string[], timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const r = spawnSync('squeue', ['-h', '-j', jobIds.join(','), '-o', '%i %T %r'], { env, encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim() === '') return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`Slurm jobs ${jobIds.join(', ')} still queued after ${timeoutMs / 1000} s:\n${r.stdout}`);
    await new Promise((res) => setTimeout(res, 500));
  }
}
