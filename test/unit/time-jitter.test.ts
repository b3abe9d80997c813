/**
 * play { time_jitter full|zero|off } as SRS, with the fan-out's shared bytes kept: RTMP players
 * get one serialisation with fmt 1 (delta) headers plus a fmt 0 header of their own for their
 * first message on each chunk stream; FLV players of the same start share one serialisation.
 * The byte vectors are written out by hand (RTMP spec 5.3.1), not produced by the writer, and
 * players' bytes are decoded by the server's chunk reader, which never shares code with the writer.
 */
import { FlvDemuxer, flvFileHeader, TAG_HEADER_SIZE, type FlvTag } from '../../src/protocol/flv.js';
import { ChunkReader } from '../../src/protocol/rtmp/chunk-reader.js';
import { encodeChunks, writeFmt0Header } from '../../src/protocol/rtmp/chunk-writer.js';
import type { RtmpMessage } from '../../src/protocol/rtmp/message.js';
import { Consumer, type PlayerSink } from '../../src/server/live/consumer.js';
import { StreamClock } from '../../src/server/live/jitter.js';
import { mediaMessage } from '../../src/server/live/media.js';
import { LiveSource } from '../../src/server/live/source.js';
import type { TimeJitter, WireFormat } from '../../src/server/live/wire.js';

const AVC_HEADER = Buffer.from([0x17, 0, 0, 0, 0, 1, 0x64]);
const AAC_HEADER = Buffer.from([0xaf, 0, 0x12, 0x10]);
const key = (n: number) => Buffer.from([0x17, 1, 0, 0, 0, n]);
const inter = (n: number) => Buffer.from([0x27, 1, 0, 0, 0, n]);
const aac = (n: number) => Buffer.from([0xaf, 1, n]);

function player(id: string, format: WireFormat) {
  const writes: Buffer[] = [];
  const sink = { write: (b: Buffer) => void writes.push(b), writableLength: 0, close: () => {} };
  const consumer = new Consumer(id, format, sink as PlayerSink, { queueSeconds: 30, stallMs: 30_000 });
  const rtmp = (): RtmpMessage[] => {
    const out: RtmpMessage[] = [];
    const reader = new ChunkReader((m) => out.push(m));
    if (format.kind === 'rtmp') reader.chunkSize = format.chunkSize;
    for (const w of writes) reader.push(w);
    return out;
  };
  const flv = (): FlvTag[] => {
    const out: FlvTag[] = [];
    new FlvDemuxer((t) => out.push(t)).push(Buffer.concat([flvFileHeader(true, true), ...writes]));
    return out;
  };
  return { consumer, writes, sink, rtmp, flv };
}

function source(jitter: TimeJitter, mwLatencyMs = 0) {
  const s = new LiveSource('__defaultVhost__', 'live', 's', 'vid-j', { gopCache: true, mwLatencyMs, gopMaxFrames: 2500, serverSignature: 'srsx/test', timeJitter: jitter });
  s.startPublish('pub');
  return s;
}

/** [type, timestamp] of audio/video (metadata left out) */
const av = (ms: { type: number; timestamp: number }[]) => ms.filter((m) => m.type === 8 || m.type === 9).map((m) => [m.type, m.timestamp]);

