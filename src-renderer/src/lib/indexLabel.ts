// How an index is named in lists (Recent, Match, Compare): its name and dataset, as the paper
// writes them (`CLIP-24K · imagenet-val`), plus what tells it apart from another of the same name
// (SAE architecture, group member, folder) instead of a truncated path.

export interface NamedIndex {
  name: string;
  path: string;
  dataset?: string;
  detail?: string;
}

const folderOf = (p: string) => p.split(/[\\/]/).filter(Boolean).pop() ?? p;

function indexTitle(ix: NamedIndex): string {
  return ix.dataset ? `${ix.name} · ${ix.dataset}` : ix.name;
}

/** The distinguishing detail; entries recorded by older versions fall back to the folder name. */
export function indexDetail(ix: NamedIndex): string {
  return ix.detail ?? folderOf(ix.path);
}

/** One line for a <select> option. */
export function indexOption(ix: NamedIndex): string {
  return `${indexTitle(ix)} — ${indexDetail(ix)}`;
}
