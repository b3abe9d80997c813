// Byte-level checks of the MPEG-TS writer, read back with an independent little parser here.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { itIf } from '../helpers/env.js';
import { FlvTsMuxer } from '../../src/protocol/mpegts/muxer.js';
import { crc32Mpeg, TsWriter, StreamType } from '../../src/protocol/mpegts/ts.js';
import { adtsHeader, parseAacConfig, toAnnexB } from '../../src/protocol/mpegts/codec.js';
import { formatPlaylist, segmentUri, shrinkWindow, type HlsSegment } from '../../src/server/hls/hls.js';
import { buildStreamPath, buildTimePath } from '../../src/server/hls/path.js';

interface Pkt {
  pid: number;
  pusi: boolean;
  cc: number;
  afc: number;
  pcr?: number;
  random: boolean;
  payload: Buffer;
}

function packets(ts: Buffer): Pkt[] {
  expect(ts.length % 188).toBe(0);
  const out: Pkt[] = [];
  for (let i = 0; i < ts.length; i += 188) {
    const p = ts.subarray(i, i + 188);
    expect(p[0]).toBe(0x47);
    const pid = ((p[1]! & 0x1f) << 8) | p[2]!;
    const afc = (p[3]! >> 4) & 3;
    let pos = 4;
    let pcr: number | undefined;
    let random = false;
    if (afc & 2) {
      const len = p[4]!;
      if (len > 0) {
        random = (p[5]! & 0x40) !== 0;
        if (p[5]! & 0x10) pcr = p[6]! * 2 ** 25 + p[7]! * 2 ** 17 + p[8]! * 2 ** 9 + p[9]! * 2 + (p[10]! >> 7);
      }
      pos = 5 + len;
    }
    out.push({ pid, pusi: (p[1]! & 0x40) !== 0, cc: p[3]! & 0x0f, afc, pcr, random, payload: afc & 1 ? p.subarray(pos) : Buffer.alloc(0) });
  }
  return out;
}

function section(pkt: Pkt): Buffer {
  const ptr = pkt.payload[0]!;
  const s = pkt.payload.subarray(1 + ptr);
  const len = ((s[1]! & 0x0f) << 8) | s[2]!;
  return s.subarray(0, 3 + len);
}

// AVC sequence header with a tiny SPS/PPS and a keyframe of one IDR NAL unit (4-byte lengths)
const SPS = Buffer.from([0x67, 0x42, 0xc0, 0x1e, 0xda, 0x02, 0x80]);
const PPS = Buffer.from([0x68, 0xce, 0x3c, 0x80]);
const avcHeader = Buffer.concat([Buffer.from([0x17, 0, 0, 0, 0, 1, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0, SPS.length]), SPS, Buffer.from([1, 0, PPS.length]), PPS]);
function avcFrame(key: boolean, size: number, cts = 0): Buffer {
  const nal = Buffer.alloc(size, 0xab);
  nal[0] = key ? 0x65 : 0x41;
  const h = Buffer.from([key ? 0x17 : 0x27, 1, (cts >> 16) & 0xff, (cts >> 8) & 0xff, cts & 0xff, 0, 0, 0, 0]);
  h.writeUInt32BE(size, 5);
  return Buffer.concat([h, nal]);
}
const aacHeader = Buffer.from([0xaf, 0, 0x12, 0x10]); // AAC-LC, 44.1 kHz, stereo
const aacFrame = (n: number) => Buffer.concat([Buffer.from([0xaf, 1]), Buffer.alloc(n, 0x21)]);

