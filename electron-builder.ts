import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { AfterPackContext, Configuration } from 'electron-builder';

// electron-builder configuration (`npm run dist`, `npm run dist:linux|mac|win`).
//
// A TypeScript module rather than electron-builder.yml: electron-builder 26 finds
// `electron-builder.ts` by itself (it loads it with jiti), `npm run typecheck` checks it against
// electron-builder's own Configuration type through tests/unit/packaging-config.test.ts, and that
// test imports the very object electron-builder uses, with no YAML parser in between.
//
// Native modules, which is where Electron packaging usually breaks:
//   - better-sqlite3 (node-gyp addon, Node-API-less: tied to one ABI) is rebuilt for Electron's
//     ABI and the target arch by electron-builder's `npmRebuild` (@electron/rebuild, which first
//     tries the prebuilt Electron binary from better-sqlite3's GitHub releases and compiles only
//     when there is none). The rebuild happens in node_modules in place, so scripts/dist.mjs saves
//     the Node build first and puts it back afterwards (tests and the CLI need it).
//   - sharp (@img/sharp-<os>-<arch> + @img/sharp-libvips-*), onnxruntime-node (its .node binding
//     and the libonnxruntime*/onnxruntime.dll/DirectML.dll neighbours it links against, plus the
//     CUDA provider libraries when a user installed them) and ffmpeg (@ffmpeg-installer, added by
//     a later change) ship ready binaries: they are only unpacked from app.asar, because the
//     dynamic linker cannot open a library inside an archive and a .node file's neighbours must
//     sit next to it on disk.
//   - `afterPack` (below) opens the packed app and refuses to make an installer when a native
//     binary the target needs is not in app.asar.unpacked.

/** Every native binary the app loads at run time, unpacked from app.asar. */
export const ASAR_UNPACK = [
  '**/node_modules/better-sqlite3/**',
  '**/node_modules/sharp/**',
  '**/node_modules/@img/**',
  // The binding, libonnxruntime.so.1 / .dylib / onnxruntime.dll, DirectML/dxil/dxcompiler on
  // Windows and, when installed (`npm run enable-cuda`), the CUDA/TensorRT providers.
  '**/node_modules/onnxruntime-node/bin/**',
  // ffmpeg binaries (@ffmpeg-installer/ffmpeg + @ffmpeg-installer/<os>-<arch>); the code that
  // spawns it must replace `app.asar` with `app.asar.unpacked` in the path the package reports.
  '**/node_modules/@ffmpeg-installer/**',
  // Safety net for native code a future dependency brings along.
  '**/*.node',
  '**/*.dll',
  '**/*.dylib',
  '**/*.so',
  '**/*.so.*',
];

/**
 * What goes into app.asar: the electron-vite output, the shipped model manifests and package.json.
 * Production dependencies (package.json "dependencies", never devDependencies) are added by
 * electron-builder itself; the `!` patterns trim them. Set per platform (filesFor) and not at the
 * top level: electron-builder 26 turns a top-level list into a file set of its own, and a
 * platform list next to it that holds only `!` patterns then makes it copy the whole project.
 */
export const APP_FILES = [
  'out/main/**',
  'out/preload/**',
  'out/renderer/**',
  'resources/manifests/**',
  'package.json',
  // better-sqlite3: the SQLite sources and node-gyp's intermediates are not needed at run time.
  '!**/node_modules/better-sqlite3/{deps,src}{,/**}',
  '!**/node_modules/better-sqlite3/build/{deps,Release/obj,Release/obj.target,Release/.deps}{,/**}',
  '!**/node_modules/better-sqlite3/build/Release/test_extension.node',
  '!**/node_modules/sharp/src{,/**}',
  // tsx (and its esbuild executable) is the CLI's TypeScript loader; the app runs bundled JS.
  '!**/node_modules/{tsx,esbuild,@esbuild}{,/**}',
];

/** APP_FILES plus this OS's trimming: onnxruntime-node ships every OS's binaries in one package. */
function filesFor(os: 'darwin' | 'linux' | 'win32'): string[] {
  const others = ['darwin', 'linux', 'win32'].filter((o) => o !== os);
  return [...APP_FILES, `!**/node_modules/onnxruntime-node/bin/napi-v6/{${others.join(',')}}{,/**}`];
}

/** The (platform, arch) pairs the installers are built for; see the targets below. */
export const PACKAGED_TARGETS: ReadonlyArray<{ platform: 'linux' | 'darwin' | 'win32'; arch: 'x64' | 'arm64' }> = [
  { platform: 'linux', arch: 'x64' },
  // arm64 only: onnxruntime-node stopped shipping a darwin-x64 binding after 1.23 (ONNX Runtime
  // has no official Intel-macOS build any more), so an Intel build could not run a model.
  { platform: 'darwin', arch: 'arm64' },
  { platform: 'win32', arch: 'x64' },
];

