// What a user may type or paste to go to a feature: every form the studio itself prints —
// `88`, `#88`, `TOY-A-256/88` (MODEL-WIDTH/INDEX, as the table, the feature page and the CLI
// show it), the name a user gave the index (`my-toys/88`), the indexer's name after a rename,
// and the `TOY-A-256 a-topk/88` form older group members printed — with surrounding spaces. A
// name that belongs to another index is refused rather than silently opening the same number here.

export type FeatureIdParse = { ok: true; feature: number } | { ok: false; message: string };

const FORM = /^(?:(.*\S)\s*\/\s*)?#?\s*(\d+)$/;

/**
 * Other names an index answers to, keyed by its current name: the index store records them when
 * a summary loads, so every id field that only knows the current name (a prop passed down the
 * views) still accepts the indexer's name and a group member's legacy form.
 */
const aliases = new Map<string, string[]>();

export function rememberIndexNames(summary: { name: string; defaultName?: string; member?: string | null }): void {
  const base = summary.defaultName ?? summary.name;
  const names = [summary.name, base];
  if (summary.member) names.push(`${base} ${summary.member}`);
  aliases.set(summary.name, [...new Set(names)]);
}

const norm = (s: string) => s.trim().replace(/\s+/g, ' ').toLowerCase();

/** Every name a feature id of this index may carry. */
function namesOf(indexName: string): string[] {
  return aliases.get(indexName) ?? [indexName];
}

export function parseFeatureInput(text: string | number, featureCount: number, indexName?: string): FeatureIdParse {
  const range = `a feature from 0 to ${Math.max(0, featureCount - 1).toLocaleString('en-US')}`;
  const trimmed = String(text).trim();
  if (trimmed === '') return { ok: false, message: `Enter ${range}, or a name like ${indexName ?? 'CLIP-24K'}/12` };
  const match = FORM.exec(trimmed);
  if (!match) return { ok: false, message: `"${trimmed}" is not a feature id: enter ${range}, or a name like ${indexName ?? 'CLIP-24K'}/12` };
  const [, prefix, digits] = match;
  if (prefix && indexName && !namesOf(indexName).some((n) => norm(n) === norm(prefix))) {
    return { ok: false, message: `${trimmed} names a feature of ${prefix}; this index is ${indexName}` };
  }
  const feature = Number(digits);
  if (!Number.isSafeInteger(feature) || feature >= featureCount) return { ok: false, message: `No feature ${digits} here: enter ${range}` };
  return { ok: true, feature };
}