describe('RTMP chunk headers for shared delta bytes (hand-written vectors)', () => {
  it('fmt 1: basic header 0x46 (fmt 1, csid 6), 3-byte delta, 3-byte length, type, no stream id', () => {
    const bytes = encodeChunks({ csid: 6, type: 9, streamId: 1, timestamp: 40, payload: Buffer.from([0xaa, 0xbb]) }, 128, undefined, 0, 1);
    expect([...bytes]).toEqual([0x46, 0, 0, 40, 0, 0, 2, 9, 0xaa, 0xbb]);
  });

  it('fmt 1 over several chunks: fmt 3 continuations (0xc7 for csid 7) carry nothing', () => {
    const bytes = encodeChunks({ csid: 7, type: 8, streamId: 1, timestamp: 23, payload: Buffer.from([1, 2, 3, 4, 5]) }, 2, undefined, 0, 1);
    expect([...bytes]).toEqual([0x47, 0, 0, 23, 0, 0, 5, 8, 1, 2, 0xc7, 3, 4, 0xc7, 5]);
  });

  it('fmt 0 header alone: absolute time, length, type, little-endian stream id', () => {
    const buf = Buffer.alloc(12);
    expect(writeFmt0Header(buf, 0, 6, 0x010203, 0x000405, 9, 1)).toBe(12);
    expect([...buf]).toEqual([0x06, 0x01, 0x02, 0x03, 0x00, 0x04, 0x05, 0x09, 1, 0, 0, 0]);
    expect(() => writeFmt0Header(buf, 0, 6, 0xffffff, 1, 9, 1)).toThrow(RangeError);
  });

  it('a reader takes fmt 0 then fmt 1 deltas as absolute times', () => {
    const got: RtmpMessage[] = [];
    const r = new ChunkReader((m) => got.push(m));
    // fmt 0 at 1000 (0x0003e8), then fmt 1 +40, then fmt 1 +33
    r.push(Buffer.from([0x06, 0x00, 0x03, 0xe8, 0, 0, 1, 9, 1, 0, 0, 0, 0x11, 0x46, 0, 0, 40, 0, 0, 1, 9, 0x22, 0x46, 0, 0, 33, 0, 0, 1, 9, 0x33]));
    expect(got.map((m) => [m.timestamp, m.streamId, m.payload[0]])).toEqual([[1000, 1, 0x11], [1040, 1, 0x22], [1073, 1, 0x33]]);
  });
});

describe('StreamClock (SRS time_jitter)', () => {
  const run = (mode: 'full' | 'zero', ts: [number, number][]) => {
    const c = new StreamClock(mode);
    return ts.map(([type, t]) => {
      const m = mediaMessage(type, t, type === 9 ? inter(1) : aac(1));
      c.stamp(m);
      return [m.clock, m.delta];
    });
  };

  it('full: steps kept within ±250 ms, a jump either way becomes 10 ms, a step back on one track holds the time', () => {
    expect(run('full', [[9, 50_000], [8, 50_010], [9, 50_040], [9, 90_000], [8, 3], [9, 100], [8, 50], [8, 20]])).toEqual([
      [0, -1], [10, -1], [40, 40], [50, 10], [60, 50], [157, 107], [107, 47], [107, 0],
    ]);
  });

  it('zero: the publisher steps, from 0; a republish goes on 10 ms after the last time', () => {
    const c = new StreamClock('zero');
    const stamp = (type: number, t: number) => {
      const m = mediaMessage(type, t, aac(1));
      c.stamp(m);
      return m.clock;
    };
    expect([stamp(9, 7000), stamp(8, 7020), stamp(9, 9040)]).toEqual([0, 20, 2040]);
    c.publish();
    expect([stamp(9, 0), stamp(9, 40)]).toEqual([2050, 2090]);
  });
});

