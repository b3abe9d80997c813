import type { Page } from 'puppeteer-core';
import { CHROMIUM, launchBrowser, waitInPage, type TestBrowser } from '../helpers/browser.js';
import { itIf } from '../helpers/env.js';
import { sleep, spawnTool, startServer, stopAfterEach } from '../helpers/serve.js';

const itBrowser = itIf({ tools: [CHROMIUM, 'ffmpeg'] });

/** ffmpeg publishing a test pattern and a tone over RTMP (H.264 baseline + AAC), real time, bounded. */
function publishRtmp(url: string, seconds: number) {
  return spawnTool('ffmpeg', [
    '-v', 'error', '-re',
    '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(seconds),
    '-c:v', 'libx264', '-profile:v', 'baseline', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-g', '25', '-b:v', '300k',
    '-c:a', 'aac', '-b:a', '48k', '-ac', '2',
    '-f', 'flv', url,
  ]);
}

describe('the players page in headless chromium', () => {
  const started = stopAfterEach();
  let browser: TestBrowser | undefined;
  afterEach(async () => {
    await browser?.stop();
    browser = undefined;
  });

  const open = async (url: string): Promise<Page> => {
    browser ??= await launchBrowser();
    return browser.open(url);
  };

  itBrowser('serves the index and the player pages, with mpegts.js from the package', async () => {
    const server = started.add(await startServer());
    const base = `http://localhost:${server.http}/players`;
    const index = await fetch(`${base}/`);
    expect(index.status).toBe(200);
    const html = await index.text();
    for (const page of ['whip.html', 'whep.html', 'flv.html']) expect(html).toContain(page);
    const lib = await fetch(`${base}/lib/mpegts.js`);
    expect(lib.status).toBe(200);
    expect(lib.headers.get('content-type')).toBe('text/javascript');
    expect((await lib.text()).length).toBeGreaterThan(100_000);
    expect((await fetch(`${base}/lib/nothing.js`)).status).toBe(404);
    expect((await fetch(`${base}/..%2fpackage.json`)).status).toBe(404);
    const redirect = await fetch(`http://localhost:${server.http}/players?app=a`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('/players/?app=a');
  }, 30_000);

  itBrowser('(d) the HTTP-FLV page (mpegts.js) plays an RTMP stream: video frames decoded, H.264 and AAC', async () => {
    const server = started.add(await startServer());
    started.add(publishRtmp(`rtmp://127.0.0.1:${server.rtmp}/live/flv`, 20).child);
    await sleep(1000);
    const page = await open(`http://localhost:${server.http}/players/flv.html?app=live&stream=flv`);
    const info = await waitInPage(page, () => (globalThis as any).srsx.mediaInfo, 10_000, 'media info');
    expect(String(info.videoCodec)).toMatch(/^avc1\.42/); // baseline
    expect(String(info.audioCodec)).toMatch(/^mp4a\.40/);
    const first = await waitInPage(page, () => { const s = (globalThis as any).srsx.videoStats(); return s.totalVideoFrames > 25 && s; }, 10_000, 'frames decoded');
    await sleep(2000);
    const later = await page.evaluate(() => (globalThis as any).srsx.videoStats());
    expect(later.totalVideoFrames).toBeGreaterThan(first.totalVideoFrames + 25);
    expect(later.currentTime).toBeGreaterThan(first.currentTime);
    expect(later.width).toBe(320);
    expect(await page.evaluate(() => (globalThis as any).srsx.error)).toBeUndefined();
  }, 30_000);
});
