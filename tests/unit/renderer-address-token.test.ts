import { describe, expect, it } from 'vitest';
import { removeTokenFromAddress, type AddressBar } from '../../src-renderer/src/api/httpClient';

// `studio serve` opens `http://127.0.0.1:<port>/?token=<secret>`; once the host has set its
// cookie, the page takes the secret out of the address bar so a later copy of the URL (a link in
// a chat, a screenshot, the history) does not carry it.

function bar(href: string): AddressBar & { replaced: Array<[unknown, string, string]> } {
  const replaced: Array<[unknown, string, string]> = [];
  const state = { router: 'kept' };
  return {
    replaced,
    location: { href },
    history: {
      state,
      replaceState: (data: unknown, unused: string, url?: string | URL | null) => void replaced.push([data, unused, String(url)]),
    },
  };
}

describe('removeTokenFromAddress', () => {
  it('removes the token and keeps the path, other parameters, the route and the history state', () => {
    const b = bar('http://127.0.0.1:5199/?token=abc_DEF-123#/index/x/features');
    expect(removeTokenFromAddress(b)).toBe(true);
    expect(b.replaced).toEqual([[{ router: 'kept' }, '', '/#/index/x/features']]);

    const c = bar('http://127.0.0.1:5199/app/?lang=en&token=abc&x=1#/match');
    removeTokenFromAddress(c);
    expect(c.replaced[0]![2]).toBe('/app/?lang=en&x=1#/match');
  });

  it('leaves an address without a token alone', () => {
    const b = bar('http://127.0.0.1:5199/#/index/x/features');
    expect(removeTokenFromAddress(b)).toBe(false);
    expect(b.replaced).toEqual([]);
  });
});
