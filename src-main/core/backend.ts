import type { DemoSize, StudioApi, StudioEvent, PathKind } from '../contract/index.js';

/** What hosts (Electron shell, web host, CLI) hold: the API plus host-side plumbing. */
export interface StudioBackend extends StudioApi {
  onEvent(listener: (event: StudioEvent) => void): () => void;
  /**
   * Absolute path of a thumbnail inside the index folder, or null when missing or outside it. For
   * an on-demand index a missing thumbnail is made from the dataset first (thumbnailCache.ts).
   */
  resolveThumbnail(indexId: string, file: string): Promise<string | null>;
  close(): Promise<void>;
}

export interface StudioBackendOptions {
  /** App-wide settings (recent indexes, last opened). */
  settingsDir: string;
  host: 'electron' | 'web';
  /** Native picker, Electron only. */
  pickPath?: (kind: PathKind, title?: string) => Promise<string | null>;
  /** An index to open at start (e.g. `studio serve DIR`). */
  openAtStart?: string;
  /** Size of the demo that buildDemo makes (tests use 'small'); default 'full'. */
  demoSize?: DemoSize;
}
