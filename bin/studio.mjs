#!/usr/bin/env node
// `studio` command: runs the TypeScript CLI through tsx's ESM loader, so `npx studio ...` works
// right after `npm install`, with no build step.
import { register } from 'tsx/esm/api';

register();
await import(new URL('../src-main/hosts/cli/main.ts', import.meta.url).href);
