/**
 * RTP/RTCP helpers for the WebRTC core: the RFC 7983 first-byte demux, RTCP compound parsing (SR, RR,
 * generic NACK, PLI, FIR) and the few packets the server sends (SR, RR, PLI, FIR, NACK). Pure functions.
 */

/** RFC 7983 demultiplexing on the first byte of a datagram. */
export type DatagramKind = 'stun' | 'dtls' | 'rtp' | 'rtcp' | 'unknown';

export function classify(buf: Buffer): DatagramKind {
  if (buf.length === 0) return 'unknown';
  const b = buf[0]!;
  if (b <= 3) return 'stun';
  if (b >= 20 && b <= 63) return 'dtls';
  if (b >= 128 && b <= 191) {
    if (buf.length < 4) return 'unknown';
    // RFC 5761: RTCP packet types 192..223 share the second byte's range with RTP's M bit + PT
    const pt = buf[1]!;
    return pt >= 192 && pt <= 223 ? 'rtcp' : 'rtp';
  }
  return 'unknown';
}

export const RtcpType = { SR: 200, RR: 201, SDES: 202, BYE: 203, APP: 204, RTPFB: 205, PSFB: 206, XR: 207 } as const;

export interface RtcpReportBlock {
  ssrc: number;
  fractionLost: number;
  cumulativeLost: number;
  highestSeq: number;
  jitter: number;
  lsr: number;
  dlsr: number;
}

export type RtcpPacket =
  | { type: 'sr'; ssrc: number; ntpHigh: number; ntpLow: number; rtpTime: number; packets: number; octets: number; reports: RtcpReportBlock[] }
  | { type: 'rr'; ssrc: number; reports: RtcpReportBlock[] }
  | { type: 'nack'; sender: number; media: number; seqs: number[] }
  | { type: 'pli'; sender: number; media: number }
  | { type: 'fir'; sender: number; targets: number[] }
  | { type: 'other'; pt: number; fmt: number };

function reportBlocks(buf: Buffer, at: number, count: number, end: number): RtcpReportBlock[] {
  const out: RtcpReportBlock[] = [];
  for (let i = 0; i < count && at + 24 <= end; i++, at += 24) {
    const lost = buf.readUInt32BE(at + 4);
    out.push({
      ssrc: buf.readUInt32BE(at),
      fractionLost: lost >>> 24,
      cumulativeLost: lost & 0xffffff,
      highestSeq: buf.readUInt32BE(at + 8),
      jitter: buf.readUInt32BE(at + 12),
      lsr: buf.readUInt32BE(at + 16),
      dlsr: buf.readUInt32BE(at + 20),
    });
  }
  return out;
}

/** Parses a compound RTCP packet; stops (returning what it has) at the first malformed part. */
export function parseRtcp(buf: Buffer): RtcpPacket[] {
  const out: RtcpPacket[] = [];
  let p = 0;
  while (p + 4 <= buf.length) {
    const b0 = buf[p]!;
    if (b0 >> 6 !== 2) break;
    const fmt = b0 & 0x1f;
    const pt = buf[p + 1]!;
    const end = p + (buf.readUInt16BE(p + 2) + 1) * 4;
    if (end > buf.length) break;
    if (pt === RtcpType.SR && end - p >= 28) {
      out.push({
        type: 'sr',
        ssrc: buf.readUInt32BE(p + 4),
        ntpHigh: buf.readUInt32BE(p + 8),
        ntpLow: buf.readUInt32BE(p + 12),
        rtpTime: buf.readUInt32BE(p + 16),
        packets: buf.readUInt32BE(p + 20),
        octets: buf.readUInt32BE(p + 24),
        reports: reportBlocks(buf, p + 28, fmt, end),
      });
    } else if (pt === RtcpType.RR && end - p >= 8) {
      out.push({ type: 'rr', ssrc: buf.readUInt32BE(p + 4), reports: reportBlocks(buf, p + 8, fmt, end) });
    } else if (pt === RtcpType.RTPFB && fmt === 1 && end - p >= 12) {
      const seqs: number[] = [];
      for (let q = p + 12; q + 4 <= end; q += 4) {
        const pid = buf.readUInt16BE(q);
        const blp = buf.readUInt16BE(q + 2);
        seqs.push(pid);
        for (let i = 0; i < 16; i++) if (blp & (1 << i)) seqs.push((pid + i + 1) & 0xffff);
      }
      out.push({ type: 'nack', sender: buf.readUInt32BE(p + 4), media: buf.readUInt32BE(p + 8), seqs });
    } else if (pt === RtcpType.PSFB && fmt === 1 && end - p >= 12) {
      out.push({ type: 'pli', sender: buf.readUInt32BE(p + 4), media: buf.readUInt32BE(p + 8) });
    } else if (pt === RtcpType.PSFB && fmt === 4 && end - p >= 12) {
      const targets: number[] = [];
      for (let q = p + 12; q + 8 <= end; q += 8) targets.push(buf.readUInt32BE(q));
      out.push({ type: 'fir', sender: buf.readUInt32BE(p + 4), targets });
    } else {
      out.push({ type: 'other', pt, fmt });
    }
    p = end;
  }
  return out;
}

