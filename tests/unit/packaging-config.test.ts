import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { FuseV1Options } from '@electron/fuses';
import { PlatformPackager } from 'app-builder-lib';
import config, {
  APP_FILES,
  ASAR_UNPACK,
  ELECTRON_FUSES,
  MAC_ENTITLEMENTS,
  missingNatives,
  PACKAGED_TARGETS,
  resourcesDirOf,
} from '../../electron-builder.js';

// The installer configuration, checked without building an installer (that needs Electron's
// binary and the network): targets per OS, what goes into app.asar, and that every native binary
// the app's runtime dependencies ship ends up unpacked next to app.asar.

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  main: string;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
};

// ---- a minimal glob matcher: the subset of minimatch (dot: true) the config uses ----------------

/** Expands `{a,b}` groups (sequential or nested) into plain patterns. */
function expandBraces(pattern: string): string[] {
  let depth = 0;
  let open = -1;
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '{') {
      if (depth++ === 0) open = i;
    } else if (pattern[i] === '}' && depth > 0 && --depth === 0) {
      const body = pattern.slice(open + 1, i);
      const options: string[] = [];
      let level = 0;
      let start = 0;
      for (let j = 0; j < body.length; j++) {
        if (body[j] === '{') level++;
        else if (body[j] === '}') level--;
        else if (body[j] === ',' && level === 0) {
          options.push(body.slice(start, j));
          start = j + 1;
        }
      }
      options.push(body.slice(start));
      const head = pattern.slice(0, open);
      const tails = expandBraces(pattern.slice(i + 1));
      return options.flatMap((o) => expandBraces(head + o).flatMap((h) => tails.map((t) => h + t)));
    }
  }
  return [pattern];
}

