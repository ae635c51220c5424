import { fileURLToPath } from 'node:url';
import path from 'node:path';
import vue from '@vitejs/plugin-vue';
import { defineConfig, type UserConfig } from 'vite';

// Builds the renderer for the web host (`studio serve`, Playwright): src-renderer → out/renderer.
// electron.vite.config.ts reuses `rendererShared` so both hosts load an identical bundle.

const projectRoot = path.dirname(fileURLToPath(import.meta.url));

export const RENDERER_ROOT = path.join(projectRoot, 'src-renderer');
export const RENDERER_OUT_DIR = path.join(projectRoot, 'out', 'renderer');

/** Plugins and aliases both renderer builds share. */
export const rendererShared = {
  plugins: [vue()],
  resolve: {
    alias: {
      // The contract is plain types and constants with no imports, safe to bundle for the browser.
      '@contract': path.join(projectRoot, 'src-main', 'contract'),
    },
  },
} satisfies UserConfig;

export default defineConfig({
  ...rendererShared,
  root: RENDERER_ROOT,
  // Relative asset URLs: the same bundle works at http://127.0.0.1:PORT/ and under Electron's
  // app protocol.
  base: './',
  build: {
    outDir: RENDERER_OUT_DIR,
    emptyOutDir: true,
    sourcemap: true,
  },
});
