import { mergeIndexParts } from '../../../core/indexer/mergeParts.js';
import { EXIT, type CliDeps } from '../context.js';
import { formatCount } from '../progressLine.js';

// `studio merge OUT PART...`: the parts of a run split with `studio index --shard i/n` (on one
// machine, a Slurm array or a Kubernetes Indexed Job) merged into one index that equals a single
// run's. Ctrl-C stops it; running it again starts the merge over (it is fast next to indexing).

export async function mergeCommand(out: string, parts: string[], opts: { json?: boolean }, deps: CliDeps): Promise<number> {
  const controller = new AbortController();
  const unsubscribe = deps.onInterrupt(() => controller.abort());
  const t0 = deps.now();
  let lastLine = 0;
  try {
    const result = await mergeIndexParts(out, parts, {
      signal: controller.signal,
      onProgress: (done, total, member) => {
        if (opts.json || (deps.now() - lastLine < 1000 && done < total)) return;
        lastLine = deps.now();
        deps.stderr.write(`merging${member ? ` ${member}` : ''}: ${formatCount(done)} of ${formatCount(total)} features\n`);
      },
    });
    const seconds = (deps.now() - t0) / 1000;
    if (opts.json) {
      deps.stdout.write(`${JSON.stringify({ ...result, seconds })}\n`);
    } else if (result.alreadyMerged) {
      deps.stdout.write(`${result.out} already holds the merge of these ${result.parts} parts; nothing to do.\n`);
    } else {
      const members = result.members.length > 0 ? ` (SAEs ${result.members.join(', ')})` : '';
      deps.stdout.write(
        `Merged ${result.parts} parts into ${result.out}${members}: ${formatCount(result.items)} items indexed, ${formatCount(result.skipped)} skipped, ` +
          `${formatCount(result.features)} features, in ${seconds.toFixed(1)} s.\n`,
      );
    }
    return EXIT.ok;
  } finally {
    unsubscribe();
  }
}
