import path from 'node:path';
import type { IndexSummary } from '../../../contract/index.js';
import { EXIT, withBackend, type CliDeps } from '../context.js';
import { formatCount } from '../progressLine.js';

// `studio info DIR`: the index summary, as JSON (every IndexSummary field) or a readable table.

function describeModel(s: IndexSummary): string {
  const t = s.model.tokens;
  const extra = [t.cls ? 'CLS' : null, t.registers > 0 ? `${t.registers} registers` : null].filter(Boolean);
  const tokens = `${t.grid[0]}x${t.grid[1]} patches${extra.length ? ` + ${extra.join(' + ')}` : ''}`;
  return `${s.model.name} (${s.model.family}), layer ${s.model.layer}, d=${s.model.dModel}, ${tokens}`;
}

function describeSae(s: IndexSummary): string {
  const k = s.sae.k !== null ? ` k=${s.sae.k}` : '';
  const groups = s.sae.groups ? `, Matryoshka groups ${s.sae.groups.join('/')}` : '';
  return `${s.sae.format} ${s.sae.architecture}${k}, ${formatCount(s.sae.dIn)} → ${formatCount(s.sae.dSae)}${groups}`;
}

function describeNormalization(s: IndexSummary): string {
  const n = s.sae.normalization;
  const bDec = s.sae.applyBDecToInput ? 'b_dec subtracted before encoding' : 'b_dec not subtracted';
  const threshold = s.sae.threshold === 'none' ? '' : `, ${s.sae.threshold} threshold`;
  const norm =
    n.mode === 'none'
      ? 'no normalisation'
      : n.mode === 'scale'
        ? `(x${n.hasMean ? ' − mean' : ''}) × ${n.scale ?? 'unset'}`
        : n.mode.replace(/_/g, ' ');
  return `${norm}; ${bDec}${threshold}`;
}

export function formatSummaryTable(s: IndexSummary): string {
  const rows: Array<[string, string]> = [
    ['Index', `${s.name}  (${s.path})`],
    ['Status', s.complete ? 'complete' : 'incomplete: run the same `studio index` command to resume'],
    ['Model', describeModel(s)],
    ['SAE', describeSae(s)],
    ['SAE input', describeNormalization(s)],
    ['SAE hash', s.sae.hash],
    ['Items', `${formatCount(s.items)} (${formatCount(s.skipped)} skipped)`],
    ['Tokens', `${formatCount(s.tokens)} patch tokens`],
    ['Features', `${formatCount(s.features)} (${formatCount(s.dead)} dead, ${formatCount(s.dense)} dense)`],
    ['Mean L0', s.l0Mean.toFixed(2)],
    ['Exemplars', `top ${s.topK} per feature`],
    ['Labels', s.labels.length ? `${s.labels.length} (${s.labels.slice(0, 5).join(', ')}${s.labels.length > 5 ? ', …' : ''})` : 'none'],
    ['Provider', s.provider],
    ['Created', s.createdAt],
    ['Schema', String(s.schemaVersion)],
  ];
  if (s.kind === 'videos') {
    rows.splice(6, 0, ['Clips', `${s.framesPerClip !== null ? `${s.framesPerClip} frames per clip` : 'frames sampled by rate'}`]);
    const t = s.temporal;
    const f = (v: number | null) => (v === null ? '—' : v.toFixed(3));
    if (t) rows.push(['Temporal', `autocorrelation ${f(t.autocorrelation)}, raw ${f(t.rawAutocorrelation)}, coherence kept ${t.coherenceKept === null ? '—' : `${(100 * t.coherenceKept).toFixed(1)}%`}`]);
  }
  if (s.group) rows.push(['SAEs', s.group.members.map((m) => (m.path === s.path ? `${m.name} (this)` : m.name)).join(', ') + '  (pick with --sae NAME)']);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

export async function infoCommand(dir: string, options: { json?: boolean }, deps: CliDeps): Promise<number> {
  return withBackend(deps, {}, async (backend) => {
    const summary = await backend.openIndex({ path: path.resolve(dir) });
    deps.stdout.write(options.json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatSummaryTable(summary)}\n`);
    return EXIT.ok;
  });
}
