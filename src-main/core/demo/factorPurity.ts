import fs from 'node:fs';
import path from 'node:path';
import { IndexReader } from '../store/indexReader.js';

// How well the demo's features recover the generator's ground truth: for each factor value
// (a colour, a scene type, …) the feature whose top exemplars most often share that value.
// Exemplars are paired with factors by item file name (the generator's item id).

export type FactorName = 'scene' | 'colour' | 'shape' | 'action';

export interface FactorPurity {
  factor: FactorName;
  value: string;
  /** Best feature for this value, or null when no feature has exemplars. */
  feature: number | null;
  /** Of its first `considered` exemplars, how many carry the value. */
  sharing: number;
  considered: number;
  purity: number;
}

interface FactorRow { id: string; scene: string; colour: string; shape: string; action: string }

export function readFactors(datasetDir: string): Map<string, FactorRow> {
  const rows = JSON.parse(fs.readFileSync(path.join(datasetDir, 'factors.json'), 'utf8')) as FactorRow[];
  return new Map(rows.map((r) => [r.id, r]));
}

/** Item id of an index path: the file or clip folder name without extension. */
function itemIdOf(itemPath: string): string {
  return path.basename(itemPath).replace(/\.[^.]+$/, '');
}

/** For every value of each factor, the feature with the purest top-`top` exemplars. */
export function factorPurity(indexDir: string, datasetDir: string, factors: FactorName[], top = 16): FactorPurity[] {
  const truth = readFactors(datasetDir);
  const reader = IndexReader.open('purity', indexDir);
  try {
    const features = reader.config.sae.dSae;
    const tops: string[][] = [];
    for (let f = 0; f < features; f++) {
      const ex = reader.featureDetail(f).exemplars.slice(0, top);
      tops.push(ex.length < top ? [] : ex.map((e) => itemIdOf(e.item)));
    }
    const out: FactorPurity[] = [];
    for (const factor of factors) {
      const values = [...new Set([...truth.values()].map((r) => r[factor]))].sort();
      for (const value of values) {
        let best: FactorPurity = { factor, value, feature: null, sharing: 0, considered: top, purity: 0 };
        tops.forEach((ids, f) => {
          if (ids.length === 0) return;
          const sharing = ids.filter((id) => truth.get(id)?.[factor] === value).length;
          if (sharing > best.sharing) best = { factor, value, feature: f, sharing, considered: ids.length, purity: sharing / ids.length };
        });
        out.push(best);
      }
    }
    return out;
  } finally {
    reader.close();
  }
}
