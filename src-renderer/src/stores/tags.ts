import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import type {
  ApiErrorPayload,
  CategorySuggestion,
  FeatureTags,
  TagAgreement,
  TagEdit,
  TagExport,
  TagFileFormat,
  TagImportReport,
  TagOverview,
} from '@contract';
import { useStoreClient } from '../api/storeClient';
import { describeError } from '../api/studioError';
import { useFeatureTableStore } from './featureTable';

/** A failure and where it happened: index (null: not tied to one) and feature (null: several or none). */
export interface TagsError extends ApiErrorPayload {
  title: string;
  indexId: string | null;
  feature: number | null;
}

/** Files larger than this are sent in parts (the web host takes request bodies up to 1 MB). */
export const IMPORT_PART_CHARS = 400_000;

/**
 * Splits a tag file into parts that each stay a valid file of the same format: CSV parts repeat the
 * header and break only between records (outside quotes); JSON parts keep the "sae" identity.
 */
export function splitTagFile(format: TagFileFormat, text: string, maxChars = IMPORT_PART_CHARS): string[] {
  if (text.length <= maxChars) return [text];
  if (format === 'json') {
    let data: { features?: unknown[] } & Record<string, unknown>;
    try {
      data = JSON.parse(text) as typeof data;
    } catch {
      return [text]; // the core explains what is wrong with it
    }
    if (!Array.isArray(data.features)) return [text];
    const parts: string[] = [];
    let chunk: unknown[] = [];
    let size = 0;
    for (const f of data.features) {
      const n = JSON.stringify(f).length + 1;
      if (chunk.length && size + n > maxChars) {
        parts.push(JSON.stringify({ ...data, features: chunk }));
        chunk = [];
        size = 0;
      }
      chunk.push(f);
      size += n;
    }
    parts.push(JSON.stringify({ ...data, features: chunk }));
    return parts;
  }
  // CSV: a newline ends a record only outside quotes (quotes inside fields are doubled, so the
  // parity of quotes seen so far tells).
  const headerEnd = text.indexOf('\n');
  if (headerEnd < 0) return [text];
  const header = text.slice(0, headerEnd + 1);
  const parts: string[] = [];
  let start = headerEnd + 1;
  let quotes = 0;
  let lastBreak = start;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) quotes++;
    else if (c === 10 && quotes % 2 === 0) {
      if (i + 1 - start > maxChars && lastBreak > start) {
        parts.push(header + text.slice(start, lastBreak));
        start = lastBreak;
      }
      lastBreak = i + 1;
    }
  }
  parts.push(header + text.slice(start));
  return parts;
}

/** How many changes undo can take back. */
export const UNDO_DEPTH = 200;

interface UndoEntry {
  indexId: string;
  label: string;
  /** Records to put back. */
  records: FeatureTags[];
}

/**
 * Tags, notes and reviewed marks, as the user edits them. Every change goes to the core at once
 * (which writes the index and the app-wide store); the store keeps the records it has seen and an
 * undo/redo stack of "records before" snapshots, so undo works for one key press, a bulk edit
 * of a thousand rows, or an import alike.
 */
