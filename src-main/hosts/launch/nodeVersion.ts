// Which Node runs what. The app path (Electron's installer @electron/get, @electron/rebuild,
// electron 45's own package) declares Node >= 22.12; the CLI, the web host and the tests run on
// Node 20.19+ (vite 8 and require(esm) need 20.19). Checked up front so a user reads one sentence
// instead of a late crash inside Electron's tooling.

export const APP_NODE_MIN = '22.12.0';

function parseNodeVersion(version: string): [number, number, number] {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version.trim());
  if (!match) throw new Error(`not a Node version: "${version}"`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

export function isAtLeast(version: string, minimum: string): boolean {
  const have = parseNodeVersion(version);
  const need = parseNodeVersion(minimum);
  for (let i = 0; i < 3; i++) {
    if (have[i]! !== need[i]!) return have[i]! > need[i]!;
  }
  return true;
}
