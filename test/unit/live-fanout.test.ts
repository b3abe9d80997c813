/**
 * The live core without sockets: what a late joiner receives first, for AVC/HEVC (legacy codec
 * id 12 and enhanced RTMP 'hvc1') and AAC, and that players of one format share the same bytes.
 */
import { jest } from '@jest/globals';
import { FlvDemuxer, flvFileHeader, type FlvTag } from '../../src/protocol/flv.js';
import { Consumer, type PlayerSink } from '../../src/server/live/consumer.js';
import { LiveSource } from '../../src/server/live/source.js';

function player(id: string) {
  const writes: Buffer[] = [];
  const sink: PlayerSink = { write: (b) => void writes.push(b), writableLength: 0, close: () => {} };
  const consumer = new Consumer(id, { kind: 'flv' }, sink, { queueSeconds: 30, stallMs: 30_000 });
  const tags = (): FlvTag[] => {
    const out: FlvTag[] = [];
    new FlvDemuxer((t) => out.push(t)).push(Buffer.concat([flvFileHeader(true, true), ...writes]));
    return out;
  };
  return { consumer, writes, tags };
}

const enhanced = (packetType: number, keyframe: boolean, rest: number[]) =>
  Buffer.from([0x80 | ((keyframe ? 1 : 2) << 4) | packetType, ...Buffer.from('hvc1'), ...rest]);

const CODECS = {
  'AVC (codec id 7)': { header: Buffer.from([0x17, 0, 0, 0, 0, 1, 0x64]), key: Buffer.from([0x17, 1, 0, 0, 0, 9]), inter: Buffer.from([0x27, 1, 0, 0, 0, 8]) },
  'HEVC (codec id 12)': { header: Buffer.from([0x1c, 0, 0, 0, 0, 1, 0x01]), key: Buffer.from([0x1c, 1, 0, 0, 0, 9]), inter: Buffer.from([0x2c, 1, 0, 0, 0, 8]) },
  "HEVC (enhanced RTMP 'hvc1')": { header: enhanced(0, true, [1, 0x01]), key: enhanced(1, true, [0, 0, 0, 9]), inter: enhanced(1, false, [0, 0, 0, 8]) },
};