describe('time_jitter for RTMP players, sharing bytes', () => {
  function publishGop(s: LiveSource, at: number) {
    s.onVideo(at, key(at));
    s.onAudio(at + 10, aac(1));
    s.onVideo(at + 40, inter(2));
    s.onAudio(at + 33, aac(2));
  }

  it('full: a late joiner starts at 0 and gets the very Buffers an early one gets', () => {
    const s = source('full');
    s.onMetadata({ width: 640 }, 0);
    s.onVideo(0, AVC_HEADER);
    s.onAudio(0, AAC_HEADER);
    publishGop(s, 0);
    const early = player('early', { kind: 'rtmp', chunkSize: 4096 });
    s.addConsumer(early.consumer);
    publishGop(s, 60_000); // a jump: becomes 10 ms
    const late = player('late', { kind: 'rtmp', chunkSize: 4096 });
    s.addConsumer(late.consumer);
    const [lateJoin, earlyJoin] = [late.writes.length, early.writes.length];
    s.onVideo(60_080, inter(3)); // the join dump holds the GOP's last video and audio: deltas apply at once
    s.onAudio(60_056, aac(3));
    s.onVideo(60_120, inter(4));
    s.onAudio(60_079, aac(4));

    expect(av(early.rtmp())).toEqual([
      [9, 0], [8, 0], [9, 0], [8, 10], [9, 40], [8, 33], // headers at the GOP's start, then the GOP (joined at 0)
      [9, 43], [8, 53], [9, 83], [8, 76], [9, 123], [8, 99], [9, 163], [8, 122],
    ]);
    // late: its own first time 0 at the GOP's keyframe, same steps after
    expect(av(late.rtmp())).toEqual([[9, 0], [8, 0], [9, 0], [8, 10], [9, 40], [8, 33], [9, 80], [8, 56], [9, 120], [8, 79]]);
    // every message after the join: one shared Buffer written to both
    expect(late.writes.slice(lateJoin)).toHaveLength(4);
    late.writes.slice(lateJoin).forEach((w, i) => expect(w).toBe(early.writes[earlyJoin + i]));
  });

  it('a player skipped for lag resumes at a keyframe with its own times going on, then shares again', () => {
    const s = source('full');
    s.onVideo(0, AVC_HEADER);
    s.onAudio(0, AAC_HEADER);
    publishGop(s, 1000);
    const slow = player('slow', { kind: 'rtmp', chunkSize: 128 });
    const ok = player('ok', { kind: 'rtmp', chunkSize: 128 });
    s.addConsumer(slow.consumer);
    s.addConsumer(ok.consumer);
    slow.sink.writableLength = 10 * 1024 * 1024; // backed up: skipped
    s.onVideo(1080, inter(3));
    slow.sink.writableLength = 0;
    s.onAudio(1056, aac(3)); // not a keyframe: still skipping
    const resumeAt = slow.writes.length;
    s.onVideo(1120, key(9)); // resumes here, after the headers: its own fmt 0 header on the video chunk stream
    s.onAudio(1130, aac(4)); // and on the audio one
    const own = slow.writes.slice(resumeAt).filter((w) => w.length === 12);
    expect(own.map((w) => [w[0], w.readUIntBE(1, 3)])).toEqual([[0x06, 120], [0x07, 130]]);
    s.onVideo(1160, inter(5)); // from here on: shared
    expect(av(slow.rtmp())).toEqual([[9, 0], [8, 0], [9, 0], [8, 10], [9, 40], [8, 33], [9, 120], [8, 120], [9, 120], [8, 130], [9, 160]]);
    expect(slow.writes.at(-1)).toBe(ok.writes.at(-1));
    expect(av(ok.rtmp()).slice(-5)).toEqual([[9, 80], [8, 56], [9, 120], [8, 130], [9, 160]]);
  });

  it('times past 0xffffff: shared deltas and the first messages of one player with extended timestamps', () => {
    const s = source('zero');
    s.onVideo(1000, AVC_HEADER);
    s.onAudio(1000, AAC_HEADER);
    publishGop(s, 1000);
    const p = player('p', { kind: 'rtmp', chunkSize: 128 });
    const q = player('q', { kind: 'rtmp', chunkSize: 128 });
    s.addConsumer(p.consumer);
    s.addConsumer(q.consumer);
    const far = 1000 + 2 ** 24; // zero keeps a jump: 4.66 h later
    s.onVideo(far, inter(3)); // a shared delta of 2^24 - 40: extended
    p.sink.writableLength = 10 * 1024 * 1024;
    s.onVideo(far + 40, inter(4)); // p skips
    p.sink.writableLength = 0;
    const big = Buffer.concat([key(5), Buffer.alloc(300, 7)]); // three chunks
    s.onVideo(far + 80, big); // p resumes: its own message, re-chunked with extended times
    s.onAudio(far + 90, aac(5));
    s.onVideo(far + 120, inter(6)); // shared again
    const want = [[9, 2 ** 24], [9, 2 ** 24 + 80], [8, 2 ** 24 + 80], [9, 2 ** 24 + 80], [8, 2 ** 24 + 90], [9, 2 ** 24 + 120]];
    expect(av(p.rtmp()).slice(6)).toEqual(want);
    const big2 = p.rtmp().find((m) => m.payload.length === big.length);
    expect(big2?.payload.equals(big)).toBe(true);
    expect(av(q.rtmp()).slice(6)).toEqual([[9, 2 ** 24], [9, 2 ** 24 + 40], [9, 2 ** 24 + 80], [8, 2 ** 24 + 90], [9, 2 ** 24 + 120]]);
    expect(p.writes.at(-1)).toBe(q.writes.at(-1));
  });

  it('zero keeps the publisher steps from 0; off passes them through', () => {
    for (const [mode, first] of [['zero', 0], ['off', 60_000]] as const) {
      const s = source(mode);
      s.onVideo(59_990, AVC_HEADER);
      s.onAudio(59_990, AAC_HEADER);
      publishGop(s, 60_000);
      const p = player(mode, { kind: 'rtmp', chunkSize: 4096 });
      s.addConsumer(p.consumer);
      s.onVideo(60_080, inter(3));
      s.onVideo(61_000, inter(4)); // a jump: kept by zero and off
      expect(av(p.rtmp()).slice(2)).toEqual([[9, first], [8, first + 10], [9, first + 40], [8, first + 33], [9, first + 80], [9, first + 1000]]);
    }
  });

  it('a player that joins before any media starts at its first keyframe', () => {
    const s = source('full', 350);
    const p = player('p', { kind: 'rtmp', chunkSize: 4096 });
    s.addConsumer(p.consumer);
    s.onVideo(5000, AVC_HEADER);
    s.onAudio(5000, AAC_HEADER);
    publishGop(s, 5000);
    s.flush();
    expect(av(p.rtmp())).toEqual([[9, 0], [8, 0], [9, 0], [8, 10], [9, 40], [8, 33]]);
    s.dispose();
  });
});

