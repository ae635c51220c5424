// Lists exports that nothing outside their own file uses, for the folders given:
//
//   node --import tsx scripts/find-dead-exports.ts src-main/core/sae src-renderer/src/lib
//
// Each export is looked up with the TypeScript language service (following re-exports and
// namespace imports) across both tsconfig.json and tsconfig.renderer.json, so tests and
// scripts count as users. Files the service cannot read (.vue, .mjs, .cjs, .js)
// are searched for the name as a whole word instead: a hit there keeps the export.
// Output per export: "unused" (the declaration can go) or "local" (only its own file uses it:
// drop the `export` keyword), and whether it is a value or only a type (a type that describes an
// exported function's arguments may be worth keeping for callers). Entry points are files, not exports, so they are not affected;
// a default export is never reported.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(import.meta.dirname, '..');
const SKIP_DIRS = new Set(['node_modules', 'out', 'dist', '.git', 'test-results', 'release', '__pycache__']);
const TEXT_EXTENSIONS = /\.(vue|mjs|cjs|js)$/;

function languageService(configPath: string): ts.LanguageService {
  const parsed = ts.getParsedCommandLineOfConfigFile(configPath, {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); },
  });
  if (!parsed) throw new Error(`cannot read ${configPath}`);
  const host: ts.LanguageServiceHost = {
    getCompilationSettings: () => parsed.options,
    getScriptFileNames: () => parsed.fileNames,
    getScriptVersion: () => '1',
    getScriptSnapshot: (file) => {
      const text = ts.sys.readFile(file);
      return text === undefined ? undefined : ts.ScriptSnapshot.fromString(text);
    },
    getCurrentDirectory: () => ROOT,
    getDefaultLibFileName: (options) => ts.getDefaultLibFilePath(options),
    fileExists: ts.sys.fileExists,
    readFile: ts.sys.readFile,
    readDirectory: ts.sys.readDirectory,
    directoryExists: ts.sys.directoryExists,
    getDirectories: ts.sys.getDirectories,
  };
  return ts.createLanguageService(host, ts.createDocumentRegistry());
}

function walk(dir: string, keep: (file: string) => boolean, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) walk(join(dir, entry.name), keep, out);
    } else if (keep(entry.name)) {
      out.push(join(dir, entry.name));
    }
  }
  return out;
}

/** The texts of files the language service does not read, searched by name. */
const otherTexts = walk(ROOT, (name) => TEXT_EXTENSIONS.test(name)).map((file) => readFileSync(file, 'utf8'));
const namedElsewhere = (name: string) => {
  const word = new RegExp(`\\b${name.replace(/\$/g, '\\$')}\\b`);
  return otherTexts.some((text) => word.test(text));
};

interface Finding { file: string; name: string; kind: 'unused' | 'local'; space: 'value' | 'type' }

/** References to the name at `position` in `file`, from every service whose program holds the file. */
function referencesOf(services: ts.LanguageService[], file: string, position: number): ts.ReferencedSymbolEntry[] {
  return services
    .filter((service) => service.getProgram()?.getSourceFile(file))
    .flatMap((service) => (service.findReferences(file, position) ?? []).flatMap((group) => group.references));
}

function deadExports(services: ts.LanguageService[], file: string): Finding[] {
  const program = services.map((service) => service.getProgram()).find((p) => p?.getSourceFile(file));
  const source = program?.getSourceFile(file);
  if (!program || !source) return [];
  const checker = program.getTypeChecker();
  const moduleSymbol = checker.getSymbolAtLocation(source);
  if (!moduleSymbol) return [];
  const findings: Finding[] = [];
  for (const symbol of checker.getExportsOfModule(moduleSymbol)) {
    const name = symbol.getName();
    const declaration = symbol.declarations?.[0];
    if (name === 'default' || !declaration || declaration.getSourceFile() !== source) continue;
    const nameNode = ts.getNameOfDeclaration(declaration) ?? declaration;
    const references = referencesOf(services, file, nameNode.getStart());
    if (references.some((ref) => ref.fileName !== file) || namedElsewhere(name)) continue;
    const inside = references.some((ref) => ref.fileName === file && !ref.isDefinition);
    const space = symbol.flags & ts.SymbolFlags.Value ? 'value' : 'type';
    findings.push({ file: relative(ROOT, file), name, kind: inside ? 'local' : 'unused', space });
  }
  return findings;
}

const folders = process.argv.slice(2).map((folder) => resolve(ROOT, folder));
if (folders.length === 0) {
  console.error('usage: node --import tsx scripts/find-dead-exports.ts <folder>...');
  process.exit(2);
}
const isTs = (name: string) => name.endsWith('.ts') && !name.endsWith('.d.ts');
const targets = folders.flatMap((folder) => walk(folder, isTs));
// Tests of renderer code live in both projects, so every export is looked up in both.
const services = [languageService(join(ROOT, 'tsconfig.json')), languageService(join(ROOT, 'tsconfig.renderer.json'))];
const findings = targets.flatMap((file) => deadExports(services, file));
for (const { file, name, kind, space } of findings) console.log(`${kind}\t${space}\t${file}\t${name}`);
console.error(`${findings.length} dead exports in ${targets.length} files`);
