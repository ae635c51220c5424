// In-memory tags for the fakes (fakeBackend, fakeStudioClient): the same semantics as the core's
// TagService (edit returns records and before, restore puts records back, import merges and reports
// conflicts), without SQLite.
import type {
  CategorySuggestion,
  FeatureCategory,
  FeatureTags,
  TagAgreement,
  TagChange,
  TagEdit,
  TagExport,
  TagImportReport,
  TagOverview,
} from '../../src-main/contract/index.js';

export interface MemoryTags {
  get(feature: number): FeatureTags;
  edit(e: TagEdit): TagChange;
  restore(records: FeatureTags[]): TagChange;
  overview(): TagOverview;
  exportTags(format: 'csv' | 'json', name: string): TagExport;
  importTags(text: string): TagImportReport;
  suggest(feature: number): CategorySuggestion;
  agreement(): TagAgreement;
  author: string;
}

const clone = (t: FeatureTags): FeatureTags => ({ ...t, tags: [...t.tags], notes: t.notes.map((n) => ({ ...n })) });

export function createMemoryTags(saeHash: string, suggestFor: (feature: number) => FeatureCategory | null): MemoryTags {
  const records = new Map<number, FeatureTags>();
  const get = (feature: number): FeatureTags =>
    clone(records.get(feature) ?? { feature, category: null, tags: [], notes: [], reviewed: false });
  const put = (r: FeatureTags) => records.set(r.feature, clone(r));
  const m: MemoryTags = {
    author: 'tester',
    get,
    edit(e) {
      const before = (e.features ?? []).map(get);
      const after = before.map((b) => {
        const tags = new Set(b.tags);
        for (const t of e.addTags ?? []) if (t.trim()) tags.add(t.trim().toLowerCase());
        for (const t of e.removeTags ?? []) tags.delete(t.trim().toLowerCase());
        return {
          feature: b.feature,
          category: e.category !== undefined ? e.category : b.category,
          reviewed: e.reviewed ?? b.reviewed,
          tags: [...tags].sort(),
          notes: e.note ? [...b.notes, { text: e.note, author: m.author, time: new Date().toISOString() }] : b.notes,
        };
      });
      after.forEach(put);
      return { records: after.map(clone), before };
    },
    restore(list = []) {
      const before = list.map((r) => get(r.feature));
      list.forEach(put);
      return { records: list.map(clone), before };
    },
    overview() {
      const categories: Record<FeatureCategory, number> = { scene: 0, action: 0, object: 0 };
      const tagCounts = new Map<string, number>();
      let reviewed = 0;
      let withNotes = 0;
      for (const r of records.values()) {
        if (r.category) categories[r.category]++;
        if (r.reviewed) reviewed++;
        if (r.notes.length) withNotes++;
        for (const t of r.tags) tagCounts.set(t, (tagCounts.get(t) ?? 0) + 1);
      }
      const tags = [...tagCounts].map(([tag, count]) => ({ tag, count })).sort((a, b) => b.count - a.count || a.tag.localeCompare(b.tag));
      return { saeHash, categories, reviewed, withNotes, tags };
    },
    exportTags(format, name) {
      const list = [...records.values()].sort((a, b) => a.feature - b.feature);
      const text =
        format === 'json'
          ? JSON.stringify({ sae: { hash: saeHash, name }, features: list })
          : ['feature,category,tags,note', ...list.map((r) => `${r.feature},${r.category ?? ''},${r.tags.join(';')},`)].join('\n');
      return { format, fileName: `${name}-tags.${format}`, text, features: list.length };
    },
    importTags(text) {
      let data: { features: FeatureTags[] } = { features: [] };
      try {
        data = JSON.parse(text) as { features: FeatureTags[] };
      } catch {
        // The fake only reads JSON; anything else imports nothing.
      }
      const report: TagImportReport = { features: 0, categoriesSet: 0, tagsAdded: 0, notesAdded: 0, reviewedSet: 0, conflicts: [], skipped: [], before: [] };
      for (const theirs of data.features ?? []) {
        report.features++;
        const mine = get(theirs.feature);
        report.before.push(clone(mine));
        if (theirs.category && mine.category && theirs.category !== mine.category) {
          report.conflicts.push({ feature: theirs.feature, ours: mine.category, theirs: theirs.category });
        } else if (theirs.category && !mine.category) {
          mine.category = theirs.category;
          report.categoriesSet++;
        }
        put({ ...mine, tags: [...new Set([...mine.tags, ...theirs.tags])].sort() });
      }
      return report;
    },
    suggest(feature) {
      const category = suggestFor(feature);
      return {
        feature,
        category,
        confidence: category ? 0.7 : 0,
        reasons: category
          ? [`Active on ${category === 'scene' ? 64 : 9}% of patches per exemplar on average (above 10% of its scale).`, 'No temporal statistics in this index, so action is never suggested.']
          : ['Spread between 20% and 50%: neither frame-wide nor compact, so no suggestion.'],
        spread: category === 'scene' ? 0.64 : category === 'object' ? 0.09 : 0.33,
        labelClasses: 3,
        topLabelShare: 0.5,
      };
    },
    agreement() {
      const zero = (): Record<FeatureCategory, number> => ({ scene: 0, action: 0, object: 0 });
      const counts: TagAgreement['counts'] = { scene: zero(), action: zero(), object: zero(), none: zero() };
      let tagged = 0;
      let agree = 0;
      for (const r of records.values()) {
        if (!r.category) continue;
        const s = suggestFor(r.feature);
        counts[s ?? 'none'][r.category]++;
        tagged++;
        if (s === r.category) agree++;
      }
      return { counts, tagged, agree };
    },
  };
  return m;
}
