import path from 'node:path';
import { featureName } from '../../../contract/index.js';
import { EXIT, withBackend, type CliDeps } from '../context.js';

// `studio match A_DIR B_DIR [--json] [--memory-budget MiB]`: matches the features of two indexes
// of the same dataset (in the analysis worker) and saves the result into both. --json prints each
// live feature's best match both ways and the mutual best pairs. The budget bounds what one pass
// over the items holds (runMatch.ts); memory does not grow with the item count.

export async function matchCommand(aDir: string, bDir: string, opts: { json?: boolean; memoryBudget?: number }, deps: CliDeps): Promise<number> {
  return withBackend(deps, {}, async (backend) => {
    const a = await backend.openIndex({ path: path.resolve(aDir) });
    const b = await backend.openIndex({ path: path.resolve(bDir) });
    const t0 = deps.now();
    const s = await backend.matchIndexes({ indexId: a.id, otherId: b.id, memoryBudget: opts.memoryBudget });
    if (!opts.json) {
      const out = deps.stdout;
      // Two SAEs of the same family and width share a name: tell them apart by folder.
      if (a.name === b.name) {
        a.name = `${a.name} (${path.basename(a.path)})`;
        b.name = `${b.name} (${path.basename(b.path)})`;
      }
      out.write(`Matched ${a.name} (${s.a.live} live features) with ${b.name} (${s.b.live} live) on ${s.itemsCommon} common items in ${((deps.now() - t0) / 1000).toFixed(1)} s.\n`);
      if (s.itemsOnlyA || s.itemsOnlyB) {
        out.write(`  ${s.itemsOnlyA} item(s) only in ${a.name} (e.g. ${s.examplesOnlyA[0] ?? '-'}), ${s.itemsOnlyB} only in ${b.name} (e.g. ${s.examplesOnlyB[0] ?? '-'}); they were left out.\n`);
      }
      out.write(`  ${s.coActivePairs.toLocaleString('en-US')} co-active pairs, ${s.mutual} mutual best pairs. Saved into both indexes.\n`);
      const top = await backend.matchList({ indexId: a.id, otherId: b.id, kind: 'mutual', sort: 'score', desc: true, offset: 0, limit: 10 });
      for (const r of top.rows) {
        out.write(`  ${featureName(a.name, r.feature).padEnd(a.name.length + 8)} ↔ ${featureName(b.name, r.other).padEnd(b.name.length + 8)} r=${r.score.toFixed(3)}  lift ${r.lift.toFixed(1)}\n`);
      }
      return EXIT.ok;
    }
    // Each index holds both directions; its own rank-0 rows give its best matches in one query.
    const aToB = (await backend.matchBest({ indexId: a.id, otherId: b.id })).map((r) => ({ a: r.feature, b: r.other, score: r.score }));
    const bToA = (await backend.matchBest({ indexId: b.id, otherId: a.id })).map((r) => ({ b: r.feature, a: r.other, score: r.score }));
    const mutual: { a: number; b: number; score: number }[] = [];
    for (let offset = 0; ; offset += 5000) {
      const page = await backend.matchList({ indexId: a.id, otherId: b.id, kind: 'mutual', sort: 'score', desc: true, offset, limit: 5000 });
      mutual.push(...page.rows.map((r) => ({ a: r.feature, b: r.other, score: r.score })));
      if (offset + page.rows.length >= page.total || page.rows.length === 0) break;
    }
    deps.stdout.write(`${JSON.stringify({ a_to_b: aToB, b_to_a: bToA, mutual })}\n`);
    return EXIT.ok;
  });
}