describe('MPEG-TS writer', () => {
  it('CRC-32/MPEG-2 of "123456789" is 0x0376E6E7', () => {
    expect(crc32Mpeg(Buffer.from('123456789'))).toBe(0x0376e6e7);
  });

  it('writes PAT and PMT with valid CRCs, the PMT naming both tracks and the PCR PID', () => {
    const w = new TsWriter({ video: StreamType.H264, audio: StreamType.AAC });
    const pk = packets(w.tables());
    expect(pk.map((p) => p.pid)).toEqual([0, 0x1001]);
    for (const p of pk) {
      expect(p.pusi).toBe(true);
      const s = section(p);
      expect(crc32Mpeg(s, 0, s.length - 4)).toBe(s.readUInt32BE(s.length - 4));
    }
    const pat = section(pk[0]!);
    expect(pat[0]).toBe(0);
    expect(pat.readUInt16BE(8)).toBe(1); // program 1
    expect(pat.readUInt16BE(10) & 0x1fff).toBe(0x1001);
    const pmt = section(pk[1]!);
    expect(pmt[0]).toBe(2);
    expect(pmt.readUInt16BE(8) & 0x1fff).toBe(0x100); // PCR on video
    expect([pmt[12], pmt.readUInt16BE(13) & 0x1fff, pmt[17], pmt.readUInt16BE(18) & 0x1fff]).toEqual([0x1b, 0x100, 0x0f, 0x101]);
    // audio only: PCR on the audio PID
    const a = section(packets(new TsWriter({ audio: StreamType.AAC }).tables())[1]!);
    expect(a.readUInt16BE(8) & 0x1fff).toBe(0x101);
  });

  it('splits a PES over 188-byte packets: PUSI on the first, PCR and random access on a keyframe, CC +1 per packet per PID, stuffing to the end', () => {
    const w = new TsWriter({ video: StreamType.H264 });
    const data = Buffer.alloc(1000, 7);
    const first = packets(w.pes(0x100, 0xe0, 9000 + 3600, 9000, data, 9000, true));
    const second = packets(w.pes(0x100, 0xe0, 12600, 12600, Buffer.alloc(10, 1)));
    const all = [...first, ...second];
    all.forEach((p, i) => expect(p.cc).toBe(i & 0x0f));
    expect(first[0]).toMatchObject({ pusi: true, pcr: 9000, random: true });
    expect(first.slice(1).every((p) => !p.pusi && p.pcr === undefined)).toBe(true);
    // payload = PES header (19 bytes with PTS+DTS) + data, nothing more
    const pes = Buffer.concat(first.map((p) => p.payload));
    expect(pes.length).toBe(19 + 1000);
    expect([...pes.subarray(0, 4)]).toEqual([0, 0, 1, 0xe0]);
    expect(pes[7]).toBe(0xc0);
    const ts = (o: number) => ((pes[o]! >> 1) & 7) * 2 ** 30 + (pes.readUInt16BE(o + 1) >> 1) * 2 ** 15 + (pes.readUInt16BE(o + 3) >> 1);
    expect(ts(9)).toBe(12600);
    expect(ts(14)).toBe(9000);
    expect(pes.subarray(19).equals(data)).toBe(true);
    // a PES whose PTS equals its DTS carries PTS only
    const small = Buffer.concat(second.map((p) => p.payload));
    expect(small[7]).toBe(0x80);
    expect(small.length).toBe(14 + 10);
  });

  it('round-trips every PES size from 1 to 700 bytes, with and without PCR', () => {
    for (const withPcr of [false, true]) {
      const w = new TsWriter({ video: StreamType.H264 });
      for (let n = 1; n <= 700; n++) {
        const data = Buffer.alloc(n, n & 0xff);
        const pk = packets(w.pes(0x100, 0xe0, 900, 900, data, withPcr ? 900 : undefined, withPcr));
        const pes = Buffer.concat(pk.map((p) => p.payload));
        expect(pes.length).toBe(14 + n);
        expect(pes.subarray(14).equals(data)).toBe(true);
      }
    }
  });

  it('stuffs a PES that leaves exactly 183 bytes (one-byte adaptation field) and 182 bytes', () => {
    for (const n of [183 - 14, 182 - 14]) {
      const w = new TsWriter({ audio: StreamType.AAC });
      const pk = packets(w.pes(0x101, 0xc0, 0, 0, Buffer.alloc(n, 3)));
      expect(pk).toHaveLength(1);
      expect(Buffer.concat(pk.map((p) => p.payload)).length).toBe(14 + n);
    }
  });
});

