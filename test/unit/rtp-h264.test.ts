import {
  buildAvcConfig,
  flvAvcFrame,
  flvAvcSequenceHeader,
  H264Depacketizer,
  H264Packetizer,
  parseAvcConfig,
  parseFlvAvc,
  parseRtpHeader,
  splitAvcc,
  type AccessUnit,
} from '../../src/protocol/rtp-h264/index.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const SPS = hex('67 42 c0 1f 8c 8d 40');
const PPS = hex('68 ce 3c 80');
/** a NAL unit of `size` bytes: header byte then a counting pattern */
function nal(header: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  b[0] = header;
  for (let i = 1; i < size; i++) b[i] = i & 0xff;
  return b;
}
/** an RTP packet built by hand: V=2, no CSRC/extension, PT 102, SSRC 0x11223344 */
function rtp(seq: number, ts: number, marker: boolean, payload: Buffer): Buffer {
  const h = Buffer.alloc(12);
  h[0] = 0x80;
  h[1] = (marker ? 0x80 : 0) | 102;
  h.writeUInt16BE(seq, 2);
  h.writeUInt32BE(ts, 4);
  h.writeUInt32BE(0x11223344, 8);
  return Buffer.concat([h, payload]);
}
function collect(): { units: AccessUnit[]; d: H264Depacketizer } {
  const units: AccessUnit[] = [];
  return { units, d: new H264Depacketizer((u) => units.push(u)) };
}

describe('H.264 RTP packetizer (RFC 6184)', () => {
  const pk = () => new H264Packetizer({ payloadType: 102, ssrc: 0x11223344, sequence: 65534, mtu: 1200 });

  it('sends SPS+PPS in one STAP-A, a small slice as a single NAL unit packet, marker on the last', () => {
    const out: Buffer[] = [];
    const idr = nal(0x65, 100);
    pk().packetize([SPS, PPS, idr], 90_000, (p) => out.push(p));
    expect(out).toHaveLength(2);
    // STAP-A: F|NRI of the highest (0x60 from SPS/PPS headers 0x67/0x68) | 24, then 16-bit sizes
    expect(out[0]).toEqual(hex('80 66 fffe 00015f90 11223344' + '78 0007 6742c01f8c8d40 0004 68ce3c80'));
    expect(out[1]!.subarray(0, 12)).toEqual(hex('80 e6 ffff 00015f90 11223344'));
    expect(out[1]!.subarray(12)).toEqual(idr);
  });

  it('cuts a NAL unit larger than the MTU into FU-A fragments of near-equal size (S and E bits, NRI kept)', () => {
    const out: Buffer[] = [];
    const idr = nal(0x65, 3000); // 2999 body bytes, 1186 per fragment at most -> 3 fragments of 1000/1000/999
    pk().packetize([idr], 1234, (p) => out.push(p));
    expect(out.map((p) => p.length)).toEqual([12 + 2 + 1000, 12 + 2 + 1000, 12 + 2 + 999]);
    expect(out.map((p) => p.readUInt16BE(2))).toEqual([65534, 65535, 0]); // wraps
    expect(out.map((p) => p[1]! & 0x80)).toEqual([0, 0, 0x80]);
    expect(out.map((p) => p[12])).toEqual([0x7c, 0x7c, 0x7c]); // NRI 3 | FU-A
    expect(out.map((p) => p[13])).toEqual([0x85, 0x05, 0x45]); // S / - / E, type 5
    expect(Buffer.concat([idr.subarray(0, 1), ...out.map((p) => p.subarray(14))])).toEqual(Buffer.concat([hex('65'), idr.subarray(1)]));
    for (const p of out) expect(p.length).toBeLessThanOrEqual(1200);
  });

  it('leaves out AUD and filler NAL units; the marker goes on the last sent one', () => {
    const out: Buffer[] = [];
    pk().packetize([hex('09 f0'), nal(0x41, 50), hex('0c ff ff ff')], 0, (p) => out.push(p));
    expect(out).toHaveLength(1);
    expect(out[0]![1]).toBe(0x80 | 102);
    expect(out[0]![12]).toBe(0x41);
  });
});

