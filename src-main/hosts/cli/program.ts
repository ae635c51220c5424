import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { FeatureSortKey, ProviderChoice } from '../../contract/index.js';
import { APP_VERSION } from '../../core/version.js';
import { formatShardSpec, parseShardSpec } from '../../core/indexer/shardSpec.js';
import { EXIT, errorMessage, type CliDeps } from './context.js';
import { DEFAULT_PORT } from './commands/defaultPort.js';
import type { IndexOptions } from './commands/indexCommand.js';
import type { TagsOptions } from './commands/tagsCommand.js';
import type { InterveneOptions } from './commands/interveneCommand.js';

// The `studio` command line: parsing and exit codes only; each command lives in commands/.
// Commands are imported when they run: most pull in SQLite, sharp or onnxruntime (100-500 ms to
// load), which `studio --help`, `--version` and usage errors must not pay for (scripts/bench-cli.ts).

/** The index folder for DIR, or for member NAME of a group folder (several SAEs, one pass). */
async function indexFolder(dir: string, sae?: string): Promise<string> {
  return (await import('./commands/temporalCommand.js')).indexFolderArg(dir, sae);
}

const PROVIDERS: ProviderChoice[] = ['auto', 'cpu', 'cuda', 'dml', 'coreml', 'webgpu'];
const SORT_KEYS: FeatureSortKey[] = ['index', 'frequency', 'mean', 'max', 'autocorrelation', 'switchRate'];

function integerAtLeast(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`expected a whole number >= ${min}, got "${value}".`);
    }
    return n;
  };
}

