import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { checkBoundaries } from '../helpers/importBoundaries.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('architecture boundaries of the project', () => {
  it('core never imports hosts, worker or electron; the renderer imports only the contract; the contract only zod; no runtime cycle', () => {
    expect(checkBoundaries(root)).toEqual([]);
  });
});

describe('the boundary checker on a small synthetic tree', () => {
  let dir = '';
  afterEach(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = '';
  });

  function tree(files: Record<string, string>): string {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boundaries-'));
    for (const [name, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), text);
    }
    return dir;
  }

  /** A tree that keeps every rule, including the imports the rules allow. */
  const clean: Record<string, string> = {
    'src-main/contract/index.ts': "import { z } from 'zod';\nexport * from './jobs.js';\nexport const A = z.string();\n",
    'src-main/contract/jobs.ts': 'export const JOBS = 1;\n',
    'src-main/core/a.ts': "import fs from 'node:fs';\nimport { JOBS } from '../contract/index.js';\nimport { b } from './b.js';\nexport const a = () => b + JOBS + fs.constants.F_OK;\n",
    // b needs only a's type: erased at compile time, so not a runtime cycle.
    'src-main/core/b.ts': "import type { a } from './a.js';\nexport const b = 1;\nexport type A = typeof a;\n",
    'src-main/hosts/web/server.ts': "import { a } from '../../core/a.js';\nimport { app } from 'electron';\nexport const s = [a, app];\n",
    'src-main/worker/w.ts': "import { a } from '../core/a.js';\nexport const w = a;\n",
    'src-renderer/src/App.vue': "<template><div/></template>\n<script setup lang=\"ts\">\nimport { A } from '@contract';\nimport { x } from './lib/x';\nconst y = [A, x];\n</script>\n",
    'src-renderer/src/lib/x.ts': "import { JOBS } from '../../../src-main/contract/jobs.js';\nexport const x = JOBS;\n",
  };

  it('passes a tree that keeps the rules (type-only loops and allowed imports included)', () => {
    expect(checkBoundaries(tree(clean))).toEqual([]);
  });

  it('fails on each planted bad import, naming the rule, the file and the import', () => {
    const root = tree({
      ...clean,
      'src-main/core/c.ts':
        "import { app } from 'electron';\nimport { s } from '../hosts/web/server.js';\nexport { w } from '../worker/w.js';\nexport const c = async () => [app, s, await import('../hosts/web/server.js')];\n",
      'src-main/contract/bad.ts': "import path from 'node:path';\nimport type { a } from '../core/a.js';\nexport const p = path.sep;\nexport type T = typeof a;\n",
      'src-renderer/src/lib/leak.ts': "import { a } from '../../../src-main/core/a.js';\nexport const leak = a;\n",
    });
    expect(checkBoundaries(root)).toEqual([
      'contract imports something other than zod: src-main/contract/bad.ts -> node:path',
      'contract imports something other than zod: src-main/contract/bad.ts -> ../core/a.js',
      'core imports electron: src-main/core/c.ts -> electron',
      'core imports hosts: src-main/core/c.ts -> ../hosts/web/server.js',
      'core imports worker: src-main/core/c.ts -> ../worker/w.js',
      'core imports hosts: src-main/core/c.ts -> ../hosts/web/server.js',
      'renderer imports src-main beyond the contract: src-renderer/src/lib/leak.ts -> ../../../src-main/core/a.js',
    ]);
  });

  it('fails on a runtime import cycle, naming one loop, and ignores one closed only by types', () => {
    const root = tree({
      ...clean,
      'src-main/core/b.ts': "import { a } from './a.js';\nexport const b = 1;\nexport const again = () => a;\n",
      'src-main/core/p.ts': "import { q } from './q.js';\nexport const p = q;\n",
      'src-main/core/q.ts': "import { type p } from './p.js';\nexport const q = 2;\nexport type P = typeof p;\n",
    });
    expect(checkBoundaries(root)).toEqual(['runtime import cycle: src-main/core/a.ts -> src-main/core/b.ts -> src-main/core/a.ts']);
  });
});
