// What a user may type or paste to go to a feature: every form the studio itself prints —
// `88`, `#88`, `TOY-A-256/88` (MODEL-WIDTH/INDEX, as the table, the feature page and the CLI
// show it), a group member's `TOY-A-256 a-topk/88` — with surrounding spaces. A name that belongs
// to another index is refused rather than silently opening the same number here.

export type FeatureIdParse = { ok: true; feature: number } | { ok: false; message: string };

const FORM = /^(?:(.*\S)\s*\/\s*)?#?\s*(\d+)$/;

export function parseFeatureInput(text: string | number, featureCount: number, indexName?: string): FeatureIdParse {
  const range = `a feature from 0 to ${Math.max(0, featureCount - 1).toLocaleString('en-US')}`;
  const trimmed = String(text).trim();
  if (trimmed === '') return { ok: false, message: `Enter ${range}, or a name like ${indexName ?? 'CLIP-24K'}/12` };
  const match = FORM.exec(trimmed);
  if (!match) return { ok: false, message: `"${trimmed}" is not a feature id: enter ${range}, or a name like ${indexName ?? 'CLIP-24K'}/12` };
  const [, prefix, digits] = match;
  if (prefix && indexName && prefix !== indexName && !indexName.startsWith(`${prefix} `)) {
    return { ok: false, message: `${trimmed} names a feature of ${prefix}; this index is ${indexName}` };
  }
  const feature = Number(digits);
  if (!Number.isSafeInteger(feature) || feature >= featureCount) return { ok: false, message: `No feature ${digits} here: enter ${range}` };
  return { ok: true, feature };
}
