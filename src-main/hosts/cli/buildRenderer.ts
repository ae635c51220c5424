import path from 'node:path';

// `studio serve` right after `npm install`: build the renderer with the same config as
// `npm run build:renderer`. Vite is imported lazily: the other commands never need it.

export async function buildRenderer(projectRoot: string): Promise<void> {
  const configFile = path.join(projectRoot, 'vite.renderer.config.ts');
  const { build } = await import('vite');
  try {
    await build({ configFile, logLevel: 'warn' });
  } catch (err) {
    throw new Error(
      `Building the UI failed (${err instanceof Error ? err.message : String(err)}). Try "npm run build:renderer" to see the full output.`,
    );
  }
}
