import type { StudioErrorCode } from '@contract';

// What a user can do about an error, by code. The message says what happened; this says how to fix it.
// Keyed by the contract's closed set of codes, so a new code does not compile without its hint.
const HINTS: Record<StudioErrorCode, string> = {
  'host-unreachable': 'Start the studio host again (`studio serve <index>`), then reload this page.',
  'bad-reply': 'The host and this page may be different versions: reload the page.',
  'not-found': 'Check the path or id; an index can always be opened again from the start page.',
  'bad-input': 'The message says which value or file to change.',
  'bad-request': 'Fill in or correct the value the message names, then try again.',
  'schema-too-new': 'This index was written by a newer Feature Studio: update the app to open it.',
  cancelled: 'Start the job again with the same output folder to resume where it stopped.',
  internal: 'This is a bug in the studio: the host’s log has the details, please report it.',
  // Views drop superseded replies; a notice showing one means a newer request replaced it.
  superseded: 'A newer request replaced this one; its result is on the way.',
  forbidden: 'Open the studio from the address `studio serve` printed (or the app window), not from another page.',
  unauthorized: 'Open the address `studio serve` printed, with its token, to sign this browser in again.',
  'payload-too-large': 'Send less at once: a smaller file or fewer items.',
  'method-not-allowed': 'The host and this page may be different versions: reload the page.',
};

// Hints for what the message says happened, before the code's generic one: the code alone is too
// coarse (bad-input covers a model chosen as its manifest and a wrong SAE width alike).
const BY_MESSAGE: [RegExp, string][] = [
  [/is a model, not its manifest/, 'A backbone is described by a small .json manifest next to the .onnx: choose that file, use “Create a manifest” below, or run `studio inspect-model <model.onnx>` to write one.'],
  [/there is no file there|ENOENT|no such file|Folder not found|No file at/i, 'Nothing is at that path: check it for typos, or use Browse… to pick the file.'],
  [/is a folder: choose/, 'Choose the file inside the folder.'],
];

/** The hint for an error; null when the message already says all there is to do. */
export function errorHint(code: StudioErrorCode, message = ''): string {
  for (const [pattern, hint] of BY_MESSAGE) if (pattern.test(message)) return hint;
  return HINTS[code] ?? 'If this keeps happening, the studio host’s log has the details.';
}