export const useTagsStore = defineStore('tags', () => {
  const client = useStoreClient();
  const features = useFeatureTableStore();

  /** Latest known record per feature of `recordsFor`. */
  const records = ref<Record<number, FeatureTags>>({});
  const recordsFor = ref<string | null>(null);
  const overview = shallowRef<TagOverview | null>(null);
  const agreement = shallowRef<TagAgreement | null>(null);
  const suggestion = shallowRef<CategorySuggestion | null>(null);
  const author = ref<string | null>(null);
  /**
   * The last failure, with where it happened: views show only their own (a feature page its
   * feature's, the Tags panel its index's), so an error does not follow the user elsewhere.
   */
  const error = ref<TagsError | null>(null);
  const busy = ref(false);
  const undoStack = ref<UndoEntry[]>([]);
  const redoStack = ref<UndoEntry[]>([]);
  /** Short description of the last change, shown next to the undo button. */
  const lastAction = ref<string | null>(null);
  let suggestionRequest = 0;

  function remember(indexId: string, list: FeatureTags[]): void {
    if (recordsFor.value !== indexId) {
      records.value = {};
      recordsFor.value = indexId;
    }
    const next = { ...records.value };
    for (const r of list) next[r.feature] = r;
    records.value = next;
  }

  function recordOf(indexId: string, feature: number): FeatureTags | null {
    return recordsFor.value === indexId ? (records.value[feature] ?? null) : null;
  }

  function fail(e: unknown, title: string, indexId: string | null, feature: number | null): void {
    error.value = { ...describeError(e), title, indexId, feature };
  }

  /** The error to show for an index (any of its features), or for one feature of it; null: none. */
  function errorFor(indexId: string, feature?: number): TagsError | null {
    const e = error.value;
    if (!e) return null;
    if (e.indexId === null) return e;
    if (e.indexId !== indexId) return null;
    return feature === undefined || e.feature === feature ? e : null;
  }

  /** Shows a problem found by a view (e.g. a file of the wrong kind) in the index's Tags panel. */
  function reportError(indexId: string, problem: ApiErrorPayload, title: string): void {
    error.value = { ...problem, title, indexId, feature: null };
  }

  async function load(indexId: string, feature: number): Promise<void> {
    // A feature opened afresh starts clean: an old failure (another feature, another index) is stale.
    error.value = null;
    try {
      remember(indexId, [await client.featureTags({ indexId, feature })]);
    } catch (e) {
      fail(e, 'Could not load the tags', indexId, feature);
    }
  }

  /** After any change: rows in the table, counts and the agreement table follow. */
  function afterChange(indexId: string): void {
    if (features.indexId === indexId) void features.reloadLoaded();
    void refreshOverview(indexId);
    if (agreement.value) void refreshAgreement(indexId);
  }

  function push(stack: typeof undoStack, entry: UndoEntry): void {
    stack.value = [...stack.value, entry].slice(-UNDO_DEPTH);
  }

  async function edit(edit: TagEdit, label: string): Promise<boolean> {
    busy.value = true;
    error.value = null;
    try {
      const change = await client.editTags(edit);
      remember(edit.indexId, change.records);
      push(undoStack, { indexId: edit.indexId, label, records: change.before });
      redoStack.value = [];
      lastAction.value = label;
      afterChange(edit.indexId);
      return true;
    } catch (e) {
      fail(e, 'Could not save the tags', edit.indexId, edit.features.length === 1 ? edit.features[0]! : null);
      return false;
    } finally {
      busy.value = false;
    }
  }

  /** Replaces whole records (e.g. a note deleted), undoable like an edit. */
  async function put(indexId: string, list: FeatureTags[], label: string): Promise<boolean> {
    busy.value = true;
    error.value = null;
    try {
      const change = await client.restoreTags({ indexId, records: list });
      remember(indexId, change.records);
      push(undoStack, { indexId, label, records: change.before });
      redoStack.value = [];
      lastAction.value = label;
      afterChange(indexId);
      return true;
    } catch (e) {
      fail(e, 'Could not save the tags', indexId, list.length === 1 ? list[0]!.feature : null);
      return false;
    } finally {
      busy.value = false;
    }
  }

  async function replay(from: typeof undoStack, to: typeof undoStack, verb: string): Promise<boolean> {
    const entry = from.value[from.value.length - 1];
    if (!entry) return false;
    busy.value = true;
    error.value = null;
    try {
      const change = await client.restoreTags({ indexId: entry.indexId, records: entry.records });
      from.value = from.value.slice(0, -1);
      push(to, { indexId: entry.indexId, label: entry.label, records: change.before });
      remember(entry.indexId, change.records);
      lastAction.value = `${verb}: ${entry.label}`;
      afterChange(entry.indexId);
      return true;
    } catch (e) {
      fail(e, `Could not ${verb === 'Undone' ? 'undo' : 'redo'}`, entry.indexId, null);
      return false;
    } finally {
      busy.value = false;
    }
  }

  const undo = () => replay(undoStack, redoStack, 'Undone');
  const redo = () => replay(redoStack, undoStack, 'Redone');

  async function refreshOverview(indexId: string): Promise<void> {
    try {
      overview.value = await client.tagOverview({ indexId });
    } catch (e) {
      fail(e, 'Could not count the tags', indexId, null);
    }
  }

  async function refreshAgreement(indexId: string): Promise<void> {
    try {
      agreement.value = await client.tagAgreement({ indexId });
    } catch (e) {
      fail(e, 'Could not compare with the suggestions', indexId, null);
    }
  }

  async function loadSuggestion(indexId: string, feature: number): Promise<void> {
    const id = ++suggestionRequest;
    suggestion.value = null;
    try {
      const s = await client.suggestCategory({ indexId, feature });
      if (id === suggestionRequest) suggestion.value = s;
    } catch (e) {
      if (id === suggestionRequest) fail(e, 'Could not suggest a category', indexId, feature);
    }
  }

  async function loadAuthor(): Promise<void> {
    try {
      author.value = await client.noteAuthor();
    } catch (e) {
      fail(e, 'Could not read the note author', null, null);
    }
  }

  async function setAuthor(name: string): Promise<boolean> {
    try {
      author.value = await client.setNoteAuthor({ author: name });
      return true;
    } catch (e) {
      fail(e, 'Could not set the note author', null, null);
      return false;
    }
  }

  async function exportTags(indexId: string, format: TagFileFormat): Promise<TagExport | null> {
    error.value = null;
    try {
      return await client.exportTags({ indexId, format });
    } catch (e) {
      fail(e, 'Could not export the tags', indexId, null);
      return null;
    }
  }

  /** Imports a file's text; the report (conflicts, skipped lines) is returned and kept. */
  const lastImport = shallowRef<TagImportReport | null>(null);
  async function importTags(indexId: string, format: TagFileFormat, text: string, force = false): Promise<TagImportReport | null> {
    busy.value = true;
    error.value = null;
    try {
      const parts = splitTagFile(format, text);
      let report: TagImportReport | null = null;
      for (const [i, part] of parts.entries()) {
        const r = await client.importTags({ indexId, format, text: part, force });
        const skipped = parts.length > 1 ? r.skipped.map((s) => ({ ...s, where: `part ${i + 1}, ${s.where}` })) : r.skipped;
        report = report
          ? {
              features: report.features + r.features,
              categoriesSet: report.categoriesSet + r.categoriesSet,
              tagsAdded: report.tagsAdded + r.tagsAdded,
              notesAdded: report.notesAdded + r.notesAdded,
              reviewedSet: report.reviewedSet + r.reviewedSet,
              conflicts: [...report.conflicts, ...r.conflicts],
              skipped: [...report.skipped, ...skipped],
              before: [...report.before, ...r.before],
            }
          : { ...r, skipped };
      }
      if (!report) return null;
      lastImport.value = report;
      if (report.before.length) {
        push(undoStack, { indexId, label: `import of ${report.before.length} features`, records: report.before });
        redoStack.value = [];
        lastAction.value = `Imported ${report.features} features`;
      }
      records.value = {};
      afterChange(indexId);
      return report;
    } catch (e) {
      fail(e, 'Could not import the tags', indexId, null);
      return null;
    } finally {
      busy.value = false;
    }
  }

  return {
    records,
    overview,
    agreement,
    suggestion,
    author,
    error,
    errorFor,
    reportError,
    busy,
    undoStack,
    redoStack,
    lastAction,
    lastImport,
    recordOf,
    load,
    edit,
    put,
    undo,
    redo,
    refreshOverview,
    refreshAgreement,
    loadSuggestion,
    loadAuthor,
    setAuthor,
    exportTags,
    importTags,
  };
});
