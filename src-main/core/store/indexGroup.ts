import fs from 'node:fs';
import path from 'node:path';
import type { IndexGroup } from '../../contract/index.js';
import { StudioError } from '../errors.js';
import { INDEX_DB_FILE } from './indexConfig.js';

/** Written in an out folder indexed with several SAEs in one pass; each member is a complete index. */
export const GROUP_FILE = 'group.json';

export interface GroupFile {
  kind: 'sae-group';
  members: { name: string; dir: string }[];
}

function readGroup(dir: string): IndexGroup | null {
  const file = path.join(dir, GROUP_FILE);
  if (!fs.existsSync(file)) return null;
  let g: GroupFile;
  try {
    g = JSON.parse(fs.readFileSync(file, 'utf8')) as GroupFile;
  } catch (err) {
    throw new StudioError('bad-input', `${file} is not readable JSON: ${(err as Error).message}`);
  }
  if (g.kind !== 'sae-group' || !Array.isArray(g.members) || g.members.length === 0) {
    throw new StudioError('bad-input', `${file} is not a Feature Studio SAE group ({"kind": "sae-group", "members": [...]}).`);
  }
  return { path: dir, members: g.members.map((m) => ({ name: m.name, path: path.resolve(dir, m.dir) })) };
}

/**
 * The index folder to open for `dir`: itself when it is an index (with its group when its parent
 * is a group folder listing it), or a member of the group folder `dir` (`member` by name, default
 * the first).
 */
export function resolveIndexFolder(dir: string, member?: string | null): { dir: string; group: IndexGroup | null; name: string | null } {
  const abs = path.resolve(dir);
  const group = readGroup(abs);
  if (group) {
    const m = member ? group.members.find((x) => x.name === member) : group.members[0]!;
    if (!m) throw new StudioError('not-found', `${abs} has no SAE named '${member}' (it holds ${group.members.map((x) => x.name).join(', ')}).`);
    return { dir: m.path, group, name: m.name };
  }
  if (member) {
    // A member folder given directly: accept its own name.
    const parent = fs.existsSync(path.join(abs, INDEX_DB_FILE)) ? safeGroup(path.dirname(abs)) : null;
    const self = parent?.members.find((x) => x.path === abs);
    if (parent && self && self.name !== member) return resolveIndexFolder(parent.path, member);
    if (!parent) throw new StudioError('bad-request', `--sae ${member}: ${abs} holds a single SAE's index, not a group of several.`);
  }
  const parent = fs.existsSync(path.join(abs, INDEX_DB_FILE)) ? safeGroup(path.dirname(abs)) : null;
  const self = parent?.members.find((x) => x.path === abs) ?? null;
  return { dir: abs, group: self ? parent : null, name: self?.name ?? null };
}

function safeGroup(dir: string): IndexGroup | null {
  try {
    return readGroup(dir);
  } catch {
    return null;
  }
}
