import type { Page } from 'puppeteer-core';
import { CHROMIUM, launchBrowser, waitInPage, type TestBrowser } from '../helpers/browser.js';
import { itIf } from '../helpers/env.js';
import { execFile } from 'node:child_process';
import { sleep, spawnTool, startServer, stopAfterEach, type RunningServer } from '../helpers/serve.js';

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

/** srsx serve with WebRTC on (UDP port picked by the kernel, loopback candidate) and both bridges. */
function startRtcServer(): Promise<RunningServer> {
  return startServer({
    extra: 'rtc_server { enabled on; listen 0; candidate 127.0.0.1; }',
    vhostBody: `    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }
    rtc { enabled on; rtmp_to_rtc on; rtc_to_rtmp on; }`,
  });
}

/** ffprobe's streams of a live URL (2 s of analysis), without blocking the test's event loop. */
function probe(url: string): Promise<Array<{ codec_type: string; codec_name: string; width?: number }>> {
  return new Promise((resolve, reject) => {
    execFile('ffprobe', ['-v', 'error', '-analyzeduration', '2000000', '-show_entries', 'stream=codec_type,codec_name,width', '-of', 'json', url], { timeout: 15_000 }, (err, out) => {
      if (err) reject(new Error(`ffprobe ${url}: ${err.message}`));
      else resolve((JSON.parse(out) as { streams?: Array<{ codec_type: string; codec_name: string }> }).streams ?? []);
    });
  });
}