describe('FLV -> TS muxer', () => {
  it('puts PAT/PMT, an AUD and SPS/PPS before each IDR; continuity counters stay continuous per PID across calls', () => {
    const m = new FlvTsMuxer();
    expect(m.video(0, avcHeader)).toBeUndefined();
    expect(m.audio(0, aacHeader)).toBeUndefined();
    const out: Buffer[] = [];
    for (let i = 0; i < 50; i++) {
      const t = i * 40;
      const v = m.video(t, avcFrame(i % 25 === 0, 3000, 80));
      if (v) out.push(v.bytes);
      const a = m.audio(t, aacFrame(200));
      if (a) out.push(a.bytes);
    }
    const f = m.flushAudio();
    if (f) out.push(f.bytes);
    const pk = packets(Buffer.concat(out));
    const last = new Map<number, number>();
    for (const p of pk) {
      if (last.has(p.pid)) expect(p.cc).toBe((last.get(p.pid)! + 1) & 0x0f);
      last.set(p.pid, p.cc);
    }
    expect(pk[0]!.pid).toBe(0);
    expect(pk[1]!.pid).toBe(0x1001);
    // every video PES has a PCR; keyframes are flagged random access
    const videoStarts = pk.filter((p) => p.pid === 0x100 && p.pusi);
    expect(videoStarts).toHaveLength(50);
    expect(videoStarts.every((p) => p.pcr !== undefined)).toBe(true);
    expect(videoStarts.filter((p) => p.random)).toHaveLength(2);
    // the first video PES: AUD, SPS, PPS, IDR
    const firstPes: Buffer[] = [];
    for (const p of pk.slice(pk.indexOf(videoStarts[0]!))) {
      if (p.pid !== 0x100) continue;
      if (p.pusi && firstPes.length > 0) break;
      firstPes.push(p.payload);
    }
    const es = Buffer.concat(firstPes).subarray(19);
    expect([...es.subarray(0, 6)]).toEqual([0, 0, 0, 1, 0x09, 0xf0]);
    expect(es.subarray(10, 10 + SPS.length).equals(SPS)).toBe(true);
    expect(es[10 + SPS.length + 4]).toBe(0x68);
    expect(es[10 + SPS.length + 4 + PPS.length + 4]).toBe(0x65);
    // PAT/PMT repeated before the second keyframe
    expect(pk.filter((p) => p.pid === 0).length).toBe(2);
    // audio PES hold ADTS frames (sync word)
    const audioStart = pk.find((p) => p.pid === 0x101 && p.pusi)!;
    const hl = audioStart.payload[8]!;
    expect(audioStart.payload.readUInt16BE(9 + hl) & 0xfff6).toBe(0xfff0);
  });

  it('ADTS header carries the profile, rate index, channels and frame length', () => {
    const cfg = parseAacConfig(Buffer.from([0x12, 0x10]))!;
    expect(cfg).toMatchObject({ objectType: 2, frequencyIndex: 4, channels: 2, sampleRate: 44100 });
    const h = adtsHeader(cfg, 100);
    expect(h[0]).toBe(0xff);
    expect(h[1]).toBe(0xf1);
    expect(h[2]! >> 6).toBe(1);
    expect((h[2]! >> 2) & 0x0f).toBe(4);
    expect(((h[3]! & 3) << 11) | (h[4]! << 3) | (h[5]! >> 5)).toBe(107);
  });

  it('keeps a frame that has its own SPS as is (no second copy)', () => {
    const frame = Buffer.concat([Buffer.from([0, 0, 0, SPS.length]), SPS, Buffer.from([0, 0, 0, 2, 0x65, 0x88])]);
    const parts = toAnnexB(frame, { codec: 'h264', lengthSize: 4, parameterSets: [SPS, PPS] }, true);
    expect(Buffer.concat(parts).indexOf(PPS)).toBe(-1);
  });
});

describe('HLS playlist and names', () => {
  const seg = (seq: number, ms: number, discontinuity = false): HlsSegment => ({ seq, uri: `s-${seq}.ts`, file: `/x/s-${seq}.ts`, durationMs: ms, discontinuity });

  it('formats SRS-style playlists: media sequence, target duration, discontinuity', () => {
    expect(formatPlaylist([seg(3, 2000), seg(4, 2500, true)], 2)).toBe(
      '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:3\n#EXT-X-TARGETDURATION:3\n#EXTINF:2.000, no desc\ns-3.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:2.500, no desc\ns-4.ts\n',
    );
  });

  it('shrinks the window as SRS: the segment at which the total passes the window is the oldest kept', () => {
    const list = [seg(0, 2000), seg(1, 2000), seg(2, 2000), seg(3, 2000), seg(4, 2000)];
    expect(shrinkWindow(list, 5000).map((s) => s.seq)).toEqual([0, 1]);
    expect(list.map((s) => s.seq)).toEqual([2, 3, 4]);
  });

  it('builds URIs relative to the m3u8 directory, behind hls_entry_prefix', () => {
    expect(segmentUri('live/a-1.ts', 'live/a.m3u8', '')).toBe('a-1.ts');
    expect(segmentUri('live/a-1.ts', 'live/a.m3u8', 'http://cdn')).toBe('http://cdn/live/a-1.ts');
    expect(segmentUri('live/a-1.ts', 'live/a.m3u8', 'http://cdn/')).toBe('http://cdn/a-1.ts');
    expect(segmentUri('other/a-1.ts', 'live/a.m3u8', '')).toBe('other/a-1.ts');
  });

  it('replaces SRS variables', () => {
    const d = new Date(2015, 0, 3, 10, 57, 30, 776);
    expect(buildTimePath(buildStreamPath('[vhost]/[app]/[stream]/[2006]/[01]/[02]-[15].[04].[05].[999]-[timestamp].flv', { vhost: 'v', app: 'live', stream: 's' }), d)).toBe(
      `v/live/s/2015/01/03-10.57.30.776-${d.getTime()}.flv`,
    );
  });
});

