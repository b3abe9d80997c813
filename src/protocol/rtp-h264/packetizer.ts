/**
 * H.264 RTP packetizer (RFC 6184, packetization-mode 1): a NAL unit that fits goes alone (single
 * NAL unit packet), consecutive SPS/PPS go together in one STAP-A, larger NAL units are cut into
 * FU-A fragments of near-equal size. The marker bit is set on the last packet of an access unit.
 * One Buffer per packet, nothing else allocated per NAL unit.
 */
import { NalType, nalType } from './avc.js';
import { RTP_HEADER_SIZE, writeRtpHeader } from './rtp.js';

export const DEFAULT_RTP_MTU = 1200;

export interface PacketizerOptions {
  payloadType: number;
  ssrc: number;
  /** largest RTP packet (header included), default 1200 */
  mtu?: number;
  /** first sequence number (default random) */
  sequence?: number;
}

export class H264Packetizer {
  readonly payloadType: number;
  readonly ssrc: number;
  private readonly maxPayload: number;
  /** the next packet's sequence number */
  sequence: number;

  constructor(opts: PacketizerOptions) {
    this.payloadType = opts.payloadType;
    this.ssrc = opts.ssrc;
    this.maxPayload = (opts.mtu ?? DEFAULT_RTP_MTU) - RTP_HEADER_SIZE;
    if (this.maxPayload < 16) throw new RangeError(`RTP MTU ${opts.mtu} is too small`);
    this.sequence = (opts.sequence ?? Math.floor(Math.random() * 0x10000)) & 0xffff;
  }

  /**
   * Packetizes one access unit (NAL units without start codes or lengths) at `timestamp` (90 kHz);
   * `emit` gets each packet in order. AUD and filler NAL units are left out (nothing decodes them).
   */
  packetize(nalus: readonly Buffer[], timestamp: number, emit: (packet: Buffer) => void): void {
    // the last NAL unit that is sent, to put the marker on its last packet
    let last = nalus.length - 1;
    while (last >= 0 && !this.sendable(nalus[last]!)) last--;
    let i = 0;
    while (i <= last) {
      const nalu = nalus[i]!;
      if (!this.sendable(nalu)) {
        i++;
        continue;
      }
      // consecutive SPS/PPS aggregate into one STAP-A
      const t = nalType(nalu);
      if (t === NalType.SPS || t === NalType.PPS) {
        let j = i;
        let size = 1;
        while (j <= last) {
          const n = nalus[j]!;
          const nt = nalType(n);
          if (!this.sendable(n)) {
            j++;
            continue;
          }
          if ((nt !== NalType.SPS && nt !== NalType.PPS) || size + 2 + n.length > this.maxPayload) break;
          size += 2 + n.length;
          j++;
        }
        const count = countSendable(nalus, i, j, this);
        if (count >= 2) {
          this.stapA(nalus, i, j, size, timestamp, j > last, emit);
          i = j;
          continue;
        }
      }
      if (nalu.length <= this.maxPayload) this.single(nalu, timestamp, i === last, emit);
      else this.fuA(nalu, timestamp, i === last, emit);
      i++;
    }
  }

  /** @internal */
  sendable(nalu: Buffer): boolean {
    if (nalu.length === 0) return false;
    const t = nalType(nalu);
    return t !== NalType.AUD && t !== NalType.Filler;
  }

  private header(size: number, marker: boolean, timestamp: number): Buffer {
    const p = Buffer.allocUnsafe(RTP_HEADER_SIZE + size);
    writeRtpHeader(p, marker, this.payloadType, this.sequence, timestamp, this.ssrc);
    this.sequence = (this.sequence + 1) & 0xffff;
    return p;
  }

  private single(nalu: Buffer, timestamp: number, marker: boolean, emit: (p: Buffer) => void): void {
    const p = this.header(nalu.length, marker, timestamp);
    nalu.copy(p, RTP_HEADER_SIZE);
    emit(p);
  }

  private stapA(nalus: readonly Buffer[], from: number, to: number, size: number, timestamp: number, marker: boolean, emit: (p: Buffer) => void): void {
    const p = this.header(size, marker, timestamp);
    let f = 0;
    let nri = 0;
    let pos = RTP_HEADER_SIZE + 1;
    for (let k = from; k < to; k++) {
      const n = nalus[k]!;
      if (!this.sendable(n)) continue;
      f |= n[0]! & 0x80;
      nri = Math.max(nri, n[0]! & 0x60);
      p.writeUInt16BE(n.length, pos);
      n.copy(p, pos + 2);
      pos += 2 + n.length;
    }
    p[RTP_HEADER_SIZE] = f | nri | NalType.STAPA;
    emit(p);
  }

  private fuA(nalu: Buffer, timestamp: number, marker: boolean, emit: (p: Buffer) => void): void {
    const body = nalu.length - 1; // the NAL header byte travels in the FU indicator/header
    const perPacket = this.maxPayload - 2;
    const count = Math.ceil(body / perPacket);
    const even = Math.ceil(body / count);
    const indicator = (nalu[0]! & 0xe0) | NalType.FUA;
    const type = nalu[0]! & 0x1f;
    let pos = 1;
    for (let k = 0; k < count; k++) {
      const len = Math.min(even, nalu.length - pos);
      const lastFragment = k === count - 1;
      const p = this.header(2 + len, marker && lastFragment, timestamp);
      p[RTP_HEADER_SIZE] = indicator;
      p[RTP_HEADER_SIZE + 1] = (k === 0 ? 0x80 : 0) | (lastFragment ? 0x40 : 0) | type;
      nalu.copy(p, RTP_HEADER_SIZE + 2, pos, pos + len);
      pos += len;
      emit(p);
    }
  }
}

function countSendable(nalus: readonly Buffer[], from: number, to: number, p: H264Packetizer): number {
  let n = 0;
  for (let k = from; k < to; k++) if (p.sendable(nalus[k]!)) n++;
  return n;
}
