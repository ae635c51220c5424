#!/usr/bin/env node
// `npm start` / `npm run dev`: the desktop app, or the web studio when Electron cannot run here
// (see src-main/hosts/launch/startStudio.ts). Plain JavaScript up to the Node check, so a Node too
// old for the TypeScript loader still gets a sentence instead of a stack trace.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(
    `Feature Studio needs Node 20.19 or newer (22.12 or newer for the desktop app); this is Node ${process.versions.node}.`,
  );
  process.exit(1);
}
const { register } = await import('tsx/esm/api');
register();
await import(new URL('../src-main/hosts/launch/main.ts', import.meta.url).href);
