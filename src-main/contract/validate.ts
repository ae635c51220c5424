import type { z } from 'zod';

// Turns a schema's complaints about an argument into one sentence a person can act on: which
// field, what it must be, what came instead. Unknown fields are named, never dropped silently.

/** What is wrong with `value` under `schema`, or null when it conforms. */
export function argsProblem(schema: z.ZodType, value: unknown): string | null {
  const parsed = schema.safeParse(value);
  if (parsed.success) return null;
  return parsed.error.issues.map((issue) => describeIssue(issue, value)).join(' ');
}

// zod's own wording for an issue; a message written in a schema is shown as it is.
const GENERATED = /^(Invalid|Too (small|big)|Unrecognized)/;

function describeIssue(issue: z.core.$ZodIssue, root: unknown): string {
  const where = issue.path.length ? issue.path.join('.') : 'the argument';
  const got = valueAt(root, issue.path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return `Unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}${issue.path.length ? ` in ${where}` : ''}: the contract does not have ${issue.keys.length > 1 ? 'them' : 'it'}.`;
    case 'invalid_value':
      return `${where} must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')} (got ${show(got)}).`;
    case 'invalid_type':
      return got === undefined ? `${where} is missing (${issue.expected}).` : `${where} must be ${article(issue.expected)} (got ${show(got)}).`;
    case 'too_small':
    case 'too_big':
      if (!GENERATED.test(issue.message)) return issue.message;
      return `${where} must ${bound(issue)} (got ${show(got)}).`;
    default:
      if (!GENERATED.test(issue.message)) return issue.message;
      return `${where}: ${issue.message} (got ${show(got)}).`;
  }
}

function bound(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig): string {
  const small = issue.code === 'too_small';
  const n = Number(small ? (issue as z.core.$ZodIssueTooSmall).minimum : (issue as z.core.$ZodIssueTooBig).maximum);
  const inclusive = issue.inclusive !== false;
  if (issue.origin === 'array' || issue.origin === 'set') return `hold ${small ? 'at least' : 'at most'} ${n} item${n === 1 ? '' : 's'}`;
  if (issue.origin === 'string') return small && n === 1 ? 'not be empty' : `be ${small ? 'at least' : 'at most'} ${n} characters long`;
  if (small) return inclusive ? `be at least ${n}` : `be more than ${n}`;
  return inclusive ? `be at most ${n}` : `be less than ${n}`;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const key of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

function article(expected: string): string {
  if (expected === 'int') return 'an integer';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'object' && value !== null) return 'an object';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