interface KindStats { packets?: number; framesDecoded?: number; framesEncoded?: number; codec?: string }
const pageStats = (page: Page): Promise<{ video: KindStats; audio: KindStats }> => page.evaluate(() => (globalThis as any).srsx.stats());

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
    for (const page of ['whip.html', 'whep.html', 'flv.html', 'hls.html']) expect(html).toContain(page);
    const lib = await fetch(`${base}/lib/mpegts.js`);
    expect(lib.status).toBe(200);
    expect(lib.headers.get('content-type')).toBe('text/javascript');
    expect((await lib.text()).length).toBeGreaterThan(100_000);
    const hls = await fetch(`${base}/lib/hls.js`);
    expect(hls.status).toBe(200);
    expect((await hls.text()).length).toBeGreaterThan(100_000);
    expect((await fetch(`${base}/lib/nothing.js`)).status).toBe(404);
    expect((await fetch(`${base}/..%2fpackage.json`)).status).toBe(404);
    const redirect = await fetch(`http://localhost:${server.http}/players?app=a`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('/players/?app=a');
  }, 40_000); // < 30 s on an idle host; the browser's start-up alone can take 10 s on a loaded CI

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
  }, 40_000); // < 30 s on an idle host; the browser's start-up alone can take 10 s on a loaded CI

  itBrowser('(a) a page publishes its fake camera and microphone with WHIP, another plays it with WHEP', async () => {
    const server = started.add(await startRtcServer());
    const q = `app=live&stream=a&api=${server.api}`;
    const pub = await open(`http://localhost:${server.http}/players/whip.html?${q}`);
    await waitInPage(pub, () => (globalThis as any).srsx.state === 'published' || (globalThis as any).srsx.error, 10_000, 'WHIP publish');
    expect(await pub.evaluate(() => (globalThis as any).srsx.error)).toBeUndefined();
    const play = await browser!.open(`http://localhost:${server.http}/players/whep.html?${q}`);
    await waitInPage(play, async () => { const s = await (globalThis as any).srsx.stats(); return (s.video.framesDecoded ?? 0) > 0 || (globalThis as any).srsx.error; }, 10_000, 'first decoded frame');
    const first = await pageStats(play);
    await sleep(5000);
    const later = await pageStats(play);
    expect(await play.evaluate(() => (globalThis as any).srsx.error)).toBeUndefined();
    expect(later.video.codec).toBe('video/H264');
    expect(later.video.framesDecoded! - first.video.framesDecoded!).toBeGreaterThan(50); // 5 s of a 10+ fps camera
    expect(later.audio.packets!).toBeGreaterThan(first.audio.packets! + 100); // Opus every 20 ms
  }, 40_000); // < 30 s on an idle host; the browser's start-up alone can take 10 s on a loaded CI

  itBrowser('(b) ffmpeg publishes RTMP and the browser plays it over WHEP, with audio (AAC -> Opus)', async () => {
    browser = await launchBrowser(); // first: it can take seconds on a loaded machine
    const server = started.add(await startRtcServer());
    started.add(publishRtmp(`rtmp://127.0.0.1:${server.rtmp}/live/b`, 25).child);
    await sleep(1000);
    const play = await open(`http://localhost:${server.http}/players/whep.html?app=live&stream=b&api=${server.api}`);
    await waitInPage(play, async () => { const s = await (globalThis as any).srsx.stats(); return ((s.video.framesDecoded ?? 0) > 25 && (s.audio.packets ?? 0) > 50) || (globalThis as any).srsx.error; }, 15_000, 'frames and audio');
    const s = await pageStats(play);
    expect(await play.evaluate(() => (globalThis as any).srsx.error)).toBeUndefined();
    expect(s.video.codec).toBe('video/H264');
    expect(s.audio.codec).toBe('audio/opus');
    expect(s.video.framesDecoded).toBeGreaterThan(25);
    expect(s.audio.packets).toBeGreaterThan(50);
    // a second player shares the same bridge: still one packetizer and one ffmpeg for the stream
    const second = await browser!.open(`http://localhost:${server.http}/players/whep.html?app=live&stream=b&api=${server.api}`);
    await waitInPage(second, async () => { const x = await (globalThis as any).srsx.stats(); return ((x.video.framesDecoded ?? 0) > 0 && (x.audio.packets ?? 0) > 0) || (globalThis as any).srsx.error; }, 10_000, 'second player');
    expect(await second.evaluate(() => (globalThis as any).srsx.error)).toBeUndefined();
    expect(server.log().match(/RTMP->RTC __defaultVhost__\/live\/b: AAC -> Opus by ffmpeg pid/g)).toHaveLength(1);
  }, 40_000); // < 30 s on an idle host; the browser's start-up alone can take 10 s on a loaded CI

  itBrowser('a 1280x720 WHIP publisher ramps its bitrate up on the RR alone (no transport-cc or REMB is negotiated)', async () => {
    const server = started.add(await startRtcServer());
    const pub = await open(`http://localhost:${server.http}/players/whip.html?app=live&stream=bwe&api=${server.api}&autostart=false`);
    const answer = await pub.evaluate(async () => {
      const s = (globalThis as any).srsx;
      const g = globalThis as any;
      const media = await g.navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720, frameRate: 30 }, audio: true });
      const pc = (s.pc = new g.RTCPeerConnection());
      for (const track of media.getTracks()) pc.addTransceiver(track, { direction: 'sendonly' });
      return s.exchange(pc, s.apiUrl(s.params(), 'whip')) as Promise<string>;
    });
    expect(answer).not.toMatch(/transport-cc|goog-remb|transport-wide-cc/);
    // Chrome starts its send-side estimate at 300 kbps; with no delay-based feedback only its loss-based
    // estimator moves it, on each RR (srsx sends one a second): ~8 %/s, 612 kbps after 10 s on an idle host.
    // Measured with the RR switched off: 300 kbps for 25 s. 600 kbps within 40 s leaves room for a loaded host.
    const outgoing = () => (globalThis as any).srsx.pc.getStats().then((r: any) => {
      let v = 0;
      r.forEach((x: any) => { if (x.type === 'candidate-pair' && x.nominated && x.availableOutgoingBitrate) v = x.availableOutgoingBitrate; });
      (globalThis as any).srsx.outgoing = v;
      return v > 600_000 && v;
    });
    const reached = await waitInPage(pub, outgoing, 40_000, 'availableOutgoingBitrate > 600 kbps').catch(async (err: Error) => {
      throw new Error(`${err.message}; last availableOutgoingBitrate ${await pub.evaluate(() => (globalThis as any).srsx.outgoing)} bps`);
    });
    expect(reached).toBeGreaterThan(600_000);
  }, 70_000); // ~15 s on an idle host; the browser's start-up alone can take 10 s on a loaded CI

  itBrowser('(c) a WHIP stream from the browser plays over RTMP and HTTP-FLV (ffprobe: h264 + aac)', async () => {
    const server = started.add(await startRtcServer());
    const pub = await open(`http://localhost:${server.http}/players/whip.html?app=live&stream=c&api=${server.api}`);
    await waitInPage(pub, () => (globalThis as any).srsx.state === 'published' || (globalThis as any).srsx.error, 10_000, 'WHIP publish');
    expect(await pub.evaluate(() => (globalThis as any).srsx.error)).toBeUndefined();
    // the AAC sequence header comes once ffmpeg has turned the first Opus packets into AAC
    const end = Date.now() + 10_000;
    for (;;) {
      const body = (await (await fetch(`http://127.0.0.1:${server.api}/api/v1/streams/`)).json()) as { streams: Array<{ url: string; video: unknown; audio: { codec?: string } | null }> };
      // the RTMP side of the stream (the WebRTC side lists Opus)
      const s = body.streams.find((x) => x.url === '/live/c' && x.video && x.audio?.codec === 'AAC');
      if (s) break;
      if (Date.now() > end) throw new Error(`no RTMP stream with video and audio in the API: ${JSON.stringify(body.streams)}`);
      await sleep(250);
    }
    const [rtmp, flv] = await Promise.all([probe(`rtmp://127.0.0.1:${server.rtmp}/live/c`), probe(`http://127.0.0.1:${server.http}/live/c.flv`)]);
    expect(rtmp.map((x) => x.codec_name).sort()).toEqual(['aac', 'h264']);
    expect(rtmp.find((x) => x.codec_type === 'video')!.width).toBe(640);
    expect(flv.map((x) => x.codec_name).sort()).toEqual(['aac', 'h264']);
  }, 40_000); // < 30 s on an idle host; the browser's start-up alone can take 10 s on a loaded CI

  itBrowser('the HLS page (hls.js) plays an RTMP stream the server segments', async () => {
    browser = await launchBrowser();
    const server = started.add(await startServer({ vhostBody: '    hls { enabled on; hls_path .; hls_fragment 1; hls_window 6; hls_dispose 0; }' }));
    started.add(publishRtmp(`rtmp://127.0.0.1:${server.rtmp}/live/hls`, 25).child);
    // the playlist exists once the first segment is cut (hls_fragment 1 s, keyframe every 1 s)
    const end = Date.now() + 15_000;
    while ((await fetch(`http://127.0.0.1:${server.http}/live/hls.m3u8`)).status !== 200) {
      if (Date.now() > end) throw new Error('no HLS playlist in 15 s');
      await sleep(250);
    }
    const page = await open(`http://localhost:${server.http}/players/hls.html?app=live&stream=hls`);
    const manifest = await waitInPage(page, () => (globalThis as any).srsx.manifest || (globalThis as any).srsx.error, 10_000, 'manifest');
    expect(typeof manifest).toBe('object');
    const first = await waitInPage(page, () => { const s = (globalThis as any).srsx.videoStats(); return (s.totalVideoFrames > 10 && s) || (globalThis as any).srsx.error; }, 15_000, 'frames decoded');
    expect(first.width).toBe(320);
    expect(await page.evaluate(() => (globalThis as any).srsx.error)).toBeUndefined();
  }, 40_000);
});
