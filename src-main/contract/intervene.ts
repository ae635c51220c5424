import { z } from 'zod';
import { featureNumber, indexId, nonEmpty } from './common.js';
import { returns, type MethodTable } from './method.js';
import { queryImageSource } from './query.js';

// Interventions: a task head's output on one image before and after setting SAE features on
// chosen patches (the backbone, SAE and head stay open in the analysis worker).

/** More features than this at once stops being a readable experiment (and a slider column). */
export const MAX_EDITS = 8;
/** Multiples beyond this are almost surely a typo (the view's sliders go from −3 to 3). */
export const MAX_MULTIPLE = 100;

/** What an intervention session runs: an index's backbone, layer and SAE, a task head, one image. */
const interveneOpenArgs = z.strictObject({
  indexId,
  /** A head folder (head.json, head.safetensors, labels.json) on the host. */
  head: nonEmpty('Choose a head folder (head.json, head.safetensors and labels.json).'),
  image: queryImageSource,
});
export type InterveneOpenArgs = z.infer<typeof interveneOpenArgs>;

/** Set a feature to `multiple` × its max activation in the index (0 suppresses; −2 and 2 mean the same across features). */
const interveneEdit = z.strictObject({
  feature: featureNumber,
  multiple: z
    .number()
    .min(-MAX_MULTIPLE, `A multiple must be between −${MAX_MULTIPLE} and ${MAX_MULTIPLE}.`)
    .max(MAX_MULTIPLE, `A multiple must be between −${MAX_MULTIPLE} and ${MAX_MULTIPLE}.`),
});
export type InterveneEdit = z.infer<typeof interveneEdit>;

const interveneRunArgs = z.strictObject({
  sessionId: z.string().min(1),
  edits: z.array(interveneEdit).max(MAX_EDITS, `Give a list of at most ${MAX_EDITS} edits.`),
  /** Patches (row * columns + column) to edit; null: every patch. */
  patches: z.array(z.number().int().nonnegative()).min(1, 'Select at least one patch (or give null for every patch).').nullable(),
});
export type InterveneRunArgs = z.infer<typeof interveneRunArgs>;

export interface InterveneSession {
  sessionId: string;
  indexId: string;
  head: {
    path: string;
    task: 'classification' | 'segmentation';
    /** The backbone output the head reads. */
    input: string;
    labels: string[];
  };
  image: { name: string; sourceWidth: number; sourceHeight: number };
  grid: [number, number];
  /** The model's input crop as a PNG data URL: what the patches cover. */
  preview: string;
}



/** A head's output: class probabilities (classification) or each patch's class (segmentation). */
export interface InterveneOutput {
  /** Classification: probabilities in label order. */
  probs: number[] | null;
  /** Segmentation: per patch (row-major) the argmax class id, and its probability. */
  patchClasses: number[] | null;
  patchConfidence: number[] | null;
}

export interface InterveneResult {
  sessionId: string;
  task: 'classification' | 'segmentation';
  labels: string[];
  before: InterveneOutput;
  after: InterveneOutput;
  /** Each edit as applied: the feature's max in the index and the activation it was set to. */
  edits: { feature: number; multiple: number; max: number; value: number }[];
  /** Classification: classes whose probability moved by at least CHANGED_PROB (0.005), or that entered or left the top 5. */
  changedClasses: number[];
  /** Segmentation: patches whose class changed. */
  changedPatches: number[];
  /** Milliseconds the worker spent on this run. */
  ms: number;
}


export const interveneMethods = {
  /** Runs an image through an index's backbone up to its layer and SAE (in the worker) and opens a task head on it. */
  interveneOpen: {
    args: interveneOpenArgs,
    result: returns<InterveneSession>(),
    errors: ['not-found', 'bad-request', 'bad-input', 'superseded'],
  },
  /** Head output before and after setting features on patches; a newer run supersedes an older one. */
  interveneRun: {
    args: interveneRunArgs,
    result: returns<InterveneResult>(),
    errors: ['not-found', 'bad-request', 'bad-input', 'superseded'],
  },
} satisfies MethodTable;