/** `**` spans folders, `*` and `?` stay inside one path segment; anchored at both ends. */
function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      const atStart = i === 0 || glob[i - 1] === '/';
      const next = glob[i + 2];
      if (atStart && next === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else if (atStart && next === undefined && re.endsWith('/')) {
        re = `${re.slice(0, -1)}(?:/.*)?`;
        i += 1;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function matchesGlob(file: string, glob: string): boolean {
  return expandBraces(glob).some((g) => globToRegExp(g).test(file));
}

describe('glob matcher used by these tests', () => {
  it('handles **, *, ? and braces like minimatch', () => {
    expect(matchesGlob('node_modules/sharp/lib/index.js', '**/node_modules/sharp/**')).toBe(true);
    expect(matchesGlob('node_modules/sharp', '**/node_modules/sharp/**')).toBe(true);
    expect(matchesGlob('node_modules/sharpish/x', '**/node_modules/sharp/**')).toBe(false);
    expect(matchesGlob('a/b/libonnxruntime.so.1', '**/*.so.*')).toBe(true);
    expect(matchesGlob('a/b/libonnxruntime.so', '**/*.so.*')).toBe(false);
    expect(matchesGlob('x.node', '**/*.node')).toBe(true);
    expect(matchesGlob('node_modules/better-sqlite3/deps/sqlite3.c', '**/node_modules/better-sqlite3/{deps,src}{,/**}')).toBe(true);
    expect(matchesGlob('node_modules/better-sqlite3/deps', '**/node_modules/better-sqlite3/{deps,src}{,/**}')).toBe(true);
    expect(matchesGlob('node_modules/better-sqlite3/lib/index.js', '**/node_modules/better-sqlite3/{deps,src}{,/**}')).toBe(false);
    expect(matchesGlob('out/main/index.js', 'out/main/**')).toBe(true);
    expect(matchesGlob('src-main/hosts/electron/main.ts', 'out/main/**')).toBe(false);
    expect(matchesGlob('a?c', 'a?c')).toBe(true);
    expect(expandBraces('{a,b}{,/x}')).toEqual(['a', 'a/x', 'b', 'b/x']);
  });
});

// ---- helpers over the config --------------------------------------------------------------------

type PlatformKey = 'linux' | 'mac' | 'win';
const NODE_PLATFORM: Record<PlatformKey, 'linux' | 'darwin' | 'win32'> = { linux: 'linux', mac: 'darwin', win: 'win32' };

function stringPatterns(files: unknown): string[] {
  if (files == null) return [];
  return (Array.isArray(files) ? files : [files]).filter((p): p is string => typeof p === 'string');
}

/** The `files` patterns electron-builder uses for a platform (top level + platform's own). */
function filePatterns(platform: PlatformKey): string[] {
  const platformFiles = (config[platform] as { files?: unknown } | null | undefined)?.files;
  return [...stringPatterns(config.files), ...stringPatterns(platformFiles)];
}

/** The `!` patterns electron-builder applies to node_modules for a platform. */
function nodeModuleExcludes(platform: PlatformKey): string[] {
  return filePatterns(platform)
    .filter((p) => p.startsWith('!'))
    .map((p) => p.slice(1));
}

function excluded(file: string, platform: PlatformKey): boolean {
  return nodeModuleExcludes(platform).some((glob) => matchesGlob(file, glob));
}

function unpacked(file: string, patterns: readonly string[] = ASAR_UNPACK): boolean {
  return patterns.some((glob) => matchesGlob(file, glob));
}

/** The app's own files that electron-builder copies for a platform (positive `files` patterns). */
function includedAppFile(file: string, platform: PlatformKey): boolean {
  const patterns = filePatterns(platform);
  const positive = patterns.filter((p) => !p.startsWith('!')).some((g) => matchesGlob(file, g));
  return positive && !patterns.filter((p) => p.startsWith('!')).some((g) => matchesGlob(file, g.slice(1)));
}

/** Folder of every package in the production dependency closure (what electron-builder packs). */
function productionPackages(): Map<string, string> {
  const found = new Map<string, string>(); // dir -> name
  const resolve = (name: string, fromDir: string): string | null => {
    for (let dir = fromDir; ; dir = path.dirname(dir)) {
      const candidate = path.join(dir, 'node_modules', name);
      if (existsSync(path.join(candidate, 'package.json'))) return candidate;
      if (dir === root || path.dirname(dir) === dir) return null;
    }
  };
  const visit = (name: string, fromDir: string, optional: boolean) => {
    const dir = resolve(name, fromDir);
    if (!dir) {
      // Optional dependencies for other platforms (@img/sharp-darwin-arm64 on Linux) are absent.
      if (!optional) throw new Error(`production dependency ${name} is not installed`);
      return;
    }
    if (found.has(dir)) return;
    found.set(dir, name);
    const meta = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    for (const dep of Object.keys(meta.dependencies ?? {})) visit(dep, dir, Boolean(meta.optionalDependencies?.[dep]));
    for (const dep of Object.keys(meta.optionalDependencies ?? {})) visit(dep, dir, true);
  };
  for (const dep of Object.keys(pkg.dependencies)) visit(dep, root, false);
  return found;
}

const NATIVE_FILE = /(\.node|\.dll|\.dylib|\.so|\.so\.\d[\d.]*)$|^libonnxruntime/;

/** Native binaries under a package folder (not descending into nested node_modules). */
function nativeFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules') walk(full);
      } else if (NATIVE_FILE.test(entry.name)) {
        out.push(full);
      }
    }
  };
  walk(dir);
  return out;
}

/** Path as electron-builder matches it: relative to the app dir, forward slashes. */
const appRelative = (file: string) => path.relative(root, file).split(path.sep).join('/');

// ---- the tests ----------------------------------------------------------------------------------