/**
 * Electron fuses, flipped in the packaged Electron binary by electron-builder (@electron/fuses,
 * which electron-builder 26 bundles) right before it signs the app. They close the ways a
 * local process could make the signed, trusted app binary run other code than ours:
 *
 *  - runAsNode off: `ELECTRON_RUN_AS_NODE=1 "Feature Studio" evil.js` no longer turns the app
 *    into a plain Node.js. Nothing of ours needs it: the indexer runs in worker_threads, and ffmpeg
 *    is its own executable (child_process.fork of the app binary is what would stop working).
 *  - enableNodeOptionsEnvironmentVariable off: NODE_OPTIONS (`--require evil.js`) and
 *    NODE_EXTRA_CA_CERTS are ignored.
 *  - enableNodeCliInspectArguments off: `--inspect`/`--inspect-brk` and SIGUSR1 open no debugger in
 *    the main process. (Playwright drives an app through --inspect, so the Electron specs run the
 *    unpackaged app, whose binary in node_modules has no fuses flipped.)
 *  - enableEmbeddedAsarIntegrityValidation + onlyLoadAppFromAsar: the app loads its code from
 *    app.asar only (not from a `resources/app` folder someone adds), and Electron checks that
 *    archive's header against the hash electron-builder embeds (Info.plist on macOS, a resource in
 *    the .exe on Windows; Linux has no such check, the fuse is a no-op there). Files unpacked by
 *    asarUnpack (every native binary, ASAR_UNPACK above) keep working: the archive's header marks
 *    them `unpacked` and Electron reads them from app.asar.unpacked, whose place is unaffected by
 *    onlyLoadAppFromAsar (it only narrows where the *app* is looked for), and the dynamic linker
 *    opens them from disk as before. Their contents are not covered by the integrity hash;
 *    on macOS the code signature seals them instead.
 *  - enableCookieEncryption on: Chromium's cookie store is encrypted with the OS keychain, as in
 *    Chrome. One-way: once on, it must stay on (turning it off again makes the store unreadable).
 *  - grantFileProtocolExtraPrivileges off: the renderer is served from studio-app:// (appProtocol.ts),
 *    never from file://, so file:// pages need none of their legacy extra powers.
 *  - resetAdHocDarwinSignature: the fuse wire lives inside Electron Framework on macOS, so flipping
 *    it breaks that binary's signature, and Apple silicon refuses to run code with a broken one.
 *    A signed build is re-signed by electron-builder right afterwards; this ad-hoc re-signature
 *    keeps an unsigned build (no CSC_LINK, e.g. a fork's release) launchable.
 */
export const ELECTRON_FUSES: NonNullable<Configuration['electronFuses']> = {
  runAsNode: false,
  enableCookieEncryption: true,
  enableNodeOptionsEnvironmentVariable: false,
  enableNodeCliInspectArguments: false,
  enableEmbeddedAsarIntegrityValidation: true,
  onlyLoadAppFromAsar: true,
  grantFileProtocolExtraPrivileges: false,
  resetAdHocDarwinSignature: true,
};

/**
 * Entitlements the macOS app and its helpers are signed with: JIT only, library validation on.
 * Why library validation can stay on is explained in the file. Lives in resources/, which is not
 * electron-builder's buildResources folder (see `directories` below), so it is named explicitly.
 */
export const MAC_ENTITLEMENTS = 'resources/entitlements.mac.plist';

