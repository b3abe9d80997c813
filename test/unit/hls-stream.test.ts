// HlsStream on a real LiveSource with synthetic H.264/AAC messages, writing to a temp dir.
import { createDecipheriv } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HlsConfig } from '../../src/server/config/types.js';
import { HlsStream } from '../../src/server/hls/hls.js';
import { LiveSource } from '../../src/server/live/source.js';
import type { Logger } from '../../src/server/log.js';

const SPS = Buffer.from([0x67, 0x42, 0xc0, 0x1e, 0xda, 0x02, 0x80]);
const PPS = Buffer.from([0x68, 0xce, 0x3c, 0x80]);
const avcHeader = Buffer.concat([Buffer.from([0x17, 0, 0, 0, 0, 1, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0, SPS.length]), SPS, Buffer.from([1, 0, PPS.length]), PPS]);
function avcFrame(key: boolean): Buffer {
  const h = Buffer.from([key ? 0x17 : 0x27, 1, 0, 0, 0, 0, 0, 0, 20]);
  const nal = Buffer.alloc(20, 0xab);
  nal[0] = key ? 0x65 : 0x41;
  return Buffer.concat([h, nal]);
}
const aacHeader = Buffer.from([0xaf, 0, 0x12, 0x10]);
const aacFrame = Buffer.concat([Buffer.from([0xaf, 1]), Buffer.alloc(50, 0x21)]);

function logger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const nop = () => undefined;
  return { warnings, verbose: nop, info: nop, trace: nop, error: nop, warn: (m: string) => void warnings.push(m), enabled: () => true, reopen: nop, close: nop } as unknown as Logger & { warnings: string[] };
}

function config(dir: string, over: Partial<HlsConfig> = {}): HlsConfig {
  return {
    enabled: true, fragment: 2, tdRatio: 1, aofRatio: 2.1, window: 60, path: dir, m3u8File: '[app]/[stream].m3u8', tsFile: '[app]/[stream]-[seq].ts',
    tsFloor: false, entryPrefix: '', cleanup: true, dispose: 0, waitKeyframe: true, dtsDirectly: true,
    keys: false, fragmentsPerKey: 5, keyFile: '[app]/[stream]-[seq].key', keyFilePath: dir, keyUrl: '', nbNotify: 64, acodec: 'aac', vcodec: 'h264', ...over,
  };
}

function setup(over: Partial<HlsConfig> = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'srsx-hls-'));
  const log = logger();
  const source = new LiveSource('__defaultVhost__', 'live', 's', 'vid-1', { gopCache: true, mwLatencyMs: 0, gopMaxFrames: 2500, serverSignature: 'x' });
  const hls = new HlsStream({ vhost: '__defaultVhost__', app: 'live', stream: 's' }, config(dir, over), log, () => undefined, dir);
  source.startPublish('c1');
  hls.attach(source, config(dir, over));
  return { dir, log, source, hls };
}

/** `seconds` of 25 fps video (keyframe every `gop` frames) and 50 audio frames/s. */
function feed(source: LiveSource, from: number, seconds: number, opts: { gop?: number; video?: boolean; audio?: boolean } = {}): void {
  const { gop = 25, video = true, audio = true } = opts;
  if (from === 0) {
    if (video) source.onVideo(0, avcHeader);
    if (audio) source.onAudio(0, aacHeader);
  }
  for (let t = from; t < from + seconds * 1000; t += 20) {
    if (video && t % 40 === 0) source.onVideo(t, avcFrame((t / 40) % gop === 0));
    if (audio) source.onAudio(t, aacFrame);
  }
}

