import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { defineConfig } from 'electron-vite';
import { RENDERER_OUT_DIR, RENDERER_ROOT, rendererShared } from './vite.renderer.config.js';

// Three builds for the Electron app (`npm run build`, `npm start`):
//   main     out/main/index.js (+ out/main/indexWorker.js, the inference worker), ESM because
//            package.json says "type": "module"; node_modules stay external (native addons).
//   preload  out/preload/index.cjs: sandboxed preloads cannot be ES modules and cannot require
//            anything but `electron`, so it is CommonJS with everything else bundled in.
//   renderer out/renderer, same plugins and aliases as vite.renderer.config.ts.

const projectRoot = path.dirname(fileURLToPath(import.meta.url));
const fromRoot = (...parts: string[]) => path.join(projectRoot, ...parts);

export default defineConfig({
  main: {
    build: {
      outDir: fromRoot('out', 'main'),
      externalizeDeps: true,
      rolldownOptions: {
        input: {
          index: fromRoot('src-main', 'hosts', 'electron', 'main.ts'),
          indexWorker: fromRoot('src-main', 'worker', 'indexWorker.ts'),
          analysisWorker: fromRoot('src-main', 'worker', 'analysisWorker.ts'),
          walCheckpointWorker: fromRoot('src-main', 'worker', 'walCheckpointWorker.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      outDir: fromRoot('out', 'preload'),
      externalizeDeps: false,
      rolldownOptions: {
        input: { index: fromRoot('src-preload', 'index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    ...rendererShared,
    root: RENDERER_ROOT,
    build: {
      outDir: RENDERER_OUT_DIR,
      rolldownOptions: { input: path.join(RENDERER_ROOT, 'index.html') },
    },
  },
});
