import fs from 'node:fs';
import path from 'node:path';
import type { ApiOf, indexesMethods } from '../../contract/index.js';
import { inspectModel } from '../backbone/manifest.js';
import { createManifest, onnxLayers } from '../backbone/manifestPresets.js';
import { StudioError } from '../errors.js';
import { loadSae, saeInfo } from '../sae/loadSae.js';
import type { SettingsStore } from '../settingsStore.js';
import type { IndexRegistry } from './indexRegistry.js';

/** The indexes slice of the contract (contract/indexes.ts): opening and naming indexes, inspecting their inputs. */
export function indexesDomain(indexes: IndexRegistry, settings: SettingsStore): ApiOf<typeof indexesMethods> {
  return {
    async openIndex({ path: dir }) {
      const abs = path.resolve(dir);
      const reader = indexes.open(abs);
      const summary = reader.summary();
      // The folder asked for (a group folder opens one of its members): what reopening needs.
      settings.touch({ id: reader.id, path: abs, name: summary.name, dataset: summary.dataset, detail: summary.detail });
      return summary;
    },
    async indexSummary({ indexId }) {
      return indexes.reader(indexId).summary();
    },
    async renameIndex({ indexId, name }) {
      const reader = indexes.reader(indexId);
      reader.rename(name);
      const summary = reader.summary();
      settings.update(indexId, { name: summary.name });
      return summary;
    },
    async skippedItems({ indexId }) {
      return indexes.reader(indexId).skipped();
    },
    async inspectModel({ manifest }) {
      const file = path.resolve(manifest);
      // A missing file and a model chosen in place of its manifest are the two common slips: say so
      // plainly instead of a JSON parser's view of binary bytes.
      if (!fs.existsSync(file)) throw new StudioError('not-found', `cannot read backbone manifest ${file}: there is no file there.`);
      if (fs.statSync(file).isDirectory()) throw new StudioError('bad-request', `${file} is a folder: choose the manifest .json inside it.`);
      if (/\.onnx$/i.test(file) || looksBinary(file)) {
        throw new StudioError(
          'bad-input',
          `${file} is a model, not its manifest. Choose the .json that describes it, create one here from the model's layers, or run \`studio inspect-model ${file}\`.`,
        );
      }
      try {
        return inspectModel(file);
      } catch (err) {
        throw new StudioError('bad-input', err instanceof Error ? err.message : String(err));
      }
    },
    async inspectOnnx({ path: file }) {
      return onnxLayers(file);
    },
    async createManifest(args) {
      return createManifest(args);
    },
    async inspectSae({ path: saePath }) {
      try {
        return saeInfo(loadSae(path.resolve(saePath)));
      } catch (err) {
        throw new StudioError('bad-input', err instanceof Error ? err.message : String(err));
      }
    },
  };
}

/** True when the file's first bytes hold NULs or other control bytes a JSON text never has. */
function looksBinary(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(512);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    for (let i = 0; i < n; i++) {
      const b = buf[i]!;
      if (b < 9 || (b > 13 && b < 32)) return true;
    }
    return false;
  } finally {
    fs.closeSync(fd);
  }
}