/** NTP time (seconds since 1900) as two 32-bit words, from a ms epoch clock. */
export function ntpTime(ms: number): { high: number; low: number } {
  const sec = Math.floor(ms / 1000);
  return { high: (sec + 2_208_988_800) >>> 0, low: Math.floor(((ms - sec * 1000) / 1000) * 0x1_0000_0000) >>> 0 };
}

export function buildSr(ssrc: number, ms: number, rtpTime: number, packets: number, octets: number): Buffer {
  const b = Buffer.alloc(28);
  b[0] = 0x80;
  b[1] = RtcpType.SR;
  b.writeUInt16BE(6, 2);
  b.writeUInt32BE(ssrc >>> 0, 4);
  const ntp = ntpTime(ms);
  b.writeUInt32BE(ntp.high, 8);
  b.writeUInt32BE(ntp.low, 12);
  b.writeUInt32BE(rtpTime >>> 0, 16);
  b.writeUInt32BE(packets >>> 0, 20);
  b.writeUInt32BE(octets >>> 0, 24);
  return b;
}

export function buildRr(ssrc: number, blocks: RtcpReportBlock[]): Buffer {
  const b = Buffer.alloc(8 + 24 * blocks.length);
  b[0] = 0x80 | blocks.length;
  b[1] = RtcpType.RR;
  b.writeUInt16BE(b.length / 4 - 1, 2);
  b.writeUInt32BE(ssrc >>> 0, 4);
  blocks.forEach((r, i) => {
    const at = 8 + i * 24;
    b.writeUInt32BE(r.ssrc >>> 0, at);
    b.writeUInt32BE((((r.fractionLost & 0xff) << 24) | (r.cumulativeLost & 0xffffff)) >>> 0, at + 4);
    b.writeUInt32BE(r.highestSeq >>> 0, at + 8);
    b.writeUInt32BE(r.jitter >>> 0, at + 12);
    b.writeUInt32BE(r.lsr >>> 0, at + 16);
    b.writeUInt32BE(r.dlsr >>> 0, at + 20);
  });
  return b;
}

export function buildPli(sender: number, media: number): Buffer {
  const b = Buffer.alloc(12);
  b[0] = 0x81;
  b[1] = RtcpType.PSFB;
  b.writeUInt16BE(2, 2);
  b.writeUInt32BE(sender >>> 0, 4);
  b.writeUInt32BE(media >>> 0, 8);
  return b;
}

export function buildFir(sender: number, media: number, seq: number): Buffer {
  const b = Buffer.alloc(20);
  b[0] = 0x84;
  b[1] = RtcpType.PSFB;
  b.writeUInt16BE(4, 2);
  b.writeUInt32BE(sender >>> 0, 4);
  b.writeUInt32BE(media >>> 0, 12);
  b[16] = seq & 0xff;
  return b;
}

/** Generic NACK (RFC 4585 6.2.1) for a list of sequence numbers. */
export function buildNack(sender: number, media: number, seqs: number[]): Buffer {
  const items: Array<[number, number]> = [];
  for (const s of [...seqs].sort((a, b) => a - b)) {
    const last = items[items.length - 1];
    const d = last ? (s - last[0]) & 0xffff : 0;
    if (last && d >= 1 && d <= 16) last[1] |= 1 << (d - 1);
    else if (!last || d !== 0) items.push([s, 0]);
  }
  const b = Buffer.alloc(12 + items.length * 4);
  b[0] = 0x81;
  b[1] = RtcpType.RTPFB;
  b.writeUInt16BE(b.length / 4 - 1, 2);
  b.writeUInt32BE(sender >>> 0, 4);
  b.writeUInt32BE(media >>> 0, 8);
  items.forEach(([pid, blp], i) => {
    b.writeUInt16BE(pid, 12 + i * 4);
    b.writeUInt16BE(blp, 14 + i * 4);
  });
  return b;
}
