import { IndexReader } from '../store/indexReader.js';
import { resolveIndexFolder } from '../store/indexGroup.js';
import type { TemporalSummary } from '../../contract/index.js';
import type { DemoManifest } from './buildDemo.js';
import { factorPurity, type FactorPurity } from './factorPurity.js';

// What the built demo shows, in numbers: how well backbone A's TopK features recover the
// generator's colours and scenes, and the temporal coherence of the standard and the Matryoshka
// SAE on the same clips (the comparison the flicker view makes visible).

export interface DemoReport {
  purity: FactorPurity[];
  temporal: { sae: string; summary: TemporalSummary | null }[];
}

export function demoReport(m: DemoManifest): DemoReport {
  const purity = factorPurity(m.indexes.aImages, m.dataset, ['colour', 'scene']);
  const group = resolveIndexFolder(m.indexes.aClips).group;
  const members = group ? group.members : [{ name: 'a-topk', path: m.indexes.aClips }];
  const temporal = members.map((mem) => {
    const r = IndexReader.open(mem.name, mem.path);
    try {
      return { sae: mem.name, summary: r.temporal() };
    } finally {
      r.close();
    }
  });
  return { purity, temporal };
}

export function formatDemoReport(r: DemoReport): string {
  const lines = ['Backbone A, TopK SAE: the feature whose top 16 exemplars best share each factor'];
  for (const p of r.purity) {
    lines.push(`  ${p.factor.padEnd(6)} ${p.value.padEnd(8)} ${p.feature === null ? '—' : `feature ${p.feature}`.padEnd(12)} ${p.sharing}/${p.considered}`);
  }
  lines.push('Temporal coherence on the demo clips (lag-1 autocorrelation; raw = the backbone activations)');
  const f = (v: number | null | undefined) => (v === null || v === undefined ? '—' : v.toFixed(3));
  for (const t of r.temporal) {
    const kept = t.summary?.coherenceKept;
    lines.push(`  ${t.sae.padEnd(14)} ${f(t.summary?.autocorrelation)}  raw ${f(t.summary?.rawAutocorrelation)}  kept ${kept === null || kept === undefined ? '—' : `${(100 * kept).toFixed(1)}%`}`);
  }
  return `${lines.join('\n')}\n`;
}
