// Command-line options of the benchmark scripts: `--name value`, or the fallback when absent.

export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

export function numberArg(name: string, fallback: number): number {
  const value = arg(name, '');
  return value ? Number(value) : fallback;
}
