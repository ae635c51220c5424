// What `npm start` was asked to do: `--web` / `--electron` / `--dev` / `--port N` after `npm start --`,
// or STUDIO_START=web|electron|auto. Forcing a mode is for users who know which they want (a
// headless box, or a developer who wants Electron's failure rather than a browser tab).

export type StartMode = 'auto' | 'web' | 'electron';

export interface StartRequest {
  mode: StartMode;
  /** electron-vite dev (hot reload) instead of preview. */
  dev: boolean;
  /** Web host port; undefined = the default, or any free port when it is busy. */
  port?: number;
}

const START_USAGE =
  'usage: npm start [-- --web | --electron] [--dev] [--port N]   (or STUDIO_START=web|electron|auto)';

export function parseStartRequest(argv: string[], env: NodeJS.ProcessEnv): StartRequest {
  const fromEnv = (env.STUDIO_START ?? '').trim().toLowerCase();
  if (fromEnv && fromEnv !== 'auto' && fromEnv !== 'web' && fromEnv !== 'electron') {
    throw new Error(`STUDIO_START must be web, electron or auto, not "${env.STUDIO_START}".`);
  }
  const request: StartRequest = { mode: (fromEnv || 'auto') as StartMode, dev: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--web') request.mode = 'web';
    else if (arg === '--electron') request.mode = 'electron';
    else if (arg === '--dev') request.dev = true;
    else if (arg === '--port' || arg.startsWith('--port=')) {
      const value = arg === '--port' ? argv[++i] : arg.slice('--port='.length);
      const port = Number(value);
      if (!value || !/^\d+$/.test(value) || port > 65535) throw new Error(`--port needs a port 0..65535, not "${value ?? ''}".`);
      request.port = port;
    } else throw new Error(`unknown option "${arg}". ${START_USAGE}`);
  }
  return request;
}
