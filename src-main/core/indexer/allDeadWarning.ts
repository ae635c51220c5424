// An index in which no feature ever fired is almost never what the user meant: the SAE did not see
// the activations it was trained on. Indexing still succeeds (the table is valid, just empty), so
// the run has to say so loudly, with what usually causes it.

/** The warning for an index whose every feature is dead, or null when some feature fired. */
export function allDeadWarning(features: number, dead: number, tokens: number): string | null {
  if (features <= 0 || dead < features || tokens <= 0) return null;
  return (
    `every one of the ${features} features is dead: none fired on any of the ${tokens} tokens. ` +
    `The SAE is probably not seeing the activations it was trained on. Likely causes: the wrong layer ` +
    `(--layer), the wrong normalisation or scale (--norm / --norm-scale), or weights read wrongly ` +
    `(wrong dtype or format, or a corrupt checkpoint).`
  );
}
