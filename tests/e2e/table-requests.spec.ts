import { expect, test, type Page } from '@playwright/test';
import type { FeatureSortKey } from '../../src-main/contract/index.js';
import type { StudioService } from '../../src-main/core/service.js';
import type { WebHost } from '../../src-main/hosts/web/webHost.js';
import { closeE2e, openFixtureE2e } from '../helpers/e2eHost.js';

// What the features view asks the host for as the user sorts: table pages, never the tag
// counts again (at 100k features those are a query of their own); a tag edit still refreshes them.

let work: string;
let service: StudioService;
let host: WebHost;
let indexId: string;

test.beforeAll(async () => {
  test.setTimeout(120_000);
  ({ work, service, host, indexId } = await openFixtureE2e('table-requests'));
});

test.afterAll(async () => {
  await closeE2e(host, service, work);
});

async function shownIds(page: Page): Promise<number[]> {
  return page.getByTestId('feature-row').evaluateAll((rows) => rows.slice(0, 8).map((r) => Number(r.getAttribute('data-feature'))));
}

test('sorting does not ask for the tag counts again; a tag edit does', async ({ page }) => {
  const calls = new Map<string, number>();
  page.on('request', (r) => {
    const method = new URL(r.url()).pathname.match(/^\/api\/(\w+)$/)?.[1];
    if (method) calls.set(method, (calls.get(method) ?? 0) + 1);
  });
  await page.goto(host.url);
  await expect(page.getByTestId('feature-row').first()).toBeVisible();
  await expect.poll(() => calls.get('tagOverview') ?? 0).toBe(1);

  for (const sort of ['frequency', 'mean', 'max'] as FeatureSortKey[]) {
    const header = page.getByTestId(`sort-${sort}`);
    await header.click();
    const desc = (await header.getAttribute('aria-sort')) === 'descending';
    const expected = await service.queryFeatures({ indexId, sort, desc, offset: 0, limit: 8 });
    await expect.poll(() => shownIds(page)).toEqual(expected.rows.map((r) => r.feature));
  }
  expect(calls.get('queryFeatures')).toBeGreaterThanOrEqual(4);
  expect(calls.get('tagOverview')).toBe(1);

  // Category key on the highlighted row: the counts follow the edit.
  await page.keyboard.press('1');
  await expect.poll(() => calls.get('tagOverview') ?? 0).toBe(2);
});
