import { z } from 'zod';
import type { JobInfo } from './jobs.js';
import { returns, type MethodTable } from './method.js';

// The embedded demo: built once in the studio's data folder (as a job), then opened like any index.

export const demoSize = z.enum(['full', 'small']);
export type DemoSize = z.infer<typeof demoSize>;

/** The embedded demo in the studio's data folder (see core/demo/buildDemo.ts). */
export interface DemoStatus {
  folder: string;
  built: boolean;
  /** The index the app opens first (clips through toy backbone A, TopK and Matryoshka side by side). */
  open: string | null;
  indexes: { label: string; path: string }[];
  /** Seconds the last build took. */
  seconds: number | null;
  /** The running build, if any. */
  jobId: string | null;
  /** The build's steps, in order (JobProgress.step.n counts them from 1). */
  steps: string[];
  /** Task heads the demo fitted (Intervene view), with the backbone manifest each one reads; the first per backbone is the default. */
  heads?: { label: string; path: string; backbone: string }[];
}


export const demoMethods = {
  /** Builds the embedded demo in the studio's data folder, as a job (continues an interrupted build). */
  buildDemo: {
    args: z.strictObject({ size: demoSize.optional() }),
    result: returns<JobInfo>(),
    errors: ['bad-request'],
  },
  demoStatus: {
    args: null,
    result: returns<DemoStatus>(),
    errors: [],
  },
} satisfies MethodTable;