const config: Configuration = {
  appId: 'org.featurestudio.app',
  productName: 'Feature Studio',
  copyright: 'Copyright © Feature Studio contributors',
  directories: {
    // buildResources stays at its default (`build/`, absent): not `resources/`, because
    // electron-builder leaves the buildResources folder out of the app and resources/manifests is
    // needed at run time (src-main/core/indexer/sources/saevShardSource.ts). Icons are named
    // explicitly below instead; electron-builder makes the .icns and .ico from resources/icon.png.
    output: 'dist',
  },
  asar: true,
  asarUnpack: ASAR_UNPACK,
  // Rebuild native dependencies (better-sqlite3) for Electron at packaging time: prebuilt Electron
  // binaries when they exist (buildDependenciesFromSource: false), node-gyp otherwise.
  npmRebuild: true,
  buildDependenciesFromSource: false,
  nativeRebuilder: 'sequential',
  afterPack: verifyPackedNatives,
  electronFuses: ELECTRON_FUSES,
  artifactName: '${name}-${version}-${os}-${arch}.${ext}',
  // Index folders are directories, which no OS associates with an app well, so there are no file
  // associations: `feature-studio <index folder>` (or `open -a "Feature Studio" <folder>` on
  // macOS) opens one (src-main/hosts/electron/launchArgs.ts).
  linux: {
    target: [
      { target: 'AppImage', arch: ['x64'] },
      { target: 'deb', arch: ['x64'] },
    ],
    category: 'Science',
    executableName: 'feature-studio',
    icon: 'resources/icons',
    synopsis: 'Explore sparse-autoencoder features of vision transformers',
    description: 'Explore the features that sparse autoencoders find inside vision and video backbones.',
    maintainer: 'Feature Studio contributors <feature-studio@users.noreply.github.com>',
    vendor: 'Feature Studio contributors',
    files: filesFor('linux'),
  },
  deb: {
    // electron-builder's defaults (GTK, NSS, …) plus nothing else: CUDA stays optional.
    priority: 'optional',
  },
  mac: {
    target: [{ target: 'dmg', arch: ['arm64'] }],
    category: 'public.app-category.developer-tools',
    icon: 'resources/icon.png',
    // Hardened runtime with our own entitlements instead of electron-builder's defaults, which
    // also grant unsigned executable memory and turn library validation off. Library validation
    // stays on: the signing step signs onnxruntime's, sharp's and better-sqlite3's binaries in
    // app.asar.unpacked with the app's own team identity, which is what validation asks for.
    // The helpers (renderer, GPU, plugin) get the same file rather than the permissive default.
    hardenedRuntime: true,
    entitlements: MAC_ENTITLEMENTS,
    entitlementsInherit: MAC_ENTITLEMENTS,
    gatekeeperAssess: false,
    darkModeSupport: true,
    files: filesFor('darwin'),
  },
  dmg: {
    title: '${productName} ${version}',
  },
  win: {
    target: [{ target: 'nsis', arch: ['x64'] }],
    icon: 'resources/icon.png',
    files: filesFor('win32'),
  },
  nsis: {
    oneClick: false,
    perMachine: false,
    allowToChangeInstallationDirectory: true,
    createDesktopShortcut: true,
    createStartMenuShortcut: true,
    shortcutName: 'Feature Studio',
  },
  // Installers are attached to GitHub releases by .github/workflows/release.yml (gh release),
  // so electron-builder itself never publishes.
  publish: null,
};

export default config;

const ARCH_NAMES: Record<number, string> = { 0: 'ia32', 1: 'x64', 2: 'armv7l', 3: 'arm64', 4: 'universal' };

/** The folder holding app.asar and app.asar.unpacked inside a packed (unpacked-dir) app. */
export function resourcesDirOf(appOutDir: string, platform: string, productFilename: string): string {
  return platform === 'darwin'
    ? path.join(appOutDir, `${productFilename}.app`, 'Contents', 'Resources')
    : path.join(appOutDir, 'resources');
}

/**
 * Native files a packed app for `platform`/`arch` must have on disk in app.asar.unpacked; returns
 * a line per missing one (empty when all is well). `platform` and `arch` are Node's names.
 */
export function missingNatives(resourcesDir: string, platform: string, arch: string): string[] {
  const modules = path.join(resourcesDir, 'app.asar.unpacked', 'node_modules');
  const missing: string[] = [];
  const need = (rel: string, why: string) => {
    if (!existsSync(path.join(modules, rel))) missing.push(`node_modules/${rel} (${why})`);
  };
  const hasFile = (rel: string, test: (name: string) => boolean, why: string) => {
    let names: string[] = [];
    try {
      names = readdirSync(path.join(modules, rel));
    } catch {
      // missing folder: reported below
    }
    if (!names.some(test)) missing.push(`node_modules/${rel}/ (${why})`);
  };

  need('better-sqlite3/build/Release/better_sqlite3.node', 'the SQLite store');

  const ort = `onnxruntime-node/bin/napi-v6/${platform}/${arch}`;
  need(`${ort}/onnxruntime_binding.node`, `onnxruntime-node has no ${platform}-${arch} binding`);
  const ortLib =
    platform === 'win32'
      ? (n: string) => n === 'onnxruntime.dll'
      : (n: string) => n.startsWith('libonnxruntime.') && (n.includes('.so') || n.endsWith('.dylib'));
  hasFile(ort, ortLib, 'the ONNX Runtime library next to the binding');

  hasFile(`@img/sharp-${platform}-${arch}/lib`, (n) => n.endsWith('.node'), `sharp for ${platform}-${arch}`);
  if (platform !== 'win32') {
    // On Windows libvips' DLLs sit in @img/sharp-win32-<arch>/lib next to the binding.
    hasFile(`@img/sharp-libvips-${platform}-${arch}/lib`, (n) => n.startsWith('libvips'), `libvips for ${platform}-${arch}`);
  }
  return missing;
}

/** afterPack hook: refuses to build an installer whose native binaries are not unpacked. */
export async function verifyPackedNatives(context: AfterPackContext): Promise<void> {
  const platform = context.electronPlatformName;
  const arch = ARCH_NAMES[context.arch] ?? String(context.arch);
  const resources = resourcesDirOf(context.appOutDir, platform, context.packager.appInfo.productFilename);
  const missing = missingNatives(resources, platform, arch);
  if (missing.length > 0) {
    throw new Error(
      `The packed app for ${platform}-${arch} lacks native binaries in app.asar.unpacked:\n  ${missing.join('\n  ')}\n` +
        'Install the dependencies on (or for) that platform and arch, and check asarUnpack in electron-builder.ts.',
    );
  }
}
