// Run in a child process by tests/unit/hostile-files.test.ts, so that the peak memory it reports
// (getrusage's maxRSS) belongs to this one read and nothing else. Prints one JSON line.
//   node --import tsx zipBombChild.ts <mode> <MiB> <file>
// mode: 'honest' (recorded size true), 'lying' (recorded size 1000 bytes), 'entry' (the bomb
// read as a plain zip entry, with no pickle limit in the way).
import fs from 'node:fs';
import { readTorchFile } from '../../src-main/core/sae/torch/readTorchFile.js';
import { openZip } from '../../src-main/core/sae/torch/zipContainer.js';
import { torchZipBomb } from './zipBomb.js';

const [mode, mibText, file] = process.argv.slice(2) as [string, string, string];
const mib = Number(mibText);
const MiB = 2 ** 20;
const bytes = torchZipBomb(mib, mode === 'lying' ? 1000 : mib * MiB);
fs.writeFileSync(file, bytes);
// Give back the building's garbage before the baseline is taken.
(globalThis as { gc?: () => void }).gc?.();
const before = process.resourceUsage().maxRSS;
const started = performance.now();
let error: string | null = null;
try {
  if (mode === 'entry') openZip(fs.readFileSync(file), { label: file }).read('archive/data.pkl');
  else readTorchFile(file);
} catch (err) {
  error = `${(err as Error).constructor.name}: ${(err as Error).message}`;
}
const ms = performance.now() - started;
const growthMiB = ((process.resourceUsage().maxRSS - before) * 1024) / MiB;
console.log(JSON.stringify({ fileBytes: bytes.length, error, ms, growthMiB }));