describe('electron-builder configuration', () => {
  it('names the app and writes installers to dist/', () => {
    expect(config.appId).toBe('org.featurestudio.app');
    expect(config.productName).toBe('Feature Studio');
    expect(config.directories?.output).toBe('dist');
    expect(config.asar).toBe(true);
    // resources/ must not be the buildResources folder: electron-builder leaves that out of the app.
    expect(config.directories?.buildResources ?? 'build').not.toBe('resources');
  });

  it('builds AppImage + deb on Linux, a hardened arm64 dmg on macOS and an x64 NSIS installer on Windows', () => {
    const targets = (platform: PlatformKey) =>
      (config[platform]?.target as Array<{ target: string; arch: string[] }>).map((t) => `${t.target}:${t.arch.join('+')}`);
    expect(targets('linux')).toEqual(['AppImage:x64', 'deb:x64']);
    expect(targets('mac')).toEqual(['dmg:arm64']);
    expect(targets('win')).toEqual(['nsis:x64']);
    expect(config.linux?.category).toBe('Science');
    expect(config.linux?.maintainer).toMatch(/<.+@.+>/); // deb needs a maintainer with an e-mail
    expect(config.mac?.category).toBe('public.app-category.developer-tools');
    expect(config.mac?.hardenedRuntime).toBe(true);
    expect(config.nsis?.oneClick).toBe(false);

    // PACKAGED_TARGETS (what afterPack verifies) lists exactly the configured platform/arch pairs.
    const configured = (['linux', 'mac', 'win'] as const).flatMap((p) =>
      (config[p]?.target as Array<{ arch: string[] }>).flatMap((t) => t.arch.map((arch) => `${NODE_PLATFORM[p]}-${arch}`)),
    );
    expect([...new Set(configured)].sort()).toEqual(PACKAGED_TARGETS.map((t) => `${t.platform}-${t.arch}`).sort());
  });

  it('only builds for platforms onnxruntime-node ships a binding for', () => {
    for (const { platform, arch } of PACKAGED_TARGETS) {
      const dir = path.join(root, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', platform, arch);
      expect(existsSync(path.join(dir, 'onnxruntime_binding.node')), `${platform}-${arch}`).toBe(true);
    }
  });

  it('rebuilds better-sqlite3 for Electron at packaging time and checks the packed natives', () => {
    expect(config.npmRebuild).toBe(true);
    expect(config.buildDependenciesFromSource).toBe(false);
    expect(typeof config.afterPack).toBe('function');
    // Through the wrapper that keeps node_modules' Node build of better-sqlite3 for tests and CLI.
    expect(pkg.scripts.dist).toBe('electron-vite build && node scripts/dist.mjs');
    expect(pkg.scripts['dist:linux']).toMatch(/scripts\/dist\.mjs --linux$/);
    expect(pkg.scripts['dist:mac']).toMatch(/scripts\/dist\.mjs --mac$/);
    expect(pkg.scripts['dist:win']).toMatch(/scripts\/dist\.mjs --win$/);
    expect(existsSync(path.join(root, 'scripts', 'dist.mjs'))).toBe(true);
  });

  it('packs the electron-vite output, the shipped manifests and package.json, and nothing else of ours', () => {
    // Only per platform, each starting from APP_FILES: a top-level list next to platform lists
    // made electron-builder 26 copy the whole project (seen in a real --dir build).
    expect(config.files).toBeUndefined();
    for (const platform of ['linux', 'mac', 'win'] as const) {
      const files = filePatterns(platform);
      expect(files.slice(0, APP_FILES.length)).toEqual(APP_FILES);
      expect(files.some((p) => !p.startsWith('!'))).toBe(true);
    }
    const includedEverywhere = (file: string) => (['linux', 'mac', 'win'] as const).every((p) => includedAppFile(file, p));
    const includedNowhere = (file: string) => (['linux', 'mac', 'win'] as const).every((p) => !includedAppFile(file, p));
    for (const file of ['out/main/index.js', 'out/main/indexWorker.js', 'out/main/chunks/x.js', 'out/preload/index.cjs', 'out/renderer/index.html', 'out/renderer/assets/a.js', 'resources/manifests/clip-vit-b16.json', 'package.json']) {
      expect(includedEverywhere(file), file).toBe(true);
    }
    expect(includedEverywhere(pkg.main)).toBe(true);
    for (const file of ['src-main/hosts/electron/main.ts', 'src-preload/index.ts', 'tests/unit/x.test.ts', '.electron-native/node_modules/better-sqlite3/build/Release/better_sqlite3.node', 'scripts/dist.mjs', 'electron-builder.ts', 'resources/icon.png', 'dist/x', 'README.md']) {
      expect(includedNowhere(file), file).toBe(true);
    }
    // The files main.ts loads exist wherever a build has been made.
    if (existsSync(path.join(root, 'out', 'main', 'index.js'))) {
      expect(existsSync(path.join(root, 'out', 'preload', 'index.cjs'))).toBe(true);
      expect(existsSync(path.join(root, 'out', 'main', 'indexWorker.js'))).toBe(true);
    }
    const mainSource = readFileSync(path.join(root, 'src-main', 'hosts', 'electron', 'main.ts'), 'utf8');
    expect(mainSource).toContain("path.join(mainDir, '..', 'preload', 'index.cjs')");
    expect(mainSource).toContain("path.join(mainDir, '..', 'renderer')");
  });

  it('unpacks every native binary of the runtime dependencies from app.asar, on every platform', () => {
    const packages = productionPackages();
    const names = new Set(packages.values());
    for (const expected of ['better-sqlite3', 'sharp', 'onnxruntime-node']) expect(names.has(expected)).toBe(true);
    expect([...names].some((n) => n.startsWith('@img/sharp-'))).toBe(true);

    const natives = [...packages.keys()].flatMap(nativeFiles).map(appRelative);
    expect(natives.length).toBeGreaterThan(4);
    const checked: string[] = [];
    for (const file of natives) {
      for (const platform of ['linux', 'mac', 'win'] as const) {
        if (excluded(file, platform)) continue;
        checked.push(`${platform}:${file}`);
        expect(unpacked(file), `${file} is packed into app.asar for ${platform}`).toBe(true);
      }
    }
    // The named patterns cover the known native packages by themselves (the generic *.node/*.so
    // patterns are only a safety net for future dependencies).
    const named = ASAR_UNPACK.filter((p) => p.includes('node_modules/'));
    for (const file of natives.filter((f) => /node_modules\/(better-sqlite3|sharp|@img|onnxruntime-node)\//.test(f))) {
      if ((['linux', 'mac', 'win'] as const).every((p) => excluded(file, p))) continue;
      expect(unpacked(file, named), file).toBe(true);
    }

    // This machine's own binaries are packed for its platform (nothing needed is trimmed away).
    const host = ({ linux: 'linux', darwin: 'mac', win32: 'win' } as const)[process.platform as 'linux' | 'darwin' | 'win32'];
    if (host) {
      const ortBinding = `node_modules/onnxruntime-node/bin/napi-v6/${process.platform}/${process.arch}/onnxruntime_binding.node`;
      expect(checked).toContain(`${host}:${ortBinding}`);
      const sqlite = natives.find((f) => f.endsWith('better-sqlite3/build/Release/better_sqlite3.node'));
      expect(sqlite && checked).toContain(`${host}:${sqlite}`);
      expect(checked.some((c) => c.startsWith(`${host}:node_modules/@img/sharp-${process.platform}-${process.arch}/`))).toBe(true);
    }
  });

  it('keeps each OS to its own onnxruntime binaries and trims build leftovers', () => {
    const ort = (os: string) => `node_modules/onnxruntime-node/bin/napi-v6/${os}/x64/onnxruntime_binding.node`;
    expect(excluded(ort('linux'), 'linux')).toBe(false);
    expect(excluded(ort('darwin'), 'linux') && excluded(ort('win32'), 'linux')).toBe(true);
    expect(excluded('node_modules/onnxruntime-node/bin/napi-v6/darwin/arm64/libonnxruntime.1.dylib', 'mac')).toBe(false);
    expect(excluded(ort('linux'), 'mac') && excluded(ort('win32'), 'mac')).toBe(true);
    expect(excluded('node_modules/onnxruntime-node/bin/napi-v6/win32/x64/DirectML.dll', 'win')).toBe(false);
    expect(excluded(ort('linux'), 'win') && excluded(ort('darwin'), 'win')).toBe(true);
    for (const platform of ['linux', 'mac', 'win'] as const) {
      expect(excluded('node_modules/better-sqlite3/build/Release/better_sqlite3.node', platform)).toBe(false);
      expect(excluded('node_modules/better-sqlite3/lib/database.js', platform)).toBe(false);
      expect(excluded('node_modules/better-sqlite3/deps/sqlite3/sqlite3.c', platform)).toBe(true);
      expect(excluded('node_modules/better-sqlite3/build/Release/obj.target/better_sqlite3/src/better_sqlite3.o', platform)).toBe(true);
      expect(excluded('node_modules/sharp/lib/index.js', platform)).toBe(false);
      expect(excluded('node_modules/@img/sharp-linux-x64/lib/sharp-linux-x64.node', platform)).toBe(false);
    }
  });

  it('will unpack CUDA provider libraries and ffmpeg when they are installed', () => {
    for (const file of [
      'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so',
      'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_shared.so',
      'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_tensorrt.so',
      'node_modules/@ffmpeg-installer/ffmpeg/index.js',
      'node_modules/@ffmpeg-installer/linux-x64/ffmpeg',
      'node_modules/@ffmpeg-installer/darwin-arm64/ffmpeg',
      'node_modules/@ffmpeg-installer/win32-x64/ffmpeg.exe',
    ]) {
      expect(unpacked(file), file).toBe(true);
    }
    expect(excluded('node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so', 'linux')).toBe(false);
  });
});

describe('afterPack native check', () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'packed-natives-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  function fakePackedApp(dir: string, platform: string, arch: string, skip: string[] = []): string {
    const modules = path.join(dir, 'app.asar.unpacked', 'node_modules');
    const ortLib = platform === 'win32' ? 'onnxruntime.dll' : platform === 'darwin' ? 'libonnxruntime.1.dylib' : 'libonnxruntime.so.1';
    const files = [
      'better-sqlite3/build/Release/better_sqlite3.node',
      `onnxruntime-node/bin/napi-v6/${platform}/${arch}/onnxruntime_binding.node`,
      `onnxruntime-node/bin/napi-v6/${platform}/${arch}/${ortLib}`,
      `@img/sharp-${platform}-${arch}/lib/sharp-${platform}-${arch}.node`,
      `@img/sharp-libvips-${platform}-${arch}/lib/libvips-cpp.42.dylib`,
    ].filter((f) => !skip.some((s) => f.includes(s)));
    for (const file of files) {
      mkdirSync(path.dirname(path.join(modules, file)), { recursive: true });
      writeFileSync(path.join(modules, file), '');
    }
    return dir;
  }

  it('accepts a packed app with every native binary unpacked', () => {
    for (const { platform, arch } of PACKAGED_TARGETS) {
      expect(missingNatives(fakePackedApp(path.join(work, `ok-${platform}`), platform, arch), platform, arch)).toEqual([]);
    }
  });

  it('names what is missing', () => {
    const dir = fakePackedApp(path.join(work, 'partial'), 'linux', 'x64', ['libonnxruntime', 'better_sqlite3']);
    const missing = missingNatives(dir, 'linux', 'x64');
    expect(missing).toHaveLength(2);
    expect(missing.join('\n')).toMatch(/better_sqlite3\.node/);
    expect(missing.join('\n')).toMatch(/ONNX Runtime library/);
    // An Intel Mac build would have no onnxruntime binding at all.
    expect(missingNatives(path.join(work, 'ok-darwin'), 'darwin', 'x64').join('\n')).toMatch(/no darwin-x64 binding/);
  });

  it('looks in the right resources folder per OS', () => {
    expect(resourcesDirOf('/o/mac-arm64', 'darwin', 'Feature Studio')).toBe(path.join('/o/mac-arm64', 'Feature Studio.app', 'Contents', 'Resources'));
    expect(resourcesDirOf('/o/linux-unpacked', 'linux', 'Feature Studio')).toBe(path.join('/o/linux-unpacked', 'resources'));
    expect(resourcesDirOf('/o/win-unpacked', 'win32', 'Feature Studio')).toBe(path.join('/o/win-unpacked', 'resources'));
  });
});

