// Reads the import graph of a source tree (TypeScript's own parser, Vue <script> blocks included)
// and lists what breaks the layering: core importing hosts, worker or electron; the renderer
// importing from src-main anything but the contract; the contract importing anything but zod (and
// its own files); and cycles of runtime imports (`import type` and type-only specifiers are erased
// by the compiler, so they cannot form a load-time cycle and are left out of that rule).
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export interface ImportEdge {
  /** Importing file, relative to the root, with forward slashes. */
  from: string;
  specifier: string;
  /** The project file it resolves to (relative), or null for a package or built-in module. */
  to: string | null;
  /** Erased at compile time: `import type`, `export type`, or only `type` specifiers. */
  typeOnly: boolean;
  dynamic: boolean;
}

/** Where the layers live, relative to the root. */
const CORE = 'src-main/core/';
const HOSTS = 'src-main/hosts/';
const WORKER = 'src-main/worker/';
const CONTRACT = 'src-main/contract/';
const MAIN = 'src-main/';
const RENDERER = 'src-renderer/src/';
/** The renderer's bundler alias for the contract (vite.renderer.config.ts, tsconfig.renderer.json). */
const CONTRACT_ALIAS = '@contract';

const SOURCE_EXT = ['.ts', '.vue', '.mts'];

export function listSources(root: string, dirs: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (SOURCE_EXT.some((x) => e.name.endsWith(x)) && !e.name.endsWith('.d.ts')) out.push(rel(root, p));
    }
  };
  for (const d of dirs) walk(path.join(root, d));
  return out.sort();
}

function rel(root: string, p: string): string {
  return path.relative(root, p).split(path.sep).join('/');
}

/** The TypeScript a file holds: the whole file, or a Vue file's <script> blocks. */
function scriptText(file: string, text: string): string {
  if (!file.endsWith('.vue')) return text;
  const blocks = [...text.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
  return blocks.join('\n');
}

/** A project-relative path for a relative or aliased specifier, or null for packages. */
function resolve(root: string, from: string, specifier: string): string | null {
  let base: string;
  if (specifier === CONTRACT_ALIAS || specifier.startsWith(`${CONTRACT_ALIAS}/`)) {
    base = path.join(root, CONTRACT, specifier.slice(CONTRACT_ALIAS.length) || 'index');
  } else if (specifier.startsWith('.')) {
    base = path.join(root, path.dirname(from), specifier);
  } else {
    return null;
  }
  // Sources import each other as `.js` (NodeNext); the renderer imports `.vue` and extensionless.
  const candidates = [base, base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), `${base}.ts`, `${base}.vue`, path.join(base, 'index.ts')];
  for (const c of candidates) if (fs.existsSync(c) && fs.statSync(c).isFile()) return rel(root, c);
  return rel(root, base); // unresolved: still classified by where it points
}

export function readImports(root: string, file: string): ImportEdge[] {
  const text = scriptText(file, fs.readFileSync(path.join(root, file), 'utf8'));
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const edges: ImportEdge[] = [];
  const add = (specifier: string, typeOnly: boolean, dynamic: boolean) =>
    edges.push({ from: file, specifier, to: resolve(root, file, specifier), typeOnly, dynamic });
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      let typeOnly = clause?.isTypeOnly ?? false;
      // `import { type A, type B } from` is erased too; `import {} from` / side-effect imports are not.
      const named = clause?.namedBindings;
      if (clause && !clause.name && named && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly)) typeOnly = true;
      add(node.moduleSpecifier.text, typeOnly, false);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const named = node.exportClause;
      const allTypes = !!named && ts.isNamedExports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
      add(node.moduleSpecifier.text, node.isTypeOnly || allTypes, false);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      add(node.arguments[0].text, false, true);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node.argument.literal.text, true, false); // `import('x').T` in a type position
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return edges;
}

function isElectron(specifier: string): boolean {
  return specifier === 'electron' || specifier.startsWith('electron/');
}

/** One line per broken rule, e.g. "core imports worker: src-main/core/a.ts -> ../../worker/b.js". */
export function boundaryViolations(edges: ImportEdge[]): string[] {
  const out: string[] = [];
  const line = (rule: string, e: ImportEdge) => `${rule}: ${e.from} -> ${e.specifier}`;
  for (const e of edges) {
    if (e.from.startsWith(CORE)) {
      if (isElectron(e.specifier)) out.push(line('core imports electron', e));
      else if (e.to?.startsWith(HOSTS)) out.push(line('core imports hosts', e));
      else if (e.to?.startsWith(WORKER)) out.push(line('core imports worker', e));
    }
    if (e.from.startsWith(RENDERER) && e.to?.startsWith(MAIN) && !e.to.startsWith(CONTRACT)) {
      out.push(line('renderer imports src-main beyond the contract', e));
    }
    if (e.from.startsWith(CONTRACT)) {
      const own = e.to?.startsWith(CONTRACT) ?? false;
      if (!own && e.specifier !== 'zod') out.push(line('contract imports something other than zod', e));
    }
  }
  return out;
}

/** Cycles of runtime imports (static, not type-only), each as "a -> b -> a", one per cycle group. */
export function runtimeCycles(edges: ImportEdge[]): string[] {
  const graph = new Map<string, string[]>();
  for (const e of edges) {
    if (e.typeOnly || e.dynamic || !e.to) continue;
    const next = graph.get(e.from) ?? [];
    next.push(e.to);
    graph.set(e.from, next);
  }
  // Tarjan's strongly connected components; a component of two or more files (or a file that
  // imports itself) is a cycle.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[] = [];
  const strong = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      const selfLoop = comp.length === 1 && (graph.get(v) ?? []).includes(v);
      if (comp.length > 1 || selfLoop) cycles.push(describeCycle(comp, graph));
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) strong(v);
  return cycles.sort();
}

/** One concrete loop through the component, starting at its first file in sort order. */
function describeCycle(comp: string[], graph: Map<string, string[]>): string {
  const members = new Set(comp);
  const start = [...comp].sort()[0]!;
  // Breadth-first search back to `start` inside the component gives a shortest loop.
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const loop = [start];
        for (let x: string | undefined = v; x !== undefined && x !== start; x = prev.get(x)) loop.splice(1, 0, x);
        return `runtime import cycle: ${[...loop, start].join(' -> ')}`;
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return `runtime import cycle: ${[...comp].sort().join(', ')}`;
}

/** Everything the boundary test checks, for the project or any tree laid out like it. */
export function checkBoundaries(root: string): string[] {
  const files = listSources(root, [MAIN, RENDERER]);
  const edges = files.flatMap((f) => readImports(root, f));
  return [...boundaryViolations(edges), ...runtimeCycles(edges)];
}
