// What a user can do about an error, by code. The message says what happened; this says how to fix it.
// Codes are the core's StudioErrorCode plus the two the HTTP client adds when no answer arrives.
const HINTS: Record<string, string> = {
  'host-unreachable': 'Start the studio host again (`studio serve <index>`), then reload this page.',
  'bad-reply': 'The host and this page may be different versions: reload the page.',
  'not-found': 'Check the path or id; an index can always be opened again from the start page.',
  'bad-input': 'The file was found but cannot be used as it is: the message says which value to change.',
  'bad-request': 'Fill in or correct the value the message names, then try again.',
  'schema-too-new': 'This index was written by a newer Feature Studio: update the app to open it.',
  cancelled: 'Start the job again with the same output folder to resume where it stopped.',
  internal: 'This is a bug in the studio: the host’s log has the details, please report it.',
};

export function errorHint(code: string): string {
  return HINTS[code] ?? 'If this keeps happening, the studio host’s log has the details.';
}