describe('icons', () => {
  it('has a 1024×1024 master for macOS/Windows and the Linux icon set', async () => {
    const master = await sharp(path.join(root, 'resources', 'icon.png')).metadata();
    expect([master.format, master.width, master.height, master.hasAlpha]).toEqual(['png', 1024, 1024, true]);
    expect(config.mac?.icon).toBe('resources/icon.png');
    expect(config.win?.icon).toBe('resources/icon.png');
    expect(config.linux?.icon).toBe('resources/icons');
    for (const n of [16, 24, 32, 48, 64, 128, 256, 512, 1024]) {
      const meta = await sharp(path.join(root, 'resources', 'icons', `${n}x${n}.png`)).metadata();
      expect([meta.format, meta.width, meta.height], `${n}x${n}.png`).toEqual(['png', n, n]);
    }
    // The corners are transparent (a rounded tile), the centre is not.
    const { data, info } = await sharp(path.join(root, 'resources', 'icons', '64x64.png')).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const alpha = (x: number, y: number) => data[(y * info.width + x) * info.channels + 3];
    expect(alpha(0, 0)).toBe(0);
    expect(alpha(32, 32)).toBe(255);
  });
});

/** `<key>…</key><true/>` pairs of a plist's top-level dict (the only shape entitlements take). */
function plistBooleans(xml: string): Map<string, boolean> {
  const body = xml.replace(/<!--[\s\S]*?-->/g, '');
  const result = new Map<string, boolean>();
  for (const m of body.matchAll(/<key>([^<]+)<\/key>\s*<(true|false)\s*\/>/g)) result.set(m[1]!, m[2] === 'true');
  // Every key must have been a boolean one: an entitlement with another value type would be missed.
  expect((body.match(/<key>/g) ?? []).length).toBe(result.size);
  return result;
}

