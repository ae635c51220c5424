import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ItemList, ItemListBuilder } from '../../src-main/core/dataset/packedItemList.js';
import { scanImageFolder } from '../../src-main/core/dataset/scanImageFolder.js';

describe('ItemList', () => {
  it('gives back every path and label as pushed, past several growths of its arrays', () => {
    const b = new ItemListBuilder();
    const expected: { path: string; label: string | null }[] = [];
    for (let i = 0; i < 5000; i++) {
      // Long, non-ASCII paths so the byte buffer (64 KiB at first) grows several times.
      const item = { path: `klasse-${i % 7}/bild_${i}_${'é🙂'.repeat(i % 5)}_${'x'.repeat(i % 40)}.jpg`, label: i % 3 === 0 ? null : `klasse-${i % 7}` };
      b.push(item.path, item.label);
      expected.push(item);
    }
    const list = b.finish();
    expect(list.length).toBe(5000);
    expect(list.toArray()).toEqual(expected);
    expect(list.path(4999)).toBe(expected[4999]!.path);
    expect(list.label(3)).toBeNull();
    expect(list.distinctLabels()).toEqual(['klasse-0', 'klasse-1', 'klasse-2', 'klasse-3', 'klasse-4', 'klasse-5', 'klasse-6']);
  });

  it('gives the same list whether its size was known ahead, overestimated or unknown', () => {
    const names = Array.from({ length: 3000 }, (_, i) => String(i).padStart(4, '0'));
    const build = (b: ItemListBuilder) => {
      names.forEach((n, i) => b.push(n, i % 2 ? 'odd' : null));
      return b.finish().toArray();
    };
    const expected = names.map((n, i) => ({ path: n, label: i % 2 ? 'odd' : null }));
    expect(build(new ItemListBuilder(3000, 3000 * 4))).toEqual(expected);
    expect(build(new ItemListBuilder(5000, 50_000))).toEqual(expected);
    expect(build(new ItemListBuilder(1, 1))).toEqual(expected);
  });

  it('refuses an id outside the list instead of answering with a neighbour', () => {
    const list = ItemList.from([{ path: 'a.jpg', label: null }]);
    expect(() => list.path(1)).toThrow(/Item 1 is not in a list of 1/);
    expect(() => list.label(-1)).toThrow(RangeError);
    expect(ItemList.from([]).length).toBe(0);
  });
});

describe('scanImageFolder order', () => {
  let root: string;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'item-list-'));
    // Names where a folder's walk order and the whole paths' order could disagree: '-', '.', ' '
    // sort before '/', so "a-b/x.jpg" comes before "a/x.jpg" and "a.jpg" before "a/...".
    const files = ['a/x.jpg', 'a/b/c.png', 'a/b.jpg', 'a-b/x.jpg', 'a.jpg', 'a b/z.jpg', 'a0/y.jpg', 'Z/up.jpg', 'é/e.jpg', 'a/b-c/d.jpg', 'a/b/c/d.jpg', 'top.webp', '.hidden/skip.jpg', 'a/notes.txt'];
    for (const f of files) {
      fs.mkdirSync(path.join(root, path.dirname(f)), { recursive: true });
      fs.writeFileSync(path.join(root, f), 'x');
    }
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('lists images in the code-unit order of their whole relative paths, labelled by their first folder', () => {
    const scanned = scanImageFolder(root);
    const all: string[] = [];
    const walk = (dir: string, rel: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        if (e.name.startsWith('.')) continue;
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) walk(path.join(dir, e.name), r);
        else if (/\.(jpg|png|webp)$/.test(e.name)) all.push(r);
      }
    };
    walk(root, '');
    all.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    expect(scanned.items.toArray()).toEqual(all.map((p) => ({ path: p, label: p.includes('/') ? p.slice(0, p.indexOf('/')) : null })));
    expect(scanned.items.path(0)).toBe('Z/up.jpg');
    expect(scanned.labels).toEqual(['Z', 'a', 'a b', 'a-b', 'a0', 'é']);
  });
});
