import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

/** Debian's chromium (apt-get install chromium); nothing is downloaded. */
export const CHROMIUM = process.env.SRSX_CHROMIUM ?? '/usr/bin/chromium';

export interface TestBrowser {
  browser: Browser;
  /** a new tab on `url`, console errors collected in `logs` */
  open(url: string): Promise<Page>;
  logs: string[];
  stop(): Promise<void>;
}

/**
 * Headless chromium with a fake camera and microphone (a test pattern and a beep), loopback ICE
 * candidates allowed, no background traffic, a throw-away profile. Stop it with stop() (closes the
 * browser, kills its process by PID if it hangs, removes the profile).
 */
export async function launchBrowser(): Promise<TestBrowser> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'srsx-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    timeout: 20_000,
    args: [
      '--no-sandbox',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      '--allow-loopback-in-peer-connection',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-gpu',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
  const pid = browser.process()?.pid;
  const logs: string[] = [];
  return {
    browser,
    logs,
    async open(url: string): Promise<Page> {
      const page = await browser.newPage();
      page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
      page.on('pageerror', (e) => logs.push(`[pageerror] ${(e as Error).message}`));
      await page.goto(url, { waitUntil: 'load', timeout: 15_000 });
      return page;
    },
    async stop(): Promise<void> {
      const t = setTimeout(() => {
        if (pid) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }, 5000);
      await browser.close().catch(() => undefined);
      clearTimeout(t);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Polls `fn` in the page until it returns a truthy value (returned) or `timeoutMs` passes (throws with the last value). */
export async function waitInPage<T>(page: Page, fn: () => T | Promise<T>, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    last = await page.evaluate(fn);
    if (last) return last as T;
    if (Date.now() > end) throw new Error(`${what}: not reached in ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
