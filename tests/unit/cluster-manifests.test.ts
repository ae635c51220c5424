import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';

// The cluster recipes in cluster/: the Kubernetes manifest validated offline against the
// Kubernetes API schemas (kubernetes-models, generated from the OpenAPI spec), and the exact
// `studio` command lines each scheduler task runs, by executing the scripts with a fake `studio`
// that records its arguments.

const ROOT = path.resolve(__dirname, '../..');
const MANIFEST = path.join(ROOT, 'cluster/k8s/studio-index.yaml');

interface Doc {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec?: {
    completionMode?: string;
    completions?: number;
    parallelism?: number;
    template: { spec: { containers: { command: string[]; args: string[]; envFrom?: { configMapRef: { name: string } }[] }[] } };
  };
}

function docs(): Doc[] {
  const parsed = parseAllDocuments(fs.readFileSync(MANIFEST, 'utf8'));
  for (const d of parsed) expect(d.errors, 'YAML errors').toEqual([]);
  return parsed.map((d) => d.toJS() as Doc);
}

let bin: string;
let record: string;
beforeAll(() => {
  bin = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-studio-'));
  record = path.join(bin, 'calls');
  // A stand-in for `studio` that writes one line per argument, so quoting is checked too.
  fs.writeFileSync(path.join(bin, 'studio'), `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done > "${record}"\n`, { mode: 0o755 });
});
afterAll(() => fs.rmSync(bin, { recursive: true, force: true }));

function recordedArgs(): string[] {
  return fs.readFileSync(record, 'utf8').trimEnd().split('\n');
}

describe('cluster/k8s/studio-index.yaml', () => {
  it('is a ConfigMap, an Indexed Job and a merge Job that the Kubernetes schemas accept', () => {
    const all = docs();
    expect(all.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual(['ConfigMap/studio-index-args', 'Job/studio-index', 'Job/studio-merge']);
    new ConfigMap(all[0] as never).validate();
    for (const d of all.slice(1)) new Job(d as never).validate();
  });

  it('the schemas catch a wrong type, so the check above can fail', () => {
    const job = structuredClone(docs()[1]!) as unknown as { spec: { completions: unknown } };
    job.spec.completions = 'eight';
    expect(() => new Job(job as never).validate()).toThrow(/completions must be integer/);
  });

  it('completions match STUDIO_PARTS and every pod reads the same arguments', () => {
    const [cm, index, merge] = docs();
    expect(index!.spec!.completionMode).toBe('Indexed');
    expect(index!.spec!.completions).toBe(Number(cm!.data!.STUDIO_PARTS));
    for (const job of [index!, merge!]) expect(job.spec!.template.spec.containers[0]!.envFrom![0]!.configMapRef.name).toBe(cm!.metadata.name);
  });

  it('pod 3 runs studio index with the shared arguments and --shard 3/8; the merge names all 8 parts', () => {
    const [cm, index, merge] = docs();
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, ...cm!.data, JOB_COMPLETION_INDEX: '3' };
    const c = index!.spec!.template.spec.containers[0]!;
    expect(spawnSync(c.command[0]!, [...c.command.slice(1), ...c.args], { env, encoding: 'utf8' }).status).toBe(0);
    expect(recordedArgs()).toEqual(['index', ...cm!.data!.INDEX_ARGS!.split(' '), '--shard', '3/8', '--out', '/data/out/parts/part-0003']);
    const m = merge!.spec!.template.spec.containers[0]!;
    expect(spawnSync(m.command[0]!, [...m.command.slice(1), ...m.args], { env, encoding: 'utf8' }).status).toBe(0);
    expect(recordedArgs()).toEqual(['merge', '/data/out/index', ...Array.from({ length: 8 }, (_, i) => `/data/out/parts/part-000${i}`)]);
  });
});

describe('cluster/slurm scripts', () => {
  it('an array task runs studio index with its arguments, --shard TASK/COUNT and its part folder', () => {
    const parts = path.join(bin, 'out.parts');
    const r = spawnSync('bash', [path.join(ROOT, 'cluster/slurm/studio-index.sbatch'), parts, '--', '--model', 'm.json', '--data', '/d with space'], {
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '5' },
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(recordedArgs()).toEqual(['index', '--model', 'm.json', '--data', '/d with space', '--shard', '2/5', '--out', `${parts}/part-0002`]);
  });

  it('outside an array the task script says how to submit it', () => {
    const r = spawnSync('bash', [path.join(ROOT, 'cluster/slurm/studio-index.sbatch'), path.join(bin, 'p')], { env: { PATH: process.env.PATH }, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/run this as a job array: sbatch --array=0-N/);
  });

  it('the merge job names every part, so a missing one is reported by studio merge', () => {
    const r = spawnSync('bash', [path.join(ROOT, 'cluster/slurm/studio-merge.sbatch'), '/o', '/p', '3'], {
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(recordedArgs()).toEqual(['merge', '/o', '/p/part-0000', '/p/part-0001', '/p/part-0002']);
  });
});