describe('H.264 RTP depacketizer', () => {
  it('reassembles hand-built STAP-A + FU-A packets into one keyframe unit and keeps SPS/PPS', () => {
    const { units, d } = collect();
    d.push(rtp(10, 3000, false, hex('78 0007 6742c01f8c8d40 0004 68ce3c80')));
    d.push(rtp(11, 3000, false, hex('7c 85 0102')));
    d.push(rtp(12, 3000, false, hex('7c 05 0304')));
    d.push(rtp(13, 3000, true, hex('7c 45 05')));
    expect(units).toHaveLength(1);
    expect(units[0]!.keyframe).toBe(true);
    expect(units[0]!.timestamp).toBe(3000);
    expect(units[0]!.nalus).toEqual([SPS, PPS, hex('65 0102030405')]);
    expect(d.sps).toEqual(SPS);
    expect(d.pps).toEqual(PPS);
  });

  it('drops everything before the first IDR, then passes P frames', () => {
    const { units, d } = collect();
    d.push(rtp(1, 0, true, hex('41 aa')));
    d.push(rtp(2, 3000, true, hex('65 bb')));
    d.push(rtp(3, 6000, true, hex('41 cc')));
    expect(units.map((u) => u.nalus[0]!.toString('hex'))).toEqual(['65bb', '41cc']);
    expect(d.stats.droppedUnits).toBe(1);
  });

  it('a sequence gap drops the damaged unit and the P frames after it, until the next IDR', () => {
    const { units, d } = collect();
    d.push(rtp(100, 0, true, hex('65 01')));
    d.push(rtp(101, 3000, false, hex('7c 81 aa'))); // FU-A start of a P frame
    // 102 (middle) is lost
    d.push(rtp(103, 3000, true, hex('7c 41 cc')));
    d.push(rtp(104, 6000, true, hex('41 dd')));
    d.push(rtp(105, 9000, true, hex('65 ee')));
    d.push(rtp(106, 12000, true, hex('41 ff')));
    expect(units.map((u) => u.nalus[0]!.toString('hex'))).toEqual(['6501', '65ee', '41ff']);
    expect(d.stats.lost).toBe(1);
    expect(d.stats.droppedUnits).toBe(2);
  });

  it('ends a unit on a timestamp change when its marker was lost; ignores duplicates; sequence wraps', () => {
    const { units, d } = collect();
    d.push(rtp(65535, 0, false, hex('65 01')));
    d.push(rtp(65535, 0, false, hex('65 01'))); // duplicate
    d.push(rtp(0, 3000, true, hex('41 02')));
    expect(units.map((u) => [u.timestamp, u.nalus.length])).toEqual([[0, 1], [3000, 1]]);
  });

  it('counts garbage as invalid without throwing', () => {
    const { units, d } = collect();
    for (const junk of [hex(''), hex('80'), hex('00 01 02 03 04 05 06 07 08 09 0a 0b 0c'), rtp(1, 0, true, hex('7c')), rtp(2, 0, true, hex('79 00'))]) d.push(junk);
    d.push(rtp(3, 0, true, hex('78 0009 6742')));
    expect(units).toHaveLength(0);
    expect(d.stats.invalid).toBeGreaterThanOrEqual(4);
  });

  it('skips CSRCs, a header extension and padding', () => {
    const { units, d } = collect();
    const p = hex('b1 e6 0001 00000000 11223344' + 'aaaaaaaa' + 'bede 0001 10ff0000' + '65 77' + '00 00 03');
    expect(parseRtpHeader(p)).toMatchObject({ payloadOffset: 24, payloadEnd: 26, marker: true, payloadType: 102 });
    d.push(p);
    expect(units[0]!.nalus).toEqual([hex('65 77')]);
  });
});

describe('round trip and AVC (FLV) helpers', () => {
  it('packetize -> depacketize gives the same units for a GOP with large and small NAL units', () => {
    const pk = new H264Packetizer({ payloadType: 96, ssrc: 1, mtu: 1000 });
    const { units, d } = collect();
    const gop: Buffer[][] = [[SPS, PPS, nal(0x06, 20), nal(0x65, 5000)], [nal(0x41, 999)], [nal(0x41, 987)], [nal(0x41, 30), nal(0x41, 4000)]];
    gop.forEach((au, i) => pk.packetize(au, i * 3000, (p) => d.push(p)));
    expect(units.map((u) => u.nalus)).toEqual(gop);
    expect(units.map((u) => u.keyframe)).toEqual([true, false, false, false]);
    expect(d.stats).toMatchObject({ lost: 0, droppedUnits: 0, invalid: 0 });
  });

  it('AVCDecoderConfigurationRecord: build, parse, and the FLV sequence header / frame payloads', () => {
    const rec = buildAvcConfig([SPS], [PPS]);
    expect(rec).toEqual(hex('01 42 c0 1f ff e1 0007 6742c01f8c8d40 01 0004 68ce3c80'));
    expect(parseAvcConfig(rec)).toEqual({ profile: 0x42, compatibility: 0xc0, level: 0x1f, lengthSize: 4, sps: [SPS], pps: [PPS] });
    expect(() => parseAvcConfig(hex('01 42 c0 1f ff e1 0009 6742'))).toThrow(/truncated/);
    expect(flvAvcSequenceHeader(rec).subarray(0, 5)).toEqual(hex('17 00 000000'));
    const frame = flvAvcFrame([hex('65 01 02'), hex('06 05')], true);
    expect(frame).toEqual(hex('17 01 000000 00000003 650102 00000002 0605'));
    const parsed = parseFlvAvc(frame)!;
    expect(parsed).toMatchObject({ packetType: 1, keyframe: true, compositionTime: 0 });
    expect(splitAvcc(parsed.data)).toEqual([hex('65 01 02'), hex('06 05')]);
    expect(() => splitAvcc(hex('00000009 6501'))).toThrow(/runs past/);
    expect(parseFlvAvc(hex('af 01 00'))).toBeUndefined(); // AAC
  });
});
