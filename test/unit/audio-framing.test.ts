import { AdtsReader, buildAudioSpecificConfig, parseAudioSpecificConfig, toAdts, type AdtsFrame } from '../../src/protocol/audio/aac.js';
import { OggOpusReader, OggOpusWriter, opusPacketSamples } from '../../src/protocol/audio/ogg-opus.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('AAC: AudioSpecificConfig and ADTS', () => {
  it('reads and writes the two-byte AudioSpecificConfig (LC, 44.1 kHz stereo = 12 10; 48 kHz = 11 90)', () => {
    expect(parseAudioSpecificConfig(hex('1210'))).toEqual({ objectType: 2, sampleRateIndex: 4, sampleRate: 44100, channels: 2 });
    expect(buildAudioSpecificConfig({ objectType: 2, sampleRateIndex: 3, channels: 2 })).toEqual(hex('1190'));
    expect(() => parseAudioSpecificConfig(hex('12'))).toThrow(/need 2/);
    expect(() => parseAudioSpecificConfig(hex('17 90'))).toThrow(/not supported/); // rate index 14
  });

  it('writes the ADTS header by hand-checked bytes and reads frames back across chunk boundaries and junk', () => {
    const cfg = parseAudioSpecificConfig(hex('1210'));
    const a = toAdts(cfg, hex('01 02 03'));
    // sync fff, MPEG-4, no CRC; profile 1 (LC), rate 4, channels 2; length 10; fullness 7ff; 1 raw block
    expect(a).toEqual(hex('fff1 50 80 01 5f fc 010203'));
    const b = toAdts(cfg, Buffer.alloc(300, 7));
    const frames: AdtsFrame[] = [];
    const r = new AdtsReader((f) => frames.push({ config: f.config, raw: Buffer.from(f.raw) }));
    const stream = Buffer.concat([hex('00 11'), a, b, a]);
    for (let i = 0; i < stream.length; i += 5) r.push(stream.subarray(i, i + 5));
    expect(frames.map((f) => f.raw.length)).toEqual([3, 300, 3]);
    expect(frames[0]!.config).toEqual(cfg);
    expect(r.skipped).toBe(2);
  });
});

describe('Ogg Opus', () => {
  it('TOC byte: samples per packet at 48 kHz', () => {
    expect(opusPacketSamples(hex('fc'))).toBe(960); // CELT FB 20 ms, one frame
    expect(opusPacketSamples(hex('f8'))).toBe(960);
    expect(opusPacketSamples(hex('fd'))).toBe(1920); // two frames
    expect(opusPacketSamples(hex('fb 03'))).toBe(2880); // code 3, 3 frames of 20 ms
    expect(opusPacketSamples(hex('08'))).toBe(960); // SILK NB 20 ms
    expect(opusPacketSamples(hex('18'))).toBe(2880); // SILK NB 60 ms
    expect(opusPacketSamples(Buffer.alloc(0))).toBe(0);
  });

  it('the writer makes pages the reader accepts (ffmpeg checks their CRC in rtc-bridge.test.ts): headers skipped, packets of any size back in order', () => {
    const w = new OggOpusWriter();
    const packets = [hex('fc 01'), Buffer.alloc(255, 0xfc), Buffer.alloc(600, 0xf8), hex('fc')];
    const bytes = Buffer.concat([w.headers(2), ...packets.map((p) => w.packet(p, 960))]);
    // page 0: "OggS", version 0, BOS flag, granule 0, one 19-byte segment
    expect(bytes.subarray(0, 6)).toEqual(hex('4f676753 00 02'));
    expect(bytes[26]).toBe(1);
    expect(bytes[27]).toBe(19);
    const got: Buffer[] = [];
    const r = new OggOpusReader((p) => got.push(p));
    for (let i = 0; i < bytes.length; i += 7) r.push(bytes.subarray(i, i + 7));
    expect(got).toEqual(packets);
    expect(r.head).toEqual({ channels: 2, preSkip: 0, inputSampleRate: 48000 });
    // the last page's granule position counts the samples so far
    const last = bytes.lastIndexOf('OggS');
    expect(bytes.readBigUInt64LE(last + 6)).toBe(3840n);
  });

  it('skips junk before a page and joins a packet continued on the next page', () => {
    // hand-built: page A ends with a 255-byte lacing value (packet continues), page B (flag 1) ends it
    const page = (flags: number, seq: number, lacing: number[], body: Buffer) =>
      Buffer.concat([hex('4f676753 00'), Buffer.from([flags]), Buffer.alloc(8), hex('01000000'), Buffer.from([seq, 0, 0, 0]), Buffer.alloc(4), Buffer.from([lacing.length, ...lacing]), body]);
    const head = Buffer.concat([Buffer.from('OpusHead'), hex('01 01 3801 80bb0000 0000 00')]);
    const tags = Buffer.concat([Buffer.from('OpusTags'), hex('00000000 00000000')]);
    const big = Buffer.alloc(300, 0xaa);
    const bytes = Buffer.concat([
      hex('deadbeef'),
      page(2, 0, [19], head),
      page(0, 1, [16], tags),
      page(0, 2, [255], big.subarray(0, 255)),
      page(1, 3, [45], big.subarray(255)),
    ]);
    const got: Buffer[] = [];
    const r = new OggOpusReader((p) => got.push(p));
    r.push(bytes);
    expect(got).toEqual([big]);
    expect(r.skipped).toBe(4);
    expect(r.head).toEqual({ channels: 1, preSkip: 312, inputSampleRate: 48000 });
  });
});
