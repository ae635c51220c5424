import { z } from 'zod';
import { featureNumber, indexId } from './common.js';
import { featureCategory, type FeatureCategory } from './features.js';
import { returns, type MethodTable } from './method.js';

// What a user records about features: category, free tags, notes, the reviewed mark (they belong
// to the SAE's weights, not to one index), exchanged as CSV/JSON files, and suggested categories.

export interface FeatureNote {
  text: string;
  author: string;
  /** ISO 8601. */
  time: string;
}

/** What the user recorded about one feature. Belongs to the SAE (its weights hash), not the index. */
export interface FeatureTags {
  feature: number;
  category: FeatureCategory | null;
  tags: string[];
  notes: FeatureNote[];
  reviewed: boolean;
}


/** Records after a change, and before it (what undo restores). */
export interface TagChange {
  records: FeatureTags[];
  before: FeatureTags[];
}

export interface TagCount {
  tag: string;
  count: number;
}

export interface TagOverview {
  saeHash: string;
  categories: Record<FeatureCategory, number>;
  reviewed: number;
  withNotes: number;
  tags: TagCount[];
}

const tagFileFormat = z.enum(['csv', 'json']);
export type TagFileFormat = z.infer<typeof tagFileFormat>;

export interface TagExport {
  format: TagFileFormat;
  /** Suggested file name, e.g. `CLIP-24K-tags.csv`. */
  fileName: string;
  text: string;
  features: number;
}

export interface TagConflict {
  feature: number;
  ours: FeatureCategory;
  theirs: FeatureCategory;
}

export interface TagImportReport {
  /** Features mentioned in the file. */
  features: number;
  categoriesSet: number;
  tagsAdded: number;
  notesAdded: number;
  reviewedSet: number;
  /** Same feature, different category: ours was kept. */
  conflicts: TagConflict[];
  /** Lines or entries that could not be read, with why. */
  skipped: { where: string; reason: string }[];
  /** Records before the import, for undo. */
  before: FeatureTags[];
}

/** A category the index data suggests, with its reasons; never applied without the user. */
export interface CategorySuggestion {
  feature: number;
  category: FeatureCategory | null;
  /** 0..1: how far the measurements are from the rule's thresholds. */
  confidence: number;
  reasons: string[];
  /** Mean over exemplars of the fraction of patches above 10% of the feature's scale. */
  spread: number | null;
  /** Distinct labels among the exemplars, and the share of the most common one. */
  labelClasses: number;
  topLabelShare: number | null;
}

/** Suggested (rows, 'none' = no suggestion) against the user's categories (columns), over tagged features. */
export interface TagAgreement {
  counts: Record<FeatureCategory | 'none', Record<FeatureCategory, number>>;
  tagged: number;
  agree: number;
}


const tagList = z.array(z.string());

/** One edit applied to every listed feature; absent fields are left as they are. */
const tagEdit = z.strictObject({
  indexId,
  features: z.array(featureNumber).min(1, 'Select at least one feature to tag.'),
  /** null clears the category. */
  category: featureCategory.nullish(),
  reviewed: z.boolean().optional(),
  addTags: tagList.optional(),
  removeTags: tagList.optional(),
  /** Appends a note (author from the app setting, time now). */
  note: z.string().optional(),
});
export type TagEdit = z.infer<typeof tagEdit>;

/** A whole record as a result gave it (restoreTags puts these back for undo and redo). */
const featureTagsRecord = z.strictObject({
  feature: featureNumber,
  category: featureCategory.nullable(),
  tags: tagList,
  notes: z.array(z.strictObject({ text: z.string(), author: z.string(), time: z.string() })),
  reviewed: z.boolean(),
}) satisfies z.ZodType<FeatureTags>;

const featureArgs = z.strictObject({ indexId, feature: featureNumber });
const indexArgs = z.strictObject({ indexId });

export const tagsMethods = {
  featureTags: {
    args: featureArgs,
    result: returns<FeatureTags>(),
    errors: ['not-found', 'bad-request'],
  },
  editTags: {
    args: tagEdit,
    result: returns<TagChange>(),
    errors: ['not-found', 'bad-request', 'internal'],
  },
  /** Puts records back exactly as given (undo/redo). */
  restoreTags: {
    args: z.strictObject({ indexId, records: z.array(featureTagsRecord) }),
    result: returns<TagChange>(),
    errors: ['not-found', 'bad-request', 'internal'],
  },
  tagOverview: {
    args: indexArgs,
    result: returns<TagOverview>(),
    errors: ['not-found'],
  },
  exportTags: {
    args: z.strictObject({ indexId, format: tagFileFormat }),
    result: returns<TagExport>(),
    errors: ['not-found'],
  },
  /** Merges a file's tags: adds what is missing, reports category conflicts instead of overwriting. */
  importTags: {
    args: z.strictObject({ indexId, format: tagFileFormat, text: z.string(), force: z.boolean().optional() }),
    result: returns<TagImportReport>(),
    errors: ['not-found', 'bad-input', 'internal'],
  },
  suggestCategory: {
    args: featureArgs,
    result: returns<CategorySuggestion>(),
    errors: ['not-found', 'bad-request'],
  },
  tagAgreement: {
    args: indexArgs,
    result: returns<TagAgreement>(),
    errors: ['not-found'],
  },
  /** Author written on new notes (app setting; default: the OS user name). */
  noteAuthor: {
    args: null,
    result: returns<string>(),
    errors: [],
  },
  setNoteAuthor: {
    args: z.strictObject({ author: z.string() }),
    result: returns<string>(),
    errors: ['bad-request'],
  },
} satisfies MethodTable;
