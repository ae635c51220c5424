// Screenshots every view of the renderer harness in light and dark, for looking at the UI.
//   node tests/renderer-harness/screenshots.mjs [outDir]   (default /tmp/shots)
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';
import { chromium } from 'playwright-core';

const outDir = process.argv[2] ?? '/tmp/shots';
await mkdir(outDir, { recursive: true });

const server = await createServer({ configFile: fileURLToPath(new URL('./vite.config.ts', import.meta.url)) });
await server.listen(0);
const base = server.resolvedUrls.local[0].replace(/\/$/, '');

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

const shots = [
  { name: 'welcome', url: '/#/' },
  {
    name: 'welcome-new-index',
    url: '/?jobs=demo#/',
    async act(page) {
      await page.getByTestId('new-manifest').fill('/models/clip-vit-b16/manifest.json');
      await page.getByTestId('new-manifest').press('Enter');
      await page.getByTestId('new-sae').fill('/models/saes/clip-24k/sae.pt');
      await page.getByTestId('new-data').fill('/data/imagenet/val');
      await page.getByTestId('jobs-indicator').click();
      await page.getByTestId('open-path').fill('/data/nowhere');
      await page.getByTestId('open-submit').click();
      await page.waitForTimeout(200);
    },
  },
  {
    name: 'features',
    url: '/#/index/clip-24k/features',
    async act(page) {
      await page.getByTestId('feature-row').first().waitFor();
      await page.keyboard.press('j');
      await page.keyboard.press('j');
      await page.keyboard.press('j');
    },
  },
  {
    name: 'features-sorted-filtered',
    url: '/?features=100000#/index/clip-24k/features?sort=max&dir=desc&dead=exclude&minLogFrequency=-4',
    async act(page) {
      await page.getByTestId('feature-row').first().waitFor();
      const box = await page.getByTestId('scatter').boundingBox();
      await page.mouse.move(box.x + box.width * 0.45, box.y + box.height * 0.5);
      await page.waitForTimeout(100);
    },
  },
  {
    name: 'feature',
    url: '/#/index/clip-24k/feature/6909',
    async act(page) {
      await page.getByTestId('exemplar').first().waitFor();
      await page.waitForTimeout(300);
      const box = await page.getByTestId('exemplar').nth(1).locator('.frame').boundingBox();
      await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.45);
    },
  },
  {
    name: 'feature-dead',
    url: '/#/index/clip-24k/feature/11',
    async act(page) {
      await page.waitForTimeout(300);
    },
  },
  {
    name: 'tags-feature',
    url: '/#/index/clip-24k/feature/6909',
    async act(page) {
      await page.getByTestId('tag-editor').waitFor();
      await page.keyboard.press('1');
      await page.keyboard.press('t');
      await page.keyboard.type('sky');
      await page.keyboard.press('Enter');
      await page.keyboard.press('t');
      await page.keyboard.type('outdoor');
      await page.keyboard.press('Enter');
      await page.keyboard.press('r');
      await page.keyboard.press('n');
      await page.keyboard.type('Fires on open sky above the horizon; weaker on water.');
      await page.keyboard.press('Control+Enter');
      await page.waitForTimeout(300);
    },
  },
  {
    name: 'tags-features',
    url: '/?features=2000#/index/clip-24k/features',
    async act(page) {
      await page.getByTestId('feature-row').first().waitFor();
      const checks = page.getByTestId('row-check');
      await checks.nth(1).click();
      await checks.nth(6).click({ modifiers: ['Shift'] });
      await page.getByTestId('bulk-scene').click();
      await page.waitForTimeout(150);
      await page.keyboard.press('Escape');
      await checks.nth(8).click();
      await checks.nth(9).click();
      await page.getByTestId('bulk-tag-input').fill('water');
      await page.getByTestId('bulk-tag-input').press('Enter');
      await page.getByTestId('bulk-object').click();
      await page.waitForTimeout(150);
      await checks.nth(12).click();
      await checks.nth(13).click();
      await page.getByTestId('show-agreement').click();
      await page.waitForTimeout(300);
    },
  },
  {
    name: 'match',
    url: '/#/index/clip-24k/match?other=dino-32k',
    async act(page) {
      await page.getByTestId('run-match').click();
      await page.getByTestId('match-row').first().waitFor();
      await page.getByTestId('match-row').nth(2).click();
      await page.getByTestId('grid-b').getByTestId('exemplar').first().waitFor();
      await page.waitForTimeout(300);
    },
  },
  {
    name: 'match-no-counterpart',
    url: '/#/index/clip-24k/match?other=dino-32k',
    async act(page) {
      await page.getByTestId('run-match').click();
      await page.getByTestId('tab-no-counterpart').click();
      await page.getByTestId('match-row').nth(4).click();
      await page.getByTestId('grid-a').getByTestId('exemplar').first().waitFor();
      await page.waitForTimeout(300);
    },
  },
  {
    name: 'query',
    url: '/#/index/clip-24k/query?with=dino-32k',
    async act(page) {
      await page.getByTestId('image-path').fill('/photos/beach.jpg');
      await page.getByTestId('image-path').press('Enter');
      const picker = page.getByTestId('patch-picker').first();
      await picker.waitFor();
      const box = await picker.boundingBox();
      await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.3);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.45, { steps: 8 });
      await page.mouse.up();
      await page.getByTestId('feature-strip').first().waitFor();
      await page.getByTestId('feature-strip').nth(1).hover();
      await page.waitForTimeout(400);
    },
  },
  { name: 'skipped', url: '/#/index/clip-24k/skipped' },
  { name: 'not-found-index', url: '/#/index/other-index/features' },
];

const only = process.env.SHOTS?.split(',');
for (const scheme of ['light', 'dark']) {
  for (const shot of shots) {
    if (only && !only.includes(shot.name)) continue;
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.emulateMedia({ colorScheme: scheme });
    await page.goto(base + shot.url);
    await page.waitForLoadState('networkidle');
    await page.waitForTimeout(250);
    if (shot.act) await shot.act(page);
    await page.waitForTimeout(150);
    const file = `${outDir}/${shot.name}-${scheme}.png`;
    await page.screenshot({ path: file });
    console.log(file, errors.length ? `ERRORS: ${errors.join(' | ')}` : '');
    await page.close();
  }
}

await browser.close();
await server.close();
