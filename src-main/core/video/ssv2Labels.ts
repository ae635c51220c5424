import fs from 'node:fs';
import { z } from 'zod';
import { StudioError } from '../errors.js';
import { readCheckedTextSync } from '../util/checkedRead.js';

// Something-Something v2 style labels: a JSON list of {id, label, template, placeholders}; the
// template ("Pushing [something] from left to right") is the class, the label its filled form.

const entrySchema = z
  .object({
    id: z.union([z.string(), z.number()]).transform(String),
    template: z.string().optional(),
    label: z.string().optional(),
  })
  .passthrough();

export interface ClipLabel {
  /** The class: the template with placeholders normalised to "[something]". */
  template: string;
  /** The filled-in text, when given. */
  text: string | null;
}

/** clip id → label. Templates are normalised so "[Something]" and "[something]" agree. */
export function readSsv2Labels(file: string): Map<string, ClipLabel> {
  let raw: unknown;
  try {
    raw = JSON.parse(readCheckedTextSync(file, 'labels'));
  } catch (err) {
    throw new StudioError('bad-input', `cannot read SSv2 labels ${file}: ${(err as Error).message}`);
  }
  const parsed = z.array(entrySchema).safeParse(raw);
  if (!parsed.success) throw new StudioError('bad-input', `${file} is not an SSv2 label list ([{"id", "template", "label"}, ...]).`);
  const out = new Map<string, ClipLabel>();
  for (const e of parsed.data) {
    const template = (e.template ?? e.label ?? '').replace(/\[[^\]]*\]/g, '[something]').trim();
    if (!template) continue;
    out.set(e.id, { template, text: e.label ?? null });
  }
  return out;
}