describe('live source fan-out', () => {
  it.each(Object.entries(CODECS))('a late %s player gets metadata, sequence headers, then the GOP from its keyframe', (_name, video) => {
    const source = new LiveSource('__defaultVhost__', 'live', 's', 'vid-1', { gopCache: true, mwLatencyMs: 0, gopMaxFrames: 2500, serverSignature: 'srsx/test' });
    source.startPublish('pub');
    const aac = Buffer.from([0xaf, 0, 0x12, 0x10]);
    source.onMetadata({ width: 640, height: 360 }, 0);
    source.onVideo(0, video.header);
    source.onAudio(0, aac);
    source.onVideo(0, video.key); // an old GOP
    source.onVideo(40, video.inter);
    source.onVideo(1000, video.key); // the GOP a joiner starts on
    source.onAudio(1010, Buffer.from([0xaf, 1, 7]));
    source.onVideo(1040, video.inter);

    const late = player('late');
    source.addConsumer(late.consumer);
    const tags = late.tags();
    expect(tags.map((t) => [t.type, t.timestamp])).toEqual([[18, 0], [9, 1000], [8, 1000], [9, 1000], [8, 1010], [9, 1040]]);
    expect(tags[1]!.payload.equals(video.header)).toBe(true);
    expect(tags[2]!.payload.equals(aac)).toBe(true);
    expect(tags[3]!.payload.equals(video.key)).toBe(true);
    expect(tags[0]!.payload.includes(Buffer.from('srsx/test'))).toBe(true); // the server's signature in onMetaData

    // from here on both players are sent the very same Buffer: serialised once
    const other = player('other');
    source.addConsumer(other.consumer);
    const before = [late.writes.length, other.writes.length];
    source.onVideo(1080, video.inter);
    expect(late.writes.length).toBe(before[0]! + 1);
    expect(other.writes.length).toBe(before[1]! + 1);
    expect(late.writes.at(-1)).toBe(other.writes.at(-1));
    source.dispose();
  });

  it('a forward that starts before the first flush still gets the sequence headers (cachedMessages)', () => {
    const source = new LiveSource('__defaultVhost__', 'live', 's', 'vid-2', { gopCache: true, mwLatencyMs: 350, gopMaxFrames: 2500, serverSignature: 'srsx/test' });
    source.startPublish('pub');
    const avc = CODECS['AVC (codec id 7)'];
    source.onMetadata({ width: 640 }, 0);
    source.onVideo(0, avc.header);
    source.onAudio(0, Buffer.from([0xaf, 0, 0x12, 0x10]));
    source.onVideo(0, avc.key);
    // no flush yet (mw_latency 350 ms): the caches are empty, the batch holds everything
    const early = source.cachedMessages();
    expect(early.map((m) => [m.type, m.sequenceHeader, m.keyframe])).toEqual([[18, false, false], [9, true, false], [8, true, false], [9, false, true]]);
    source.flush();
    // after the flush the same messages come from the caches, once
    expect(source.cachedMessages().map((m) => m.type)).toEqual([18, 9, 8, 9]);
    source.dispose();
  });

  // SRS's RtmpPublish_MultipleSequences: the publisher changes the AVC sequence header inside one
  // mw_latency batch; a player waiting for a keyframe must get the header of ITS keyframe.
  it('a player resuming in a batch with two AVC sequence headers gets the one before its keyframe', () => {
    const source = new LiveSource('__defaultVhost__', 'live', 's', 'vid-3', { gopCache: true, mwLatencyMs: 350, gopMaxFrames: 2500, serverSignature: 'srsx/test' });
    source.startPublish('pub');
    const sh1 = Buffer.from([0x17, 0, 0, 0, 0, 1, 0x42]);
    const sh2 = Buffer.from([0x17, 0, 0, 0, 0, 1, 0x64]);
    const key1 = Buffer.from([0x17, 1, 0, 0, 0, 1]);
    const key2 = Buffer.from([0x17, 1, 0, 0, 0, 2]);
    source.onVideo(0, Buffer.from([0x27, 1, 0, 0, 0, 7])); // video without a keyframe yet
    source.flush();
    const waiting = player('waiting');
    source.addConsumer(waiting.consumer);
    expect(waiting.writes.length).toBe(0);
    source.onVideo(40, sh1);
    source.onVideo(40, key1);
    source.onVideo(80, Buffer.from([0x27, 1, 0, 0, 0, 8]));
    source.onVideo(120, sh2);
    source.onVideo(120, key2);
    source.flush();
    const video = waiting.tags().filter((t) => t.type === 9).map((t) => t.payload);
    expect(video.map((p) => p.toString('hex'))).toEqual([sh1, key1, Buffer.from([0x27, 1, 0, 0, 0, 8]), sh2, key2].map((p) => p.toString('hex')));
    source.dispose();
  });

  it('a joiner after a mid-GOP sequence header change gets the GOP\'s header first, the new one in order', () => {
    const source = new LiveSource('__defaultVhost__', 'live', 's', 'vid-4', { gopCache: true, mwLatencyMs: 350, gopMaxFrames: 2500, serverSignature: 'srsx/test' });
    source.startPublish('pub');
    const sh1 = Buffer.from([0x17, 0, 0, 0, 0, 1, 0x42]);
    const sh2 = Buffer.from([0x17, 0, 0, 0, 0, 1, 0x64]);
    const key1 = Buffer.from([0x17, 1, 0, 0, 0, 1]);
    const inter = Buffer.from([0x27, 1, 0, 0, 0, 8]);
    source.onVideo(0, sh1);
    source.onVideo(0, key1);
    source.flush();
    source.onVideo(40, sh2); // a new header, no keyframe yet
    source.onVideo(40, inter);
    source.flush();
    const late = player('late');
    source.addConsumer(late.consumer);
    const video = late.tags().filter((t) => t.type === 9).map((t) => t.payload.toString('hex'));
    expect(video).toEqual([sh1, key1, sh2, inter].map((p) => p.toString('hex')));
    source.dispose();
  });

  it('an audio-only stream starts players at once, and a lagging or unpaused player resumes on audio', () => {
    const source = new LiveSource('__defaultVhost__', 'live', 'radio', 'vid-5', { gopCache: true, mwLatencyMs: 350, gopMaxFrames: 2500, serverSignature: 'srsx/test' });
    source.startPublish('pub');
    const aacHeader = Buffer.from([0xaf, 0, 0x12, 0x10]);
    source.onMetadata({ audiocodecid: 10 }, 0);
    source.onAudio(0, aacHeader);
    for (let t = 23; t < 300; t += 23) source.onAudio(t, Buffer.from([0xaf, 1, t & 0xff]));
    source.flush();
    const p = player('p');
    source.addConsumer(p.consumer);
    // metadata and the AAC header at once
    expect(p.tags().map((t) => t.type)).toEqual([18, 8]);
    expect(p.tags()[1]!.payload.equals(aacHeader)).toBe(true);
    for (let t = 300; t < 600; t += 23) source.onAudio(t, Buffer.from([0xaf, 1, t & 0xff]));
    source.flush();
    const afterOne = p.tags().length;
    expect(afterOne).toBeGreaterThan(2 + 10);
    // a player told to resume (unpause, or after lagging) resumes on the next batch, headers first
    p.consumer.resumeAtKeyframe();
    for (let t = 600; t < 900; t += 23) source.onAudio(t, Buffer.from([0xaf, 1, t & 0xff]));
    source.flush();
    const resumed = p.tags().slice(afterOne);
    expect(resumed[0]!.type).toBe(18);
    expect(resumed[1]!.payload.equals(aacHeader)).toBe(true);
    expect(resumed.length).toBeGreaterThan(2 + 10);
    source.dispose();
  });

  it('mw_msgs: a batch goes out once mw_latency passed AND it holds more than mw_msgs messages', () => {
    jest.useFakeTimers();
    try {
      const source = new LiveSource('__defaultVhost__', 'live', 'm', 'vid-6', { gopCache: true, mwLatencyMs: 100, mwMsgs: 8, gopMaxFrames: 2500, serverSignature: 'srsx/test' });
      source.startPublish('pub');
      source.onAudio(0, Buffer.from([0xaf, 0, 0x12, 0x10]));
      const p = player('p');
      source.addConsumer(p.consumer);
      for (let i = 1; i <= 4; i++) source.onAudio(i * 23, Buffer.from([0xaf, 1, i]));
      jest.advanceTimersByTime(150);
      expect(p.writes.length).toBe(0); // mw_latency passed, 5 messages: not more than 8
      for (let i = 5; i <= 7; i++) source.onAudio(i * 23, Buffer.from([0xaf, 1, i]));
      expect(p.writes.length).toBe(0); // 8: still not more than 8
      source.onAudio(8 * 23, Buffer.from([0xaf, 1, 8]));
      expect(p.writes.length).toBe(1); // the 9th message sends the batch, at once
      expect(p.tags().length).toBe(9);
      // the next batch: more than 8 messages when the timer fires
      for (let i = 9; i <= 20; i++) source.onAudio(i * 23, Buffer.from([0xaf, 1, i]));
      expect(p.writes.length).toBe(1);
      jest.advanceTimersByTime(100);
      expect(p.writes.length).toBe(2);
      source.dispose();
    } finally {
      jest.useRealTimers();
    }
  });
});
