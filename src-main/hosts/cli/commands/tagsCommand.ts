import fs from 'node:fs';
import path from 'node:path';
import type { TagImportReport } from '../../../contract/index.js';
import { tagFileFormatOf } from '../../../core/tags/tagFiles.js';
import { EXIT, withBackend, type CliDeps } from '../context.js';
import { readCheckedTextSync } from '../../../core/util/checkedRead.js';

// `studio tags DIR --export FILE | --import FILE [--force]`: share tags and notes as CSV or JSON
// (format from the file extension). Without either option, prints what is tagged.

export interface TagsOptions {
  export?: string;
  import?: string;
  force?: boolean;
  json?: boolean;
}

export function formatImportReport(r: TagImportReport): string {
  const lines = [
    `Read ${r.features} feature${r.features === 1 ? '' : 's'}: ${r.categoriesSet} categories set, ${r.tagsAdded} tags added, ` +
      `${r.notesAdded} notes added, ${r.reviewedSet} marked reviewed.`,
  ];
  if (r.conflicts.length) {
    lines.push(`${r.conflicts.length} conflict${r.conflicts.length === 1 ? '' : 's'} (kept this index's category; change it by hand if the file is right):`);
    for (const c of r.conflicts.slice(0, 50)) lines.push(`  feature ${c.feature}: here '${c.ours}', file '${c.theirs}'`);
    if (r.conflicts.length > 50) lines.push(`  … and ${r.conflicts.length - 50} more (use --json for all)`);
  }
  if (r.skipped.length) {
    lines.push(`${r.skipped.length} entr${r.skipped.length === 1 ? 'y' : 'ies'} skipped:`);
    for (const s of r.skipped.slice(0, 20)) lines.push(`  ${s.where}: ${s.reason}`);
  }
  return lines.join('\n');
}

export async function tagsCommand(dir: string, options: TagsOptions, deps: CliDeps): Promise<number> {
  if (options.export && options.import) {
    deps.stderr.write('error: give either --export FILE or --import FILE, not both.\n');
    return EXIT.usage;
  }
  const file = options.export ?? options.import;
  const format = file ? tagFileFormatOf(file) : null;
  if (file && !format) {
    deps.stderr.write(`error: cannot tell the format of ${file}: name it .csv or .json.\n`);
    return EXIT.usage;
  }
  return withBackend(deps, {}, async (backend) => {
    const summary = await backend.openIndex({ path: path.resolve(dir) });
    if (options.export && format) {
      const out = await backend.exportTags({ indexId: summary.id, format });
      fs.writeFileSync(path.resolve(options.export), out.text);
      deps.stdout.write(`Wrote ${out.features} tagged feature${out.features === 1 ? '' : 's'} of ${summary.name} to ${options.export}\n`);
      return EXIT.ok;
    }
    if (options.import && format) {
      let text: string;
      try {
        text = readCheckedTextSync(path.resolve(options.import), 'tags');
      } catch (err) {
        deps.stderr.write(`error: cannot read ${options.import}: ${(err as Error).message}\n`);
        return EXIT.failure;
      }
      const report = await backend.importTags({ indexId: summary.id, format, text, force: options.force });
      const { before: _before, ...shown } = report;
      deps.stdout.write(options.json ? `${JSON.stringify(shown, null, 2)}\n` : `${formatImportReport(report)}\n`);
      return EXIT.ok;
    }
    const o = await backend.tagOverview({ indexId: summary.id });
    if (options.json) {
      deps.stdout.write(`${JSON.stringify(o, null, 2)}\n`);
      return EXIT.ok;
    }
    deps.stdout.write(
      `${summary.name} (SAE ${o.saeHash.slice(0, 12)}…): scene ${o.categories.scene}, action ${o.categories.action}, ` +
        `object ${o.categories.object}; ${o.reviewed} reviewed; ${o.withNotes} with notes\n` +
        (o.tags.length ? `Tags: ${o.tags.map((t) => `${t.tag} (${t.count})`).join(', ')}\n` : 'No free tags yet.\n'),
    );
    return EXIT.ok;
  });
}