describe('Electron fuses', () => {
  it('are flipped at packaging time by electron-builder itself', () => {
    expect(config.electronFuses).toBe(ELECTRON_FUSES);
  });

  it('close Node entry points, require the app from a checked app.asar and encrypt cookies', () => {
    expect(ELECTRON_FUSES).toMatchObject({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      enableCookieEncryption: true,
      grantFileProtocolExtraPrivileges: false,
    });
    // Keeps an unsigned Apple-silicon build launchable after its Electron Framework was modified.
    expect(ELECTRON_FUSES.resetAdHocDarwinSignature).toBe(true);
    // The integrity fuse needs the hash electron-builder computes from app.asar.
    expect(config.asar).toBe(true);
    expect((config as { disableAsarIntegrity?: boolean }).disableAsarIntegrity).not.toBe(true);
  });

  it('reach @electron/fuses as the wire settings we mean (electron-builder\'s own translation)', async () => {
    const generate = (PlatformPackager.prototype as unknown as {
      generateFuseConfig(fuses: unknown): Promise<Record<string | number, unknown>>;
    }).generateFuseConfig;
    const wire = await generate.call({}, config.electronFuses);
    expect(wire[FuseV1Options.RunAsNode]).toBe(false);
    expect(wire[FuseV1Options.EnableCookieEncryption]).toBe(true);
    expect(wire[FuseV1Options.EnableNodeOptionsEnvironmentVariable]).toBe(false);
    expect(wire[FuseV1Options.EnableNodeCliInspectArguments]).toBe(false);
    expect(wire[FuseV1Options.EnableEmbeddedAsarIntegrityValidation]).toBe(true);
    expect(wire[FuseV1Options.OnlyLoadAppFromAsar]).toBe(true);
    expect(wire[FuseV1Options.GrantFileProtocolExtraPrivileges]).toBe(false);
    expect(wire.resetAdHocDarwinSignature).toBe(true);
  });

  it('exist in the Electron the app ships with (GrantFileProtocolExtraPrivileges came with Electron 29)', () => {
    const electronPkg = JSON.parse(readFileSync(path.join(root, 'node_modules', 'electron', 'package.json'), 'utf8')) as { version: string };
    expect(Number(electronPkg.version.split('.')[0])).toBeGreaterThanOrEqual(29);
  });

  it('leave the native binaries loadable: they stay unpacked next to app.asar', () => {
    // onlyLoadAppFromAsar only narrows where the app itself is looked for; natives are read from
    // app.asar.unpacked through the archive's `unpacked` entries, which asarUnpack produces.
    for (const file of [
      'node_modules/onnxruntime-node/bin/napi-v6/darwin/arm64/libonnxruntime.1.dylib',
      'node_modules/onnxruntime-node/bin/napi-v6/win32/x64/onnxruntime.dll',
      'node_modules/@img/sharp-darwin-arm64/lib/sharp-darwin-arm64.node',
      'node_modules/better-sqlite3/build/Release/better_sqlite3.node',
    ]) {
      expect(unpacked(file), file).toBe(true);
    }
  });
});