describe('time_jitter for HTTP-FLV players', () => {
  it('full: a late joiner starts at 0; players that joined on the same GOP share one Buffer', () => {
    const s = source('full');
    s.onMetadata({ width: 640 }, 0);
    s.onVideo(0, AVC_HEADER);
    s.onAudio(0, AAC_HEADER);
    s.onVideo(90_000, key(1));
    s.onAudio(90_020, aac(1));
    const a = player('a', { kind: 'flv' });
    const b = player('b', { kind: 'flv' });
    s.addConsumer(a.consumer);
    s.addConsumer(b.consumer);
    s.onVideo(90_040, inter(2));
    expect(a.flv().map((t) => [t.type, t.timestamp])).toEqual([[18, 0], [9, 0], [8, 0], [9, 0], [8, 20], [9, 40]]);
    expect(a.writes.at(-1)).toBe(b.writes.at(-1));
    // a player on a later GOP has its own start: a copy of the batch with its times patched in
    s.onVideo(92_000, key(3));
    const c = player('c', { kind: 'flv' });
    s.addConsumer(c.consumer);
    s.onAudio(92_020, aac(2));
    s.onVideo(92_040, inter(4));
    expect(c.flv().map((t) => [t.type, t.timestamp])).toEqual([[18, 0], [9, 0], [8, 0], [9, 0], [8, 20], [9, 40]]);
    expect(a.flv().slice(-3).map((t) => [t.type, t.timestamp])).toEqual([[9, 50], [8, 70], [9, 90]]); // the 1960 ms step is over 250 ms: 10 ms
    expect(c.writes.at(-1)!.subarray(TAG_HEADER_SIZE).equals(a.writes.at(-1)!.subarray(TAG_HEADER_SIZE))).toBe(true);
    expect(c.writes.at(-1)).not.toBe(a.writes.at(-1));
  });

  it('off: the publisher timestamps, as before', () => {
    const s = source('off');
    s.onVideo(90_000, AVC_HEADER);
    s.onVideo(90_000, key(1));
    const a = player('a', { kind: 'flv' });
    s.addConsumer(a.consumer);
    s.onVideo(90_040, inter(2));
    expect(a.flv().map((t) => [t.type, t.timestamp])).toEqual([[9, 90_000], [9, 90_000], [9, 90_040]]);
  });
});
