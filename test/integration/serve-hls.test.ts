// HLS, HTTP-TS/AAC/MP3 and DVR of `srsx serve`, checked with ffmpeg/ffprobe as the clients.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { copyFileSync, writeFileSync } from 'node:fs';
import { CHROMIUM, launchBrowser, waitInPage } from '../helpers/browser.js';
import { itIf, REPO } from '../helpers/env.js';
import { probePackets, probeStreams, testFlv } from '../helpers/media.js';
import { sleep, spawnTool, startServer, stopAfterEach, waitExit } from '../helpers/serve.js';

const itFF = itIf({ tools: ['ffmpeg', 'ffprobe'] });

const publish = (file: string, url: string, extra: string[] = []) => spawnTool('ffmpeg', ['-v', 'error', '-re', '-i', file, ...extra, '-c', 'copy', '-f', 'flv', url]);

async function waitFor<T>(what: string, fn: () => T | undefined | false, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

function playlistOf(file: string): { seq: number; target: number; uris: string[]; durations: number[]; discontinuities: number } {
  const text = readFileSync(file, 'utf8');
  const lines = text.trim().split('\n');
  expect(lines[0]).toBe('#EXTM3U');
  return {
    seq: Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)![1]),
    target: Number(/#EXT-X-TARGETDURATION:(\d+)/.exec(text)![1]),
    uris: lines.filter((l) => !l.startsWith('#')),
    durations: [...text.matchAll(/#EXTINF:([\d.]+),/g)].map((m) => Number(m[1])),
    discontinuities: lines.filter((l) => l === '#EXT-X-DISCONTINUITY').length,
  };
}

describe('srsx serve HLS', () => {
  const started = stopAfterEach();
  const hlsBody = (extra = '') => `    hls { enabled on; hls_path .; hls_fragment 2; hls_window 6; hls_dispose 0; ${extra} }`;

  itFF('writes a playlist ffmpeg decodes over HTTP; the window and cleanup hold on disk; SRS content types and CORS', async () => {
    const file = testFlv({ seconds: 14, gop: 50, kbps: 450 });
    const server = started.add(await startServer({ vhostBody: hlsBody() }));
    const url = `rtmp://127.0.0.1:${server.rtmp}/live/livestream`;
    const pub = started.add(publish(file, url).child);
    const m3u8 = path.join(server.dir, 'live/livestream.m3u8');
    // several segments in, decode 3 s over HTTP while the stream is live
    await waitFor('3 segments', () => existsSync(m3u8) && playlistOf(m3u8).uris.length >= 3, 20_000);
    const http = `http://127.0.0.1:${server.http}/live/livestream.m3u8`;
    const res = await fetch(http, { headers: { Origin: 'http://example.com' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const vhosts = (await (await fetch(`http://127.0.0.1:${server.api}/api/v1/vhosts`)).json()) as { vhosts: Array<{ hls: unknown }> };
    expect(vhosts.vhosts[0]!.hls).toEqual({ enabled: true, fragment: 2 });
    const first = playlistOf(m3u8).uris[0]!;
    const ts = await fetch(`http://127.0.0.1:${server.http}/live/${first}`);
    expect(ts.headers.get('content-type')).toBe('video/MP2T');
    expect((await ts.arrayBuffer()).byteLength % 188).toBe(0);
    const out = path.join(server.dir, 'copy.ts');
    const copy = spawnTool('ffmpeg', ['-v', 'error', '-y', '-i', http, '-t', '3', '-c', 'copy', out]);
    started.add(copy.child);
    expect(await waitExit(copy.child, 20_000)).toBe(0);
    const pk = probePackets(out);
    expect(pk.filter((p) => p.codec_type === 'video').length).toBeGreaterThanOrEqual(60);
    expect(pk.filter((p) => p.codec_type === 'audio').length).toBeGreaterThanOrEqual(100);
    expect(probeStreams(out).map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);

    expect(await waitExit(pub, 30_000)).toBe(0);
    // 14 s of stream: the last segment (written at unpublish) ends near 14 s
    await waitFor('the unpublish segment', () => {
      const p = playlistOf(m3u8);
      return p.seq + p.uris.length >= 7;
    }, 5000);
    await sleep(300);
    const pl = playlistOf(m3u8);
    // 14 s in 2 s segments: sequence numbers moved on, the window holds ~6 s, only its files remain
    expect(pl.seq).toBeGreaterThanOrEqual(3);
    expect(pl.durations.every((d) => d >= 1.9 && d <= 2.2)).toBe(true);
    const total = pl.durations.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(6);
    expect(total).toBeLessThanOrEqual(6 + 2.2);
    expect(pl.target).toBe(Math.ceil(Math.max(...pl.durations)));
    const onDisk = readdirSync(path.join(server.dir, 'live')).filter((f) => f.endsWith('.ts')).sort();
    expect(onDisk).toEqual([...pl.uris].sort());
    expect(readdirSync(path.join(server.dir, 'live')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // each segment starts with PAT/PMT and a keyframe, and decodes on its own
    for (const u of pl.uris) {
      const seg = path.join(server.dir, 'live', u);
      const segPk = probePackets(seg);
      expect(segPk.find((p) => p.codec_type === 'video')!.flags).toMatch(/^K/);
    }
  }, 90_000);

  itFF('a publisher that comes back continues the sequence with #EXT-X-DISCONTINUITY', async () => {
    const file = testFlv({ seconds: 6, gop: 50, kbps: 450 });
    const server = started.add(await startServer({ vhostBody: hlsBody() }));
    const url = `rtmp://127.0.0.1:${server.rtmp}/live/again`;
    const m3u8 = path.join(server.dir, 'live/again.m3u8');
    expect(await waitExit(started.add(publish(file, url).child), 30_000)).toBe(0);
    await waitFor('3 segments', () => existsSync(m3u8) && playlistOf(m3u8).uris.length === 3, 5000);
    const before = playlistOf(m3u8);
    expect(before.discontinuities).toBe(0);
    const lastSeq = before.seq + before.uris.length - 1;
    expect(await waitExit(started.add(publish(file, url).child), 30_000)).toBe(0);
    // 3 more segments, the last one written at unpublish
    await waitFor('the second publish', () => readFileSync(m3u8, 'utf8').includes(`again-${lastSeq + 3}.ts`), 5000);
    const text = readFileSync(m3u8, 'utf8');
    const after = playlistOf(m3u8);
    expect(after.discontinuities).toBe(1);
    // the segment after the discontinuity has the next number
    const m = /#EXT-X-DISCONTINUITY\n#EXTINF:[\d.]+, no desc\nagain-(\d+)\.ts/.exec(text)!;
    expect(Number(m[1])).toBe(lastSeq + 1);
  }, 90_000);

  itFF('hls_dispose removes the playlist and segments after the publisher left; hls_entry_prefix and hls_ts_file variables', async () => {
    const file = testFlv({ seconds: 6, gop: 50, kbps: 450 });
    const server = started.add(
      await startServer({ vhostBody: '    hls { enabled on; hls_path .; hls_fragment 2; hls_dispose 3; hls_entry_prefix http://cdn.example; hls_ts_file [app]/[stream]/[2006]-[seq]-[duration].ts; }' }),
    );
    expect(await waitExit(started.add(publish(file, `rtmp://127.0.0.1:${server.rtmp}/live/gone`).child), 30_000)).toBe(0);
    const m3u8 = path.join(server.dir, 'live/gone.m3u8');
    // 6 s in 2 s segments, the last one written at unpublish
    await waitFor('the whole playlist', () => existsSync(m3u8) && playlistOf(m3u8).uris.length === 3, 5000);
    const pl = playlistOf(m3u8);
    const year = new Date().getFullYear();
    expect(pl.uris[0]).toMatch(new RegExp(`^http://cdn\\.example/live/gone/${year}-0-(\\d+)\\.ts$`));
    const ms = Number(/-(\d+)\.ts$/.exec(pl.uris[0]!)![1]);
    expect(Math.abs(ms / 1000 - pl.durations[0]!)).toBeLessThan(0.002);
    const segs = readdirSync(path.join(server.dir, 'live/gone'));
    expect(segs.length).toBe(pl.uris.length);
    await waitFor('dispose', () => !existsSync(m3u8) && readdirSync(path.join(server.dir, 'live/gone')).length === 0, 10_000);
  }, 60_000);

  itIf({ tools: ['ffmpeg', CHROMIUM] })('hls.js plays the live playlist in chromium: currentTime advances, frames decoded', async () => {
    const file = testFlv({ seconds: 30, gop: 50, kbps: 450 });
    const server = started.add(await startServer({ vhostBody: hlsBody() }));
    // the page and hls.js come from the server's own http_server dir
    copyFileSync(path.join(REPO, 'node_modules/hls.js/dist/hls.min.js'), path.join(server.dir, 'hls.min.js'));
    writeFileSync(
      path.join(server.dir, 'hls.html'),
      `<!doctype html><video id="v" muted autoplay playsinline></video><script src="/hls.min.js"></script><script>
  const v = document.getElementById('v');
  const hls = new Hls({ liveSyncDurationCount: 2 });
  window.hlsErrors = [];
  hls.on(Hls.Events.ERROR, (_e, d) => { if (d.fatal) window.hlsErrors.push(d.details); });
  hls.loadSource('/live/web.m3u8');
  hls.attachMedia(v);
  hls.on(Hls.Events.MANIFEST_PARSED, () => v.play());
</script>`,
    );
    const pub = started.add(publish(file, `rtmp://127.0.0.1:${server.rtmp}/live/web`).child);
    await waitFor('3 segments', () => existsSync(path.join(server.dir, 'live/web.m3u8')) && playlistOf(path.join(server.dir, 'live/web.m3u8')).uris.length >= 3, 20_000);
    const browser = await launchBrowser();
    started.add({ stop: () => browser.stop() });
    const page = await browser.open(`http://127.0.0.1:${server.http}/hls.html`);
    const t0 = await waitInPage(page, () => {
      const v = (globalThis as any).document.querySelector('video');
      return v.currentTime > 0.5 && (v.currentTime as number);
    }, 20_000, 'playback starts');
    // playback goes on past segment boundaries (a loaded CI host decodes slowly: 6 s for 2 s of media)
    await waitInPage(page, () => (globalThis as any).document.querySelector('video').currentTime, 1000, 'currentTime');
    await sleep(6000);
    const after = await page.evaluate(() => {
      const v = (globalThis as any).document.querySelector('video');
      return { t: v.currentTime, frames: v.getVideoPlaybackQuality().totalVideoFrames, w: v.videoWidth, errors: (globalThis as any).hlsErrors as string[] };
    });
    expect(after.errors).toEqual([]);
    expect(after.t - (t0 as number)).toBeGreaterThan(2);
    expect(after.frames).toBeGreaterThan(40);
    expect(after.w).toBe(640);
    pub.kill('SIGKILL');
  }, 90_000);

  itFF('an audio-only and a video-only stream each make a playable playlist', async () => {
    const file = testFlv({ seconds: 8, gop: 50, kbps: 450 });
    const server = started.add(await startServer({ vhostBody: hlsBody('hls_aof_ratio 1.0;') }));
    const a = started.add(publish(file, `rtmp://127.0.0.1:${server.rtmp}/live/audio`, ['-vn']).child);
    const v = started.add(publish(file, `rtmp://127.0.0.1:${server.rtmp}/live/video`, ['-an']).child);
    expect(await waitExit(a, 30_000)).toBe(0);
    expect(await waitExit(v, 30_000)).toBe(0);
    await sleep(500);
    for (const [name, codec] of [['audio', 'aac'], ['video', 'h264']] as const) {
      const pl = playlistOf(path.join(server.dir, `live/${name}.m3u8`));
      expect(pl.uris.length).toBeGreaterThanOrEqual(2);
      const seg = path.join(server.dir, 'live', pl.uris[0]!);
      expect(probeStreams(seg).map((s) => s.codec_name)).toEqual([codec]);
      const pk = probePackets(seg);
      expect(pk.length).toBeGreaterThan(40);
      expect(pl.durations[0]).toBeGreaterThanOrEqual(1.9);
    }
    // ffmpeg reads the audio playlist end to end over HTTP
    const out = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', `http://127.0.0.1:${server.http}/live/audio.m3u8`], { timeout: 20_000 }).toString();
    expect([...new Set(out.split(/\s+/).filter(Boolean))]).toEqual(['aac']);
  }, 90_000);
});

describe('srsx serve HTTP-TS, HTTP-AAC and HTTP-MP3', () => {
  const started = stopAfterEach();

  function mp3Flv(): string {
    const src = testFlv({ seconds: 10, gop: 50, kbps: 450 });
    const out = src.replace(/\.flv$/, '-mp3.flv');
    if (!existsSync(out)) {
      execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', src, '-c:v', 'copy', '-c:a', 'libmp3lame', '-ar', '44100', '-b:a', '64k', '-f', 'flv', `${out}.tmp`]);
      execFileSync('mv', [`${out}.tmp`, out]);
    }
    return out;
  }

  const cases: Array<[string, string[], string]> = [
    ['ts', ['aac', 'h264'], 'video/MP2T'],
    ['aac', ['aac'], 'audio/x-aac'],
    ['mp3', ['mp3'], 'audio/mpeg'],
  ];
  for (const [ext, codecs, type] of cases) itFF(`.${ext} plays in ffmpeg, joined mid-stream`, async () => {
    const file = ext === 'mp3' ? mp3Flv() : testFlv({ seconds: 10, gop: 50, kbps: 450 });
    const server = started.add(await startServer({ vhostBody: `    http_remux { enabled on; mount [vhost]/[app]/[stream].${ext}; }` }));
    started.add(publish(file, `rtmp://127.0.0.1:${server.rtmp}/live/s`).child);
    await sleep(3300);
    const url = `http://127.0.0.1:${server.http}/live/s.${ext}`;
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.headers.get('content-type')).toBe(type);
    const out = path.join(server.dir, `out.${ext}`);
    const rec = spawnTool('ffmpeg', ['-v', 'error', '-y', '-i', url, '-t', '4', '-c', 'copy', out]);
    started.add(rec.child);
    expect(await waitExit(rec.child, 20_000)).toBe(0);
    expect(rec.output()).not.toMatch(/corrupt|Continuity|error/i);
    expect(probeStreams(out).map((s) => s.codec_name).sort()).toEqual([...codecs]);
    const pk = probePackets(out);
    if (ext === 'ts') {
      const v = pk.filter((p) => p.codec_type === 'video');
      expect(v[0]!.flags).toMatch(/^K/);
      expect(v.length).toBeGreaterThanOrEqual(90);
    }
    expect(pk.filter((p) => p.codec_type === 'audio').length).toBeGreaterThanOrEqual(100);
  }, 60_000);
});

describe('srsx serve DVR', () => {
  const started = stopAfterEach();
  const durationOf = (f: string) => Number(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', f]).toString().trim());

  itFF('session plan: one FLV per publish with the published duration (±1 s)', async () => {
    const file = testFlv({ seconds: 10, gop: 50, kbps: 450 });
    const server = started.add(
      await startServer({
        vhostBody: '    dvr { enabled on; dvr_plan session; dvr_path ./rec/[app]/[stream].[timestamp].flv; }',
        extra: '',
      }),
    );
    expect(await waitExit(started.add(publish(file, `rtmp://127.0.0.1:${server.rtmp}/live/rec`).child), 30_000)).toBe(0);
    const dir = path.join(server.dir, 'rec/live');
    const files = await waitFor('the session file', () => {
      const f = existsSync(dir) ? readdirSync(dir) : [];
      return f.length === 1 && f[0]!.endsWith('.flv') ? f : undefined;
    }, 10_000);
    expect(files[0]).toMatch(/^rec\.\d{13}\.flv$/);
    expect(Math.abs(durationOf(path.join(dir, files[0]!)) - 10)).toBeLessThanOrEqual(1);
    expect(probeStreams(path.join(dir, files[0]!)).map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
  }, 60_000);

  itFF('segment plan cuts at keyframes after dvr_duration; each file starts with headers and a keyframe', async () => {
    const file = testFlv({ seconds: 10, gop: 50, kbps: 450 });
    const server = started.add(await startServer({ vhostBody: '    dvr { enabled on; dvr_plan segment; dvr_duration 4; dvr_path ./seg/[stream]-[timestamp].flv; }' }));
    expect(await waitExit(started.add(publish(file, `rtmp://127.0.0.1:${server.rtmp}/live/cut`).child), 30_000)).toBe(0);
    const dir = path.join(server.dir, 'seg');
    const files = await waitFor('3 segment files', () => {
      const f = existsSync(dir) ? readdirSync(dir).sort() : [];
      return f.length === 3 && f.every((x) => x.endsWith('.flv')) ? f : undefined;
    }, 10_000);
    const durations = files.map((f) => durationOf(path.join(dir, f)));
    expect(Math.abs(durations.reduce((a, b) => a + b, 0) - 10)).toBeLessThanOrEqual(1);
    expect(durations[0]).toBeGreaterThanOrEqual(3.9);
    expect(durations[0]).toBeLessThanOrEqual(4.2);
    for (const f of files) {
      const pk = probePackets(path.join(dir, f));
      expect(pk.find((p) => p.codec_type === 'video')!.flags).toMatch(/^K/);
      expect(Number(pk[0]!.pts_time)).toBeLessThan(0.2);
    }
  }, 60_000);

  itFF('an .mp4 dvr_path records MP4 with its moov written at the end: ffprobe reads the published duration', async () => {
    const file = testFlv({ seconds: 10, gop: 50, kbps: 450 });
    const server = started.add(await startServer({ vhostBody: '    dvr { enabled on; dvr_path ./mp4/[stream].[timestamp].mp4; }' }));
    expect(await waitExit(started.add(publish(file, `rtmp://127.0.0.1:${server.rtmp}/live/m`).child), 30_000)).toBe(0);
    const dir = path.join(server.dir, 'mp4');
    const files = await waitFor('the mp4', () => {
      const f = existsSync(dir) ? readdirSync(dir) : [];
      return f.length === 1 && f[0]!.endsWith('.mp4') ? f : undefined;
    }, 10_000);
    const mp4 = path.join(dir, files[0]!);
    expect(Math.abs(durationOf(mp4) - 10)).toBeLessThanOrEqual(1);
    expect(probeStreams(mp4).map((s) => `${s.codec_name}${s.width ? `:${s.width}x${s.height}` : ''}`).sort()).toEqual(['aac', 'h264:640x360']);
    const pk = probePackets(mp4);
    const source = probePackets(file);
    expect(pk.filter((p) => p.codec_type === 'video').length).toBe(source.filter((p) => p.codec_type === 'video').length);
    // every frame decodes
    const out = execFileSync('ffmpeg', ['-v', 'error', '-xerror', '-i', mp4, '-f', 'null', '-'], { timeout: 30_000 }).toString();
    expect(out).toBe('');
  }, 60_000);
});
