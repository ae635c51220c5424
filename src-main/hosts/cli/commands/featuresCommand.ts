import path from 'node:path';
import { featureName, type FeatureDetail, type FeatureRow, type FeatureSortKey } from '../../../contract/index.js';
import type { StudioBackend } from '../../../core/backend.js';
import { StudioError } from '../../../core/errors.js';
import { EXIT, withBackend, type CliDeps } from '../context.js';

// `studio features DIR`: per-feature statistics for scripts (JSON, with exemplars) or a table.
// Rows are paged from the service (sorted there, in SQL), so 100K features never sit in memory.

const PAGE_SIZE = 1000;

export interface FeaturesOptions {
  json?: boolean;
  feature?: number;
  sort?: FeatureSortKey;
  limit?: number;
}

interface FeatureJson {
  feature: number;
  frequency: number;
  mean: number;
  max: number;
  exemplars: Array<{ item: string; value: number }>;
  /**
   * Exemplars across activation ranges, as the API's FeatureDetail.rangeSamples (strongest range
   * first; lo ≤ value < hi, hi null for the open top) with items trimmed like `exemplars`; null
   * for an index built before range samples.
   */
  rangeSamples: Array<{ lo: number; hi: number | null; count: number; items: Array<{ item: string; value: number }> }> | null;
  /** Video indexes only. */
  autocorrelation?: number | null;
  switch_rate?: number | null;
}

function toFeatureJson(detail: FeatureDetail, video = false): FeatureJson {
  const { row } = detail;
  return {
    feature: row.feature,
    frequency: row.frequency,
    mean: row.mean,
    max: row.max,
    ...(video ? { autocorrelation: row.autocorrelation, switch_rate: row.switchRate } : {}),
    exemplars: detail.exemplars.map((e) => ({ item: e.item, value: e.value })),
    rangeSamples:
      detail.rangeSamples?.map((r) => ({ lo: r.lo, hi: r.hi, count: r.count, items: r.items.map((e) => ({ item: e.item, value: e.value })) })) ?? null,
  };
}

async function featureJson(backend: StudioBackend, indexId: string, row: FeatureRow, video: boolean): Promise<FeatureJson> {
  return toFeatureJson(await backend.featureDetail({ indexId, feature: row.feature }), video);
}

/** Rows in the requested order, page by page. `index` ascends; the statistics descend (top first). */
async function* featureRows(backend: StudioBackend, indexId: string, sort: FeatureSortKey, limit: number) {
  let offset = 0;
  while (offset < limit) {
    const page = await backend.queryFeatures({
      indexId,
      sort,
      desc: sort !== 'index',
      offset,
      limit: Math.min(PAGE_SIZE, limit - offset),
    });
    if (page.rows.length === 0) return;
    yield* page.rows;
    offset += page.rows.length;
    if (offset >= page.total) return;
  }
}

const num = (v: number, digits: number) => (v === 0 ? '0' : v.toPrecision(digits));
/** Temporal statistics: 3 decimals, "-" when undefined, no "-0.000". */
const fixed = (v: number | null | undefined) => (v == null ? '-' : Math.abs(v) < 0.0005 ? '0.000' : v.toFixed(3));

export async function featuresCommand(dir: string, options: FeaturesOptions, deps: CliDeps): Promise<number> {
  return withBackend(deps, {}, async (backend) => {
    const summary = await backend.openIndex({ path: path.resolve(dir) });
    const out = deps.stdout;

    if (options.feature !== undefined) {
      if (options.feature >= summary.features) {
        throw new StudioError('bad-input', `Feature ${options.feature} does not exist: ${summary.name} has features 0..${summary.features - 1}.`);
      }
      const json = toFeatureJson(await backend.featureDetail({ indexId: summary.id, feature: options.feature }), summary.kind === 'videos');
      if (options.json) {
        out.write(`${JSON.stringify(json, null, 2)}\n`);
      } else {
        const temporal = summary.kind === 'videos' ? `  autocorr ${fixed(json.autocorrelation)}  switch ${fixed(json.switch_rate)}` : '';
        out.write(`${featureName(summary.name, json.feature)}  frequency ${num(json.frequency, 3)}  mean ${num(json.mean, 4)}  max ${num(json.max, 4)}${temporal}\n`);
        for (const [rank, e] of json.exemplars.entries()) out.write(`  ${String(rank + 1).padStart(3)}. ${num(e.value, 4).padStart(9)}  ${e.item}\n`);
      }
      return EXIT.ok;
    }

    const sort = options.sort ?? 'index';
    const limit = options.limit ?? summary.features;
    if (options.json) {
      // Streamed as it is produced: one element per line, valid JSON as a whole.
      out.write('[');
      let first = true;
      for await (const row of featureRows(backend, summary.id, sort, limit)) {
        out.write(`${first ? '\n' : ',\n'}${JSON.stringify(await featureJson(backend, summary.id, row, summary.kind === 'videos'))}`);
        first = false;
      }
      out.write(first ? ']\n' : '\n]\n');
      return EXIT.ok;
    }
    // Video indexes: lag-1 autocorrelation and switch rate (README "Temporal statistics"), "-" when undefined.
    const video = summary.kind === 'videos';
    const temporalHeader = video ? `  ${'autocorr'.padStart(8)}  ${'switch'.padStart(6)}` : '';
    out.write(`${'feature'.padEnd(summary.name.length + 8)}  ${'frequency'.padStart(10)}  ${'log10'.padStart(7)}  ${'mean'.padStart(10)}  ${'max'.padStart(10)}${temporalHeader}\n`);
    for await (const row of featureRows(backend, summary.id, sort, limit)) {
      const temporal = video ? `  ${fixed(row.autocorrelation).padStart(8)}  ${fixed(row.switchRate).padStart(6)}` : '';
      out.write(
        `${featureName(summary.name, row.feature).padEnd(summary.name.length + 8)}  ${num(row.frequency, 3).padStart(10)}  ${row.logFrequency.toFixed(2).padStart(7)}  ${num(row.mean, 4).padStart(10)}  ${num(row.max, 4).padStart(10)}${temporal}\n`,
      );
    }
    return EXIT.ok;
  });
}
