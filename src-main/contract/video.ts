import { z } from 'zod';
import { featureNumber, indexId, optionalLimit } from './common.js';
import { returns, type MethodTable } from './method.js';

// Video and flicker: one clip through one or two SAEs on the same backbone layer (in the analysis
// worker), a feature's patch maps and trace over the clip, and its closest features in the other SAE.

const clipSampling = z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('segments'), count: z.number().int().min(2, 'Segments must be from 2 to 256.').max(256, 'Segments must be from 2 to 256.') }),
  z.strictObject({ mode: z.literal('fps'), fps: z.number().positive('The frame rate must be positive.') }),
]);
export type ClipSampling = z.infer<typeof clipSampling>;

const openClipArgs = z
  .strictObject({
    indexId,
    /** A clip path relative to the index's dataset folder (an item of a video index)... */
    item: z.string().min(1).optional(),
    /** ...or any clip path on this machine (video file, folder of frames, animated GIF/WebP). */
    path: z.string().min(1).optional(),
    /** A second index on the same backbone and layer, shown side by side. */
    otherIndexId: indexId.nullish(),
    /** Default: the index's own segment sampling, else 16 evenly spaced segments. */
    sampling: clipSampling.optional(),
  })
  .refine((a) => a.item !== undefined || a.path !== undefined, {
    message: 'Pick a clip: a video file in the dataset folder (item) or any path.',
  });
export type OpenClipArgs = z.infer<typeof openClipArgs>;

export interface OpenClip {
  clipId: string;
  name: string;
  /** The clip's absolute path. */
  path: string;
  /** Sampled frames (T). */
  frames: number;
  /** Which source frames were sampled. */
  frameIndexes: number[];
  grid: [number, number];
  /** One JPEG data URL per frame: the model's crop. */
  frameImages: string[];
  /** Each SAE, with its strongest features in this clip (max over frames and patches), for the pickers. */
  saes: { indexId: string; name: string; features: number; top: { feature: number; max: number }[] }[];
}

export interface FlickerFeature {
  clipId: string;
  indexId: string;
  feature: number;
  /** [T][P] activation on every patch (row-major over the grid) of every frame. */
  maps: number[][];
  /** Max over patches per frame. */
  trace: number[];
  /** Max over the whole clip (one heatmap scale per feature). */
  upper: number;
  /** The definitions over this clip's (patch, t→t+1) pairs; null when undefined. */
  clipAutocorrelation: number | null;
  clipSwitchRate: number | null;
}

export interface ClosestFeature {
  feature: number;
  /** Pearson correlation over every (frame, patch) of the clip. */
  correlation: number;
  max: number;
}


export const videoMethods = {
  /** Decodes a clip and runs it through the index's backbone and SAE (and another index's SAE on the same layer), in the worker. */
  openClip: {
    args: openClipArgs,
    result: returns<OpenClip>(),
    errors: ['not-found', 'bad-request', 'bad-input', 'superseded'],
  },
  /** One feature's patch maps and trace over an open clip; a newer request for the same index supersedes an older one. */
  flickerFeature: {
    args: z.strictObject({ clipId: z.string().min(1), indexId, feature: featureNumber }),
    result: returns<FlickerFeature>(),
    errors: ['not-found', 'superseded'],
  },
  /** The other SAE's features ranked by correlation with this one over the clip's (frame, patch) activations. */
  closestFeatures: {
    args: z.strictObject({
      clipId: z.string().min(1),
      indexId,
      feature: featureNumber,
      otherIndexId: indexId,
      limit: optionalLimit,
      /** Only the other SAE's features below this number (e.g. its first Matryoshka groups); null: all. */
      maxFeature: z.number().int().nullish(),
    }),
    result: returns<ClosestFeature[]>(),
    errors: ['not-found', 'superseded'],
  },
} satisfies MethodTable;
