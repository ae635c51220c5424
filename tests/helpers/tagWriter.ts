// Child process for the concurrent tag writers test: one process with its own connection to an
// index (as a `serve` or a CLI `tags import` would have), writing tags until a shared deadline.
// Every write that returned normally is printed as a JSON line; so are failures and warnings.
// Usage: tagWriter.ts <indexDir> <settingsDir> <name> <edits|import> <startAtMs> <stopAtMs>
import { IndexReader } from '../../src-main/core/store/indexReader.js';
import { TagService } from '../../src-main/core/tags/tagService.js';
import { writeTagsCsv } from '../../src-main/core/tags/tagFiles.js';

const [indexDir, settingsDir, name, mode, startAt, stopAt] = process.argv.slice(2) as [string, string, string, string, string, string];
const say = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
process.on('warning', (w) => say({ warning: w.message }));

const reader = IndexReader.open(name, indexDir);
const tags = new TagService(settingsDir);
tags.syncOnOpen(reader);
while (Date.now() < Number(startAt)) await new Promise((r) => setTimeout(r, 2));

// Few features, so writers collide on the same records all the time.
const EDIT_FEATURES = 6;
const IMPORT_FEATURES = 12;
let i = 0;
while (Date.now() < Number(stopAt)) {
  const tag = `${name}-${i}`;
  try {
    if (mode === 'edits') {
      const feature = i % EDIT_FEATURES;
      const note = i % 5 === 0 ? `note ${tag}` : undefined;
      tags.edit(reader, { indexId: name, features: [feature], addTags: [tag], ...(note ? { note } : {}) });
      say({ ok: true, features: [feature], tag, note });
    } else {
      const records = Array.from({ length: IMPORT_FEATURES }, (_, f) => ({ feature: f, category: null, tags: [tag], notes: [], reviewed: false }));
      tags.import(reader, { format: 'csv', text: writeTagsCsv(records) });
      say({ ok: true, features: records.map((r) => r.feature), tag });
    }
  } catch (err) {
    say({ ok: false, tag, error: (err as Error).message });
  }
  i++;
  // Serve-like writers answer requests one at a time; yield between them like a server would.
  if (mode === 'edits') await new Promise((r) => setImmediate(r));
}
tags.close();
reader.close();