describe('HEVC into TS, decoded by ffprobe', () => {
  const itFF = itIf({ tools: ['ffmpeg', 'ffprobe'] });

  for (const mode of ['classic codec 12', "enhanced RTMP 'hvc1'"]) itFF(`${mode}: every frame decodes`, () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'srsx-hevc-'));
    const raw = path.join(dir, 'in.hevc');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=192x108:rate=25', '-t', '2', '-c:v', 'libx265', '-preset', 'ultrafast', '-g', '25', '-bf', '0', '-x265-params', 'log-level=error', '-pix_fmt', 'yuv420p', '-f', 'hevc', raw]);
    const es = readFileSync(raw);
    // Annex B -> NAL units
    const nals: Buffer[] = [];
    let start = -1;
    for (let i = 0; i + 3 <= es.length; i++) {
      if (es[i] === 0 && es[i + 1] === 0 && es[i + 2] === 1) {
        if (start >= 0) nals.push(es.subarray(start, es[i - 1] === 0 ? i - 1 : i));
        start = i + 3;
        i += 2;
      }
    }
    nals.push(es.subarray(start));
    const type = (n: Buffer) => (n[0]! >> 1) & 0x3f;
    const params = new Map<number, Buffer>();
    const frames: Array<{ key: boolean; nals: Buffer[] }> = [];
    let pending: Buffer[] = [];
    for (const n of nals) {
      const t = type(n);
      if (t >= 32 && t <= 34) {
        if (!params.has(t)) params.set(t, n);
        continue;
      }
      if (t < 32 && n[2]! & 0x80 && pending.some((x) => type(x) < 32)) {
        frames.push({ key: pending.some((x) => type(x) >= 16 && type(x) <= 23), nals: pending });
        pending = [];
      }
      pending.push(n);
    }
    frames.push({ key: pending.some((x) => type(x) >= 16 && type(x) <= 23), nals: pending });
    const record = Buffer.concat([
      Buffer.from([1, ...new Array(20).fill(0), 0x03, 3]),
      ...[32, 33, 34].map((t) => {
        const n = params.get(t)!;
        const h = Buffer.from([0x80 | t, 0, 1, 0, 0]);
        h.writeUInt16BE(n.length, 3);
        return Buffer.concat([h, n]);
      }),
    ]);
    const enhanced = mode.startsWith('enhanced');
    const hvc1 = Buffer.from('hvc1');
    const cfg = enhanced ? Buffer.concat([Buffer.from([0x80 | 0x10 | 0]), hvc1, record]) : Buffer.concat([Buffer.from([0x1c, 0, 0, 0, 0]), record]);
    const m = new FlvTsMuxer();
    m.video(0, cfg);
    const out: Buffer[] = [];
    frames.forEach((f, i) => {
      const body = Buffer.concat(f.nals.map((n) => Buffer.concat([Buffer.from([(n.length >>> 24) & 0xff, (n.length >> 16) & 0xff, (n.length >> 8) & 0xff, n.length & 0xff]), n])));
      const ft = f.key ? 1 : 2;
      const head = enhanced ? Buffer.concat([Buffer.from([0x80 | (ft << 4) | 3]), hvc1]) : Buffer.from([(ft << 4) | 12, 1, 0, 0, 0]);
      const c = m.video(i * 40, Buffer.concat([head, body]));
      if (c) out.push(c.bytes);
    });
    const ts = path.join(dir, 'out.ts');
    writeFileSync(ts, Buffer.concat(out));
    const probe = execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_name,nb_read_frames', '-of', 'csv=p=0', ts]).toString().trim();
    expect(probe.split(/\s+/)[0]).toBe(`hevc,${frames.length}`);
    expect(frames.length).toBe(50);
  }, 30_000);
});
