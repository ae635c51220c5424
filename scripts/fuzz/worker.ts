// The fuzzer's reader process: receives {format, target} over IPC, runs the studio's own reader
// for that format on it, and answers with how it ended. Readers run here, not in the parent, so
// that a hang, a native crash or runaway memory takes this process down (the parent restarts it
// and counts the outcome) instead of the fuzzer.
import { loadManifest } from '../../src-main/core/backbone/manifest.js';
import { preprocessImage } from '../../src-main/core/backbone/preprocess.js';
import { readSaevShards, readShardExamples } from '../../src-main/core/dataset/saevShards.js';
import { readModelFile } from '../../src-main/core/onnx/onnxModel.js';
import { createSession } from '../../src-main/core/onnx/providers.js';
import { loadSae } from '../../src-main/core/sae/loadSae.js';
import { readSafetensors } from '../../src-main/core/sae/safetensors.js';
import { parseTagsCsv, parseTagsJson } from '../../src-main/core/tags/tagFiles.js';
import { readCheckedTextSync } from '../../src-main/core/util/checkedRead.js';

const SPEC = { resize: 'shortest-side', resizeTo: 32, interpolation: 'bicubic', crop: 32, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] } as const;
const DEFAULTS = { author: 'fuzz', time: '2026-01-01T00:00:00Z' };

async function read(format: string, target: string): Promise<void> {
  switch (format) {
    case 'saev':
    case 'saelens':
    case 'dictlearn':
      loadSae(target);
      return;
    case 'safetensors':
      readSafetensors(target);
      return;
    case 'manifest':
      loadManifest(target);
      return;
    case 'onnx': {
      readModelFile(target);
      const { session } = await createSession(target, 'cpu', { intraOpNumThreads: 1 });
      await session.release();
      return;
    }
    case 'image':
      await preprocessImage(target, { ...SPEC, mean: [...SPEC.mean], std: [...SPEC.std] });
      return;
    case 'shards': {
      const shards = readSaevShards(target);
      readShardExamples(shards, 0, 0, 1);
      return;
    }
    case 'tags-csv':
      parseTagsCsv(readCheckedTextSync(target, 'tags'), DEFAULTS);
      return;
    case 'tags-json':
      parseTagsJson(readCheckedTextSync(target, 'tags'), DEFAULTS);
      return;
    default:
      throw new Error(`unknown format ${format}`);
  }
}

// Errors from the engine itself mean a value went unchecked (an undefined property, an
// out-of-range offset): counted apart from the readers' own refusals.
const ENGINE_ERRORS = new Set(['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError_unexpected']);

process.on('message', async (msg: { id: number; format: string; target: string }) => {
  let reply: { id: number; kind: string; message?: string };
  try {
    await read(msg.format, msg.target);
    reply = { id: msg.id, kind: 'ok' };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    const engine = ENGINE_ERRORS.has(e.constructor.name) && e.constructor.name !== 'SyntaxError';
    reply = { id: msg.id, kind: engine ? 'engine-error' : e.message.includes('\n') ? 'multi-line-error' : 'one-line-error', message: `${e.constructor.name}: ${e.message}`.slice(0, 400) };
  }
  process.send!(reply);
});
process.send!({ id: -1, kind: 'ready' });
