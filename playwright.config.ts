import { existsSync } from 'node:fs';
import { defineConfig } from '@playwright/test';

// Two projects:
//   web       the renderer in headless Chromium against the web host (tests/e2e). Uses Debian's
//             /usr/bin/chromium when present: Playwright's own browser download needs network.
//   electron  the real app through Playwright's _electron (tests/electron); those specs skip
//             themselves when the Electron binary has not been downloaded.

const SYSTEM_CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export default defineConfig({
  outputDir: 'test-results',
  reporter: process.env.CI ? [['list'], ['html', { open: 'never' }]] : 'list',
  // The machines these run on have two cores; one worker keeps timings and the host stable.
  workers: 1,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  use: {
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
  },
  projects: [
    {
      name: 'web',
      testDir: 'tests/e2e',
      use: {
        browserName: 'chromium',
        viewport: { width: 1400, height: 900 },
        launchOptions: {
          executablePath: existsSync(SYSTEM_CHROMIUM) ? SYSTEM_CHROMIUM : undefined,
          args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
          ],
        },
      },
    },
    {
      name: 'electron',
      testDir: 'tests/electron',
    },
  ],
});
