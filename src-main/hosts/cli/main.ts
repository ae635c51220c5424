import { processCliDeps } from './processDeps.js';
import { runCli } from './program.js';

// Process entry of `studio`: bin/studio.mjs runs it from the bundle in out/cli/ (or through tsx,
// see there). Everything else is in program.ts and commands/, tested with a fake backend.

const code = await runCli(process.argv.slice(2), processCliDeps());
process.exitCode = code;
// Worker threads or open handles of the service must not keep a finished command alive.
setTimeout(() => process.exit(code), 1000).unref();
