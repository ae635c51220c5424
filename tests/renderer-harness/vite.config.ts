// Serves the renderer harness: the real app, the fake client, no host.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

const root = fileURLToPath(new URL('.', import.meta.url));
const repo = fileURLToPath(new URL('../..', import.meta.url));

export default defineConfig({
  root,
  plugins: [vue()],
  resolve: {
    alias: { '@contract': `${repo}src-main/contract/index.ts` },
  },
  server: { host: '127.0.0.1', strictPort: false, fs: { allow: [repo] } },
  logLevel: 'warn',
});