function shardSpec(value: string): string {
  try {
    return formatShardSpec(parseShardSpec(value));
  } catch (err) {
    throw new InvalidArgumentError(errorMessage(err));
  }
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got "${value}".`);
  return n;
}

function port(value: string): number {
  const n = integerAtLeast(0)(value);
  if (n > 65535) throw new InvalidArgumentError(`expected a port 0..65535 (0 = any free port), got "${value}".`);
  return n;
}

function buildProgram(deps: CliDeps, setExit: (code: number) => void): Command {
  const program = new Command('studio')
    .description('Feature Studio: index and explore sparse-autoencoder features of vision transformers.')
    .version(APP_VERSION)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => deps.stdout.write(text),
      writeErr: (text) => deps.stderr.write(text),
    })
    .showHelpAfterError('(run "studio --help" for usage)');

  const run = (fn: () => Promise<number>) => async () => setExit(await fn());

  program
    .command('index')
    .description('Run a backbone and SAE over a dataset and write an index (resumable: rerun to continue).')
    .option('--model <manifest>', 'backbone manifest (JSON next to the ONNX file); with --shards, crops thumbnails and states the patch grid (needed for families other than clip and dinov2)')
    .requiredOption('--layer <name>', 'layer named in the manifest, or one of the shards\' layers')
    .requiredOption(
      '--sae <path>',
      'SAE checkpoint (SAELens folder, .safetensors + sidecar, saev sae.pt, dictionary_learning ae.pt); repeat for several SAEs in one pass (videos)',
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .option('--data <dir>', 'image folder (optionally in label subfolders), or folder of clips')
    .addOption(new Option('--kind <kind>', 'what the data folder holds (default: videos when it holds video files)').choices(['images', 'videos']))
    .option('--frames <n>', 'videos: N evenly spaced frames (segments) per clip (default 16)', integerAtLeast(1))
    .option('--fps <rate>', 'videos: every frame at this rate instead of segments', positiveNumber)
    .option('--max-frames <n>', 'videos: at most this many frames per clip (default 64)', integerAtLeast(1))
    .option('--labels <file>', 'videos: SSv2-style label JSON (clip id = file or folder name)')
    .option('--shards <dir>', 'saev activation shards (metadata.json + acts*.bin) instead of running a backbone')
    .option('--images <dir>', 'with --shards: the image folder the shards were made from (thumbnails, labels); default: the folder saev recorded, when it exists here')
    .requiredOption('--out <dir>', 'index folder to create or resume')
    .option('--devices <list>', 'split the run over several devices, one worker each (e.g. cuda:0,cuda:1 or cpu,cpu), and merge the parts into --out; parts kept in OUT.parts')
    .option('--shard <i/n>', 'index only part i (0-based) of n of the items, as one task of a split run (Slurm array, Kubernetes Indexed Job); combine the parts with studio merge', shardSpec)
    .option('--top-k <n>', 'exemplars kept per feature', integerAtLeast(1), 32)
    .option('--batch <n>', 'at most this many images per forward pass (default 16; fewer when --memory-budget says so)', integerAtLeast(1))
    .option('--memory-budget <MiB>', 'memory one indexing step may hold, sizing batches in tokens x SAE features (default 1024)', integerAtLeast(1))
    .addOption(new Option('--provider <name>', 'execution provider').choices(PROVIDERS).default('auto'))
    .addOption(
      new Option(
        '--thumbnails <mode>',
        'images: on-demand (default) makes each thumbnail from the dataset when first shown, cached with a size cap; eager writes them all during the build, so the index works without its dataset (video indexes are always eager)',
      ).choices(['eager', 'on-demand']),
    )
    .addOption(
      new Option('--norm <mode>', "override the SAE's input normalisation").choices(['none', 'scale', 'constant_norm_rescale', 'layer_norm']),
    )
    .option('--norm-scale <x>', "with --norm scale: (x - mean) * X, e.g. SAELens expected_average_only_in's factor", Number)
    .option('--groups <a,b,c>', 'Matryoshka group widths (cumulative, ending at the SAE width) for a checkpoint that does not record them (applies to the first --sae)')
    .action((opts: IndexOptions) => run(async () => (await import('./commands/indexCommand.js')).indexCommand(opts, deps))());

  program
    .command('info')
    .description('Show an index summary.')
    .argument('<dir>', 'index folder')
    .option('--json', 'print the summary as JSON')
    .option('--sae <name>', 'in a folder indexed with several SAEs: which one (default the first)')
    .action((dir: string, opts: { json?: boolean; sae?: string }) => run(async () => (await import('./commands/infoCommand.js')).infoCommand(await indexFolder(dir, opts.sae), opts, deps))());

  program
    .command('merge')
    .description('Merge the parts of a run split with `studio index --shard i/n` into one index equal to a single run.')
    .argument('<out>', 'folder for the merged index (new or empty; a killed merge is started over)')
    .argument('<parts...>', 'every part folder, 0 to n-1 (or group folders, when several SAEs were indexed in one pass)')
    .option('--json', 'print {"out", "parts", "items", "skipped", "features", "members", "alreadyMerged", "seconds"}')
    .action((out: string, parts: string[], opts: { json?: boolean }) => run(async () => (await import('./commands/mergeCommand.js')).mergeCommand(out, parts, opts, deps))());

  program
    .command('temporal')
    .description("Temporal statistics of a video index: each feature's autocorrelation and switch rate, and the SAE's coherence against the raw activations.")
    .argument('<dir>', 'index folder')
    .option('--sae <name>', 'in a folder indexed with several SAEs: which one (default the first)')
    .option('--json', 'print {"autocorrelation", "switch_rate", "raw_autocorrelation", "coherence_kept", "features": [...]}')
    .action((dir: string, opts: { json?: boolean; sae?: string }) => run(async () => (await import('./commands/temporalCommand.js')).temporalCommand(dir, opts, deps))());

  program
    .command('intervene')
    .description('Suppress or amplify SAE features on chosen patches of an image and show a task head\'s output before and after.')
    .requiredOption('--model <manifest>', 'backbone manifest')
    .requiredOption('--layer <name>', 'the layer the SAE reads')
    .requiredOption('--sae <path>', 'SAE checkpoint')
    .requiredOption('--head <dir>', 'task head folder: head.json, head.safetensors (weight, bias), labels.json')
    .option('--index <dir>', 'index of this SAE: VALUE is a multiple of the feature\'s max activation there')
    .requiredOption('--image <file>', 'image to run')
    .requiredOption('--set <edits>', 'FEATURE=VALUE[,FEATURE=VALUE], e.g. 6909=0 to suppress, 6909=2 to double its max')
    .option('--patches <list>', '"row,col;row,col" of the patch grid (default: every patch)')
    .option('--absolute', 'VALUE is an activation, not a multiple of the feature\'s max')
    .option('--json', 'print {"before": [[label, prob], ...], "after": [...]} (segmentation: per-patch class ids)')
    .addOption(new Option('--provider <name>', 'execution provider').choices(PROVIDERS).default('auto'))
    .action((opts: InterveneOptions) => run(async () => (await import('./commands/interveneCommand.js')).interveneCommand(opts, deps))());

  program
    .command('features')
    .description('List per-feature statistics (JSON includes top exemplars).')
    .argument('<dir>', 'index folder')
    .option('--json', 'print JSON: an array, or one object with --feature')
    .option('--feature <i>', 'only this feature', integerAtLeast(0))
    .addOption(new Option('--sort <key>', 'order: index ascending, the others highest first').choices(SORT_KEYS).default('index'))
    .option('--limit <n>', 'at most this many features', integerAtLeast(0))
    .option('--sae <name>', 'in a folder indexed with several SAEs: which one (default the first)')
    .action((dir: string, opts: { json?: boolean; feature?: number; sort: FeatureSortKey; limit?: number; sae?: string }) =>
      run(async () => (await import('./commands/featuresCommand.js')).featuresCommand(await indexFolder(dir, opts.sae), opts, deps))(),
    );

  program
    .command('tags')
    .description("Export or import a SAE's feature tags and notes (CSV or JSON, from the file extension); without options, summarise them.")
    .argument('<dir>', 'index folder')
    .option('--export <file>', 'write tags, notes and reviewed marks to FILE (.csv or .json)')
    .option('--import <file>', 'merge FILE into the tags: adds what is missing, reports category conflicts instead of overwriting')
    .option('--force', 'import a JSON file written for another SAE (different weights hash)')
    .option('--json', 'print the summary or the import report as JSON')
    .action((dir: string, opts: TagsOptions) => run(async () => (await import('./commands/tagsCommand.js')).tagsCommand(dir, opts, deps))());

  program
    .command('demo')
    .description('Build the embedded demo: a generated dataset, two toy backbones, three SAEs trained here, their indexes and matches.')
    .option('--out <dir>', 'where to build it (default: the demo folder in the studio\'s settings folder, where the app finds it)')
    .option('--small', 'a smaller, faster demo (fewer items and training steps), for tests')
    .option('--json', 'print {"indexes": [paths], "seconds": s} at the end')
    .action((opts: { out?: string; small?: boolean; json?: boolean }) =>
      run(async () => {
        const { demoCommand } = await import('./commands/demoCommand.js');
        return demoCommand(opts, deps);
      })(),
    );

  program
    .command('serve')
    .description('Serve the studio UI on http://127.0.0.1 for a browser.')
    .argument('[dir]', 'index folder to open at start')
    .option('--port <port>', `port on 127.0.0.1 (0 = any free port; default ${DEFAULT_PORT}, or any free port when it is busy)`, port)
    .option('--open', 'open it in the default browser (when there is a display)')
    .action((dir: string | undefined, opts: { port?: number; open?: boolean }) => run(async () => (await import('./commands/serveCommand.js')).serveCommand(dir, opts, deps))());

  program
    .command('open')
    .description('Serve the studio (like serve --open) and open the view a "Copy link" link points to.')
    .argument('<link>', 'a studio link, e.g. http://127.0.0.1:5199/#/index/<id>/feature/12')
    .argument('[dir]', 'index folder to open first (for an index this user has not opened before)')
    .option('--port <port>', `port on 127.0.0.1 (default ${DEFAULT_PORT}, or any free port when it is busy)`, port)
    .option('--no-browser', 'only print the address')
    .action((link: string, dir: string | undefined, opts: { port?: number; browser?: boolean }) =>
      run(async () => (await import('./commands/openCommand.js')).openCommand(link, dir, opts, deps))(),
    );

  program
    .command('match')
    .description('Match the features of two indexes of the same dataset (e.g. CLIP and DINOv2); saves the result into both.')
    .argument('<a>', 'first index folder')
    .argument('<b>', 'second index folder')
    .option('--json', 'print {"a_to_b": [...], "b_to_a": [...], "mutual": [...]} (each live feature\'s best match, mutual best pairs)')
    .option('--memory-budget <MiB>', 'memory one pass over the items may hold (default 1024); smaller means more passes, the same result', integerAtLeast(1))
    .action((a: string, b: string, opts: { json?: boolean; memoryBudget?: number }) =>
      run(async () => {
        const { matchCommand } = await import('./commands/matchCommand.js');
        return matchCommand(a, b, opts, deps);
      })(),
    );

  program
    .command('query')
    .description("Rank an index's features by their activation summed over chosen patches of an image.")
    .argument('<dir>', 'index folder (its backbone manifest and SAE are used)')
    .argument('<image>', 'image file')
    .requiredOption('--patches <list>', 'patches as "row,col;row,col" on the model\'s grid (from 0), or "all"')
    .option('--limit <n>', 'at most this many features', integerAtLeast(1), 20)
    .option('--json', 'print {"features": [{"index": i, "value": v}, ...]}')
    .action((dir: string, image: string, opts: { patches: string; json?: boolean; limit?: number }) =>
      run(async () => {
        const { queryCommand } = await import('./commands/queryCommand.js');
        return queryCommand(dir, image, opts, deps);
      })(),
    );

  program
    .command('inspect-model')
    .description("List an ONNX backbone's inputs, outputs and candidate layers; --expose writes a copy that outputs them.")
    .argument('<file>', 'ONNX model')
    .option('--json', 'print JSON')
    .option('--expose <names>', 'comma-separated candidate layers (block_10) or tensor names to add as outputs')
    .option('--out <file>', 'where to write the copy (default: <model>.with-<layers>.onnx next to the model)')
    .option('--manifest <file>', 'backbone manifest to update, or to create when missing (default: next to the copy)')
    .option('--size <n>', 'input image size, for models whose H and W are symbolic', integerAtLeast(1))
    .option('--input-shape <dims>', 'full test input shape, e.g. 1,16,3,224,224 for video')
    .action((file: string, opts: { json?: boolean; expose?: string; out?: string; manifest?: string; size?: number; inputShape?: string }) =>
      run(async () => {
        // Imported lazily so the other commands do not load the ONNX surgery code.
        const { inspectModelCommand } = await import('./commands/inspectModelCommand.js');
        return inspectModelCommand(file, opts, deps);
      })(),
    );

  program
    .command('train')
    .description(
      'Train a TopK, BatchTopK or Matryoshka SAE on patch activations: of a backbone over an image folder or clips (--model, --data), or from saev shards (--shards).',
    )
    .option('--model <manifest>', 'backbone manifest (with --data)')
    .requiredOption('--layer <name>', 'layer named in the manifest, or one of the shards\' layers')
    .option('--data <dir>', 'image folder, or folder of clips (videos, frame folders, animated GIF/WebP)')
    .addOption(new Option('--kind <kind>', 'what --data holds (default: videos when it holds video files)').choices(['images', 'videos']))
    .option('--frames <n>', 'videos: N evenly spaced frames (segments) per clip (default 16)', integerAtLeast(1))
    .option('--fps <rate>', 'videos: every frame at this rate instead of segments', positiveNumber)
    .option('--max-frames <n>', 'videos: at most this many frames per clip (default 64)', integerAtLeast(1))
    .option('--shards <dir>', 'saev activation shards (metadata.json + acts*.bin) instead of --model and --data')
    .requiredOption('--out <dir>', 'folder to write the SAE to, as a SAELens folder (cfg.json + sae_weights.safetensors)')
    .addOption(new Option('--arch <arch>', 'SAE architecture').choices(['topk', 'batchtopk', 'matryoshka']).default('topk'))
    .requiredOption('--width <n>', 'number of latents', integerAtLeast(1))
    .requiredOption('--k <k>', 'active latents per token (BatchTopK: on average)', integerAtLeast(1))
    .option('--groups <a,b,c>', 'matryoshka: cumulative group widths ending at --width')
    .option('--steps <n>', 'training steps', integerAtLeast(1), 1000)
    .option('--seed <x>', 'random seed', integerAtLeast(0), 0)
    .option('--batch <n>', 'tokens per step', integerAtLeast(1), 256)
    .option('--lr <x>', 'Adam learning rate (default 2e-3)', positiveNumber)
    .addOption(
      new Option('--dense-product <where>', "the encoder's dense product each step: onnxruntime (on --provider) or plain JS").choices(['onnx', 'js']).default('onnx'),
    )
    .addOption(new Option('--provider <name>', 'execution provider (backbone and dense product)').choices(PROVIDERS).default('auto'))
    .action((opts: import('./commands/trainCommand.js').TrainCliOptions) =>
      run(async () => {
        const { trainCommand } = await import('./commands/trainCommand.js');
        return trainCommand(opts, deps);
      })(),
    );

  return program;
}

/** Runs one command line (without `node studio`) and returns the process exit code. */
export async function runCli(argv: string[], deps: CliDeps): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = buildProgram(deps, (code) => (exitCode = code));
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return EXIT.usage;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    // Commander already printed its message (help, unknown option, missing argument).
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    deps.stderr.write(`error: ${errorMessage(err)}\n`);
    return EXIT.failure;
  }
  return exitCode;
}