describe('macOS entitlements', () => {
  const file = path.join(root, MAC_ENTITLEMENTS);

  it('are our own file, for the app and for its helpers', () => {
    expect(config.mac?.hardenedRuntime).toBe(true);
    expect(config.mac?.entitlements).toBe(MAC_ENTITLEMENTS);
    expect(config.mac?.entitlementsInherit).toBe(MAC_ENTITLEMENTS);
    expect(existsSync(file)).toBe(true);
    // A build resource, not part of the packed app.
    expect(includedAppFile(MAC_ENTITLEMENTS, 'mac')).toBe(false);
  });

  it('keep library validation on and grant JIT only', () => {
    const xml = readFileSync(file, 'utf8');
    expect(xml).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>/);
    expect(xml).toMatch(/<plist version="1\.0">\s*<dict>[\s\S]*<\/dict>\s*<\/plist>\s*$/);
    const entitlements = plistBooleans(xml);
    expect([...entitlements]).toEqual([['com.apple.security.cs.allow-jit', true]]);
    expect(entitlements.has('com.apple.security.cs.disable-library-validation')).toBe(false);
    expect(entitlements.has('com.apple.security.cs.allow-unsigned-executable-memory')).toBe(false);
    expect(entitlements.has('com.apple.security.cs.allow-dyld-environment-variables')).toBe(false);
  });
});
