import { z } from 'zod';
import { indexId, optionalLimit } from './common.js';
import { returns, type MethodTable } from './method.js';

// Patch queries: an image run through the models of some indexes (in the analysis worker), then
// the features ranked by their activation on the patches a user selects.

/** An image to ask about: a file path the host can read, or the file's bytes (base64). */
export const queryImageSource = z.strictObject({
  path: z.string().optional(),
  data: z.string().optional(),
  name: z.string().optional(),
});
export type QueryImageSource = z.infer<typeof queryImageSource>;

export const patchQuery = z.strictObject({
  imageId: z.string().min(1),
  indexId,
  /** [row, column] of the model's patch grid, from 0. */
  patches: z.array(z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()])),
  /** Optional weight per patch (default 1): a selection mapped from another model's grid. */
  weights: z.array(z.number()).optional(),
  limit: optionalLimit,
});
export type PatchQuery = z.infer<typeof patchQuery>;

/** One model's view of a query image. */
export interface QueryImageView {
  indexId: string;
  name: string;
  grid: [number, number];
  /** The model's input crop as a PNG data URL: what the patches cover. */
  preview: string;
  /** That crop in source-image fractions [x0, y0, x1, y1], for mapping patches between models. */
  crop: [number, number, number, number];
}

export interface QueryImage {
  imageId: string;
  name: string;
  sourceWidth: number;
  sourceHeight: number;
  views: QueryImageView[];
}


export interface PatchFeature {
  feature: number;
  /** Activation summed over the selected patches (weighted). */
  value: number;
  /** Largest single-patch activation among them. */
  max: number;
  /** The feature's activation on every patch of the image, row-major over the grid. */
  patchMap: number[];
}

export interface PatchQueryResult {
  imageId: string;
  indexId: string;
  patches: number;
  features: PatchFeature[];
}


export const queryMethods = {
  /** Runs an image through the models of these indexes (in the worker) and keeps its codes. */
  loadQueryImage: {
    args: z.strictObject({ image: queryImageSource, indexIds: z.array(indexId).min(1, 'Give one to four index ids.').max(4, 'Give one to four index ids.') }),
    result: returns<QueryImage>(),
    errors: ['not-found', 'bad-request', 'bad-input', 'superseded'],
  },
  /** Features ranked by activation summed over the selected patches; a newer query supersedes an older one. */
  queryPatches: {
    args: patchQuery,
    result: returns<PatchQueryResult>(),
    errors: ['not-found', 'bad-request', 'superseded'],
  },
} satisfies MethodTable;
