// Execution providers: which ones this onnxruntime-node build can use here, which one 'auto'
// means, and session creation that falls back to CPU so the UI can say what really runs.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ProviderChoice, ProviderName } from '../../contract/index.js';
import { checkFile } from '../util/checkedRead.js';
import { OnnxGraphBuilder } from './graphBuilder.js';

// onnxruntime prints its own (coloured) log lines to stderr, e.g. for a model that fails to
// load; every failure it reports is also thrown, and we re-throw it naming the model, so its
// console output is only noise in a CLI's or a log's output. Only fatal lines get through.
ort.env.logLevel = 'fatal';

/** Best first; 'auto' takes the first one available. */
export const PROVIDER_PREFERENCE: readonly ProviderName[] = ['cuda', 'dml', 'coreml', 'webgpu', 'cpu'];

const KNOWN: ReadonlySet<string> = new Set<ProviderName>(PROVIDER_PREFERENCE);

/**
 * Non-bundled backends (CUDA on Linux) are listed by the binding even when their shared
 * libraries were never downloaded (package.json denies onnxruntime-node's download script; `npm run enable-cuda` runs it), so we
 * only count them when the provider library sits next to the binding.
 */
function unbundledLibraryPresent(name: string): boolean {
  const require = createRequire(import.meta.url);
  let bindingDir: string;
  try {
    const pkgDir = path.dirname(require.resolve('onnxruntime-node/package.json'));
    bindingDir = path.join(pkgDir, 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return false;
  }
  const base = `onnxruntime_providers_${name}`;
  const candidates =
    process.platform === 'win32' ? [`${base}.dll`] : process.platform === 'darwin' ? [`lib${base}.dylib`] : [`lib${base}.so`];
  return candidates.some((file) => existsSync(path.join(bindingDir, file)));
}

let supported: ProviderName[] | null = null;
/** Providers that failed to start a session in this process (e.g. WebGPU with no adapter on a
 *  headless box): 'auto' stops trying them and the UI stops offering them. */
const failed = new Set<ProviderName>();

/** Providers this build supports on this platform, best first; always includes 'cpu'. */
export function availableProviders(): ProviderName[] {
  if (!supported) {
    const found = new Set<ProviderName>(['cpu']);
    for (const backend of ort.listSupportedBackends()) {
      if (!KNOWN.has(backend.name)) continue; // e.g. tensorrt, which we do not offer
      if (backend.bundled || unbundledLibraryPresent(backend.name)) found.add(backend.name as ProviderName);
    }
    supported = PROVIDER_PREFERENCE.filter((p) => found.has(p));
  }
  return supported.filter((p) => p === 'cpu' || !failed.has(p));
}

let probed: Promise<void> | null = null;

/** A one-node model: enough for a provider to have to find its device. */
function probeModel(): Uint8Array {
  const b = new OnnxGraphBuilder('provider-probe');
  b.addInput('x', 'float32', [1]);
  b.node('Identity', ['x'], ['y']);
  b.addOutput('y', 'float32', [1]);
  return b.toBytes();
}

/**
 * The providers that can really start a session here, best first. The binding lists WebGPU on
 * every Linux build, but without an adapter (no Vulkan, headless box) a session on it fails, and
 * a user who picked it got CPU with only a log line to say so. Each non-CPU provider is tried
 * once per process on a one-node model (the result is cached); failures join `failed`, so
 * availableProviders and 'auto' skip them too.
 */
export async function usableProviders(): Promise<ProviderName[]> {
  probed ??= (async () => {
    for (const p of availableProviders()) {
      if (p === 'cpu') continue;
      try {
        const session = await ort.InferenceSession.create(probeModel(), { executionProviders: [p] });
        await session.release();
      } catch {
        failed.add(p);
      }
    }
  })();
  await probed;
  return availableProviders();
}

/**
 * Providers 'auto' may pick. WebGPU is offered but never chosen automatically: on headless Linux
 * boxes it has no adapter (and logs Vulkan errors on every try), and where it runs, the native
 * providers (CUDA, DirectML, CoreML) are the better choice for ViT inference.
 */
const AUTO_CANDIDATES: readonly ProviderName[] = ['cuda', 'dml', 'coreml', 'cpu'];

/** The provider a choice stands for: 'auto' is the best available; an explicit name is kept. */
export function resolveProvider(choice: ProviderChoice): ProviderName {
  if (choice !== 'auto') return choice;
  return availableProviders().find((p) => AUTO_CANDIDATES.includes(p)) ?? 'cpu';
}

/** Threads for one session: all logical cores (the indexer runs one session at a time). */
function defaultThreads(): number {
  return Math.max(1, os.availableParallelism());
}

export interface CreatedSession {
  session: ort.InferenceSession;
  /** The provider the session really runs on (after any fallback). */
  provider: ProviderName;
  /** Why the requested provider was not used, when it was not. */
  fallbackReason: string | null;
}

export interface CreateSessionOptions {
  intraOpNumThreads?: number;
}

function sessionOptions(provider: ProviderName, options: CreateSessionOptions): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    // See ort.env.logLevel above: errors arrive as exceptions, not as console lines.
    logSeverityLevel: 4,
    intraOpNumThreads: options.intraOpNumThreads ?? defaultThreads(),
    // One graph at a time: parallelism comes from intra-op threads, not from running branches.
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // No busy-waiting between runs: the indexer decodes the next batch of images (sharp threads)
    // while a batch is in onnxruntime, and spinning workers would take those cores. Measured: no
    // slower per run, ~8% less CPU time.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

function open(model: string | Uint8Array, opts: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  return typeof model === 'string' ? ort.InferenceSession.create(model, opts) : ort.InferenceSession.create(model, opts);
}

/**
 * Opens a model on the chosen provider ('auto' = best available). If that provider cannot
 * start (no GPU adapter, missing CUDA libraries), retries on CPU. Errors on CPU itself (a
 * corrupt or unsupported model) are thrown, naming the model.
 */
export async function createSession(
  model: string | Uint8Array,
  choice: ProviderChoice,
  options: CreateSessionOptions = {},
): Promise<CreatedSession> {
  // onnxruntime reads a path itself, to its end: refuse devices, FIFOs and oversized files first.
  if (typeof model === 'string') checkFile(model, 'onnx');
  const wanted = resolveProvider(choice);
  const label = typeof model === 'string' ? model : `in-memory model (${model.byteLength} bytes)`;
  let fallbackReason: string | null = null;
  if (wanted !== 'cpu') {
    try {
      return { session: await open(model, sessionOptions(wanted, options)), provider: wanted, fallbackReason: null };
    } catch (err) {
      fallbackReason = `${wanted} could not start: ${firstLine(err)}`;
    }
  }
  let session: ort.InferenceSession;
  try {
    session = await open(model, sessionOptions('cpu', options));
  } catch (err) {
    throw new Error(`onnxruntime could not load ${label}: ${firstLine(err)}`, { cause: err });
  }
  // Only blame the provider once CPU proved the model itself loads.
  if (fallbackReason) failed.add(wanted);
  return { session, provider: 'cpu', fallbackReason };
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!.trim();
}