describe('HlsStream', () => {
  it('cuts at keyframes once a segment reaches hls_fragment × hls_td_ratio', async () => {
    const { dir, source, hls } = setup({ fragment: 2, tdRatio: 1.5 });
    feed(source, 0, 10, { gop: 25 }); // keyframes every 1 s
    source.stopPublish();
    await hls.disk.idle();
    // 3 s segments (first keyframe at or after 3 s), then the 1 s rest at unpublish
    expect(hls.segments.map((s) => s.durationMs)).toEqual([3000, 3000, 3000, 980]);
    expect(readdirSync(path.join(dir, 'live')).sort()).toEqual(['s-0.ts', 's-1.ts', 's-2.ts', 's-3.ts', 's.m3u8']);
    expect(readFileSync(path.join(dir, 'live/s.m3u8'), 'utf8')).toMatch(/#EXT-X-TARGETDURATION:3\n/);
  });

  it('hls_wait_keyframe off cuts at any frame', async () => {
    const { source, hls } = setup({ fragment: 1, waitKeyframe: false });
    feed(source, 0, 5, { gop: 250 });
    source.stopPublish();
    await hls.disk.idle();
    expect(hls.segments.slice(0, 4).map((s) => s.durationMs)).toEqual([1000, 1000, 1000, 1000]);
  });

  it('pure audio is cut at hls_fragment × hls_aof_ratio', async () => {
    const { source, hls } = setup({ fragment: 1, aofRatio: 2 });
    feed(source, 0, 7, { video: false });
    source.stopPublish();
    await hls.disk.idle();
    expect(hls.segments.map((s) => s.durationMs)).toEqual([2000, 2000, 2000, 980]);
  });

  it('hls_vcodec vn: audio only, cut at hls_aof_ratio; hls_acodec an: video only', async () => {
    const a = setup({ fragment: 1, aofRatio: 2, vcodec: 'vn' });
    feed(a.source, 0, 7, { gop: 250 });
    a.source.stopPublish();
    await a.hls.disk.idle();
    expect(a.hls.segments.map((s) => s.durationMs)).toEqual([2000, 2000, 2000, 980]);
    const audioOnly = readFileSync(path.join(a.dir, 'live/s-0.ts'));
    const v = setup({ fragment: 1, acodec: 'an' });
    feed(v.source, 0, 3);
    v.source.stopPublish();
    await v.hls.disk.idle();
    const videoOnly = readFileSync(path.join(v.dir, 'live/s-0.ts'));
    // the PMT lists one stream: ADTS AAC (0x0f) without H.264 (0x1b), or H.264 without AAC
    const streamTypes = (ts: Buffer) => {
      const pmt = ts.subarray(188, 376); // PAT, then PMT
      const types = new Set<number>();
      for (let i = 4; i + 5 < pmt.length; i++) if ((pmt[i] === 0x1b || pmt[i] === 0x0f) && (pmt[i + 1]! & 0xe0) === 0xe0) types.add(pmt[i]!);
      return [...types].sort();
    };
    expect(streamTypes(audioOnly)).toEqual([0x0f]);
    expect(streamTypes(videoOnly)).toEqual([0x1b]);
  });

  it('a disk that is behind drops the segment with a warning (the live path never waits), the next one starts with a discontinuity', async () => {
    const { dir, log, source, hls } = setup({ fragment: 1 });
    feed(source, 0, 2.5);
    // as if 1,000 writes were still queued
    hls.disk.pendingJobs += 1000;
    feed(source, 2500, 1);
    hls.disk.pendingJobs -= 1000;
    feed(source, 3500, 2);
    source.stopPublish();
    await hls.disk.idle();
    expect(log.warnings.some((w) => /disk too slow .* segment 2 dropped/.test(w))).toBe(true);
    expect(hls.segments.map((s) => s.seq)).toEqual([0, 1, 3, 4, 5]);
    expect(hls.segments.map((s) => s.discontinuity)).toEqual([false, false, true, false, false]);
    expect(existsSync(path.join(dir, 'live/s-2.ts'))).toBe(false);
    expect(readFileSync(path.join(dir, 'live/s.m3u8'), 'utf8')).toMatch(/#EXT-X-DISCONTINUITY\n#EXTINF:[\d.]+, no desc\ns-3\.ts/);
  });

  it('hls_keys: a key file per hls_fragments_per_key segments, EXT-X-KEY with IV = sequence number, segments decrypt to TS; cleanup and dispose remove the keys', async () => {
    const { dir, source, hls } = setup({ fragment: 1, window: 3, keys: true, fragmentsPerKey: 2 });
    feed(source, 0, 8);
    source.stopPublish();
    await hls.disk.idle();
    const text = readFileSync(path.join(dir, 'live/s.m3u8'), 'utf8');
    const entries = [...text.matchAll(/#EXT-X-KEY:METHOD=AES-128,URI="(s-\d+\.key)",IV=0x([0-9a-f]{32})\n#EXTINF:[\d.]+, no desc\ns-(\d+)\.ts/g)];
    expect(entries.length).toBe(hls.segments.length);
    for (const [, key, iv, seq] of entries) {
      expect(BigInt(`0x${iv}`)).toBe(BigInt(seq!));
      expect(key).toBe(`s-${Number(seq) - (Number(seq) % 2)}.key`);
      const enc = readFileSync(path.join(dir, 'live', `s-${seq}.ts`));
      const d = createDecipheriv('aes-128-cbc', readFileSync(path.join(dir, 'live', key!)), Buffer.from(iv!, 'hex'));
      const plain = Buffer.concat([d.update(enc), d.final()]);
      expect(plain.length % 188).toBe(0);
      expect(plain[0]).toBe(0x47);
    }
    // only the keys of the window are left
    const keys = readdirSync(path.join(dir, 'live')).filter((f) => f.endsWith('.key')).sort();
    expect(keys).toEqual([...new Set(entries.map((e) => e[1]!))].sort());
    expect(keys).not.toContain('s-0.key');
    hls.dispose();
    await hls.disk.idle();
    expect(readdirSync(path.join(dir, 'live'))).toEqual([]);
  });

  it('a segment that cannot be written stays out of the playlist (counted, warned), the next one starts with a discontinuity', async () => {
    const { dir, log, source, hls } = setup({ fragment: 1 });
    feed(source, 0, 2.5);
    await hls.disk.idle();
    // a directory where segment 2 goes: its rename fails
    mkdirSync(path.join(dir, 'live/s-2.ts'));
    feed(source, 2500, 3);
    source.stopPublish();
    await hls.disk.idle();
    expect(hls.writeErrors).toBe(1);
    expect(log.warnings.some((w) => /segment 2 not written \(.*\); left out of the playlist/.test(w))).toBe(true);
    expect(hls.segments.map((s) => s.seq)).toEqual([0, 1, 3, 4, 5]);
    expect(hls.segments.map((s) => s.discontinuity)).toEqual([false, false, true, false, false]);
    expect(readFileSync(path.join(dir, 'live/s.m3u8'), 'utf8')).not.toContain('s-2.ts');
  });

  it('hls_cleanup off keeps the files that left the window', async () => {
    const { dir, source, hls } = setup({ fragment: 1, window: 2, cleanup: false });
    feed(source, 0, 6);
    source.stopPublish();
    await hls.disk.idle();
    expect(hls.segments.length).toBeLessThanOrEqual(3);
    expect(readdirSync(path.join(dir, 'live')).filter((f) => f.endsWith('.ts'))).toHaveLength(6);
  });
});
