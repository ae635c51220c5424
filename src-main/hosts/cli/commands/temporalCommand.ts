import path from 'node:path';
import type { FeatureRow } from '../../../contract/index.js';
import { StudioError } from '../../../core/errors.js';
import { resolveIndexFolder } from '../../../core/store/indexGroup.js';
import { EXIT, withBackend, type CliDeps } from '../context.js';

// `studio temporal DIR [--sae NAME] [--json]`: the temporal statistics of a video index (the
// definitions are in core/temporal/temporalStats.ts and the README's "Video" section).

const PAGE_SIZE = 1000;

/** The index folder for DIR, or for member NAME of a group folder (several SAEs, one pass). */
export function indexFolderArg(dir: string, sae?: string): string {
  return resolveIndexFolder(path.resolve(dir), sae ?? null).dir;
}

export async function temporalCommand(dir: string, options: { json?: boolean; sae?: string }, deps: CliDeps): Promise<number> {
  const folder = indexFolderArg(dir, options.sae);
  return withBackend(deps, {}, async (backend) => {
    const summary = await backend.openIndex({ path: folder });
    if (!summary.temporal) {
      throw new StudioError('bad-input', `${summary.path} is not a video index (no temporal statistics); index clips with --kind videos.`);
    }
    const rows: FeatureRow[] = [];
    for (let offset = 0; offset < summary.features; offset += PAGE_SIZE) {
      const page = await backend.queryFeatures({ indexId: summary.id, sort: 'index', desc: false, offset, limit: PAGE_SIZE });
      rows.push(...page.rows);
      if (page.rows.length === 0) break;
    }
    const t = summary.temporal;
    if (options.json) {
      const json = {
        autocorrelation: t.autocorrelation,
        switch_rate: meanOf(rows.map((r) => r.switchRate)),
        raw_autocorrelation: t.rawAutocorrelation,
        coherence_kept: t.coherenceKept,
        features: rows.map((r) => ({ feature: r.feature, autocorrelation: r.autocorrelation, switch_rate: r.switchRate })),
      };
      deps.stdout.write(`${JSON.stringify(json)}\n`);
      return EXIT.ok;
    }
    const f = (v: number | null) => (v === null ? '—' : v.toFixed(3));
    const defined = rows.filter((r) => r.autocorrelation !== null).length;
    deps.stdout.write(
      `${summary.name}  (${summary.path})\n` +
        `Autocorrelation      ${f(t.autocorrelation)}  (mean over ${defined} features with a value)\n` +
        `Raw autocorrelation  ${f(t.rawAutocorrelation)}\n` +
        `Coherence kept       ${t.coherenceKept === null ? '—' : `${(100 * t.coherenceKept).toFixed(1)}%`}\n` +
        `Switch rate          ${f(meanOf(rows.map((r) => r.switchRate)))}  (mean over active features)\n` +
        `Pairs                ${t.pairs}\n`,
    );
    return EXIT.ok;
  });
}

function meanOf(values: (number | null)[]): number | null {
  const v = values.filter((x): x is number => x !== null);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
}
