/**
 * H.264 in FLV/RTMP: AVCC (length-prefixed NAL units) and the AVCDecoderConfigurationRecord
 * (ISO/IEC 14496-15 §5.2.4.1) that the AVC sequence header carries.
 */
import { ProtocolError } from '../errors.js';

export const NalType = { Slice: 1, IDR: 5, SEI: 6, SPS: 7, PPS: 8, AUD: 9, Filler: 12, STAPA: 24, FUA: 28 } as const;

export function nalType(nalu: Buffer): number {
  return nalu[0]! & 0x1f;
}

export interface AvcConfig {
  profile: number;
  compatibility: number;
  level: number;
  /** bytes of each NAL unit length in AVCC frames (1, 2 or 4) */
  lengthSize: number;
  sps: Buffer[];
  pps: Buffer[];
}

/** Parses an AVCDecoderConfigurationRecord; throws ProtocolError when it is malformed. */
export function parseAvcConfig(rec: Buffer): AvcConfig {
  const bad = (why: string) => new ProtocolError(`AVC sequence header: ${why}`);
  if (rec.length < 7) throw bad(`${rec.length} bytes, need at least 7`);
  if (rec[0] !== 1) throw bad(`configurationVersion ${rec[0]}, expected 1`);
  const lengthSize = (rec[4]! & 3) + 1;
  if (lengthSize === 3) throw bad('NAL unit length size 3');
  let pos = 5;
  const take = (count: number): Buffer[] => {
    const out: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      if (pos + 2 > rec.length) throw bad('truncated parameter set');
      const len = rec.readUInt16BE(pos);
      pos += 2;
      if (pos + len > rec.length || len === 0) throw bad('truncated parameter set');
      out.push(rec.subarray(pos, pos + len));
      pos += len;
    }
    return out;
  };
  const sps = take(rec[pos++]! & 0x1f);
  if (pos >= rec.length) throw bad('no PPS count');
  const pps = take(rec[pos++]!);
  return { profile: rec[1]!, compatibility: rec[2]!, level: rec[3]!, lengthSize, sps, pps };
}

/** Builds an AVCDecoderConfigurationRecord (4-byte NAL lengths) from SPS and PPS. */
export function buildAvcConfig(sps: Buffer[], pps: Buffer[]): Buffer {
  if (sps.length === 0 || sps[0]!.length < 4) throw new ProtocolError('AVC config: no usable SPS');
  const size = 7 + sps.reduce((n, s) => n + 2 + s.length, 0) + pps.reduce((n, p) => n + 2 + p.length, 0);
  const out = Buffer.allocUnsafe(size);
  const first = sps[0]!;
  out[0] = 1;
  out[1] = first[1]!; // profile_idc
  out[2] = first[2]!; // constraint flags
  out[3] = first[3]!; // level_idc
  out[4] = 0xfc | 3; // 4-byte lengths
  out[5] = 0xe0 | sps.length;
  let pos = 6;
  for (const s of sps) {
    out.writeUInt16BE(s.length, pos);
    s.copy(out, pos + 2);
    pos += 2 + s.length;
  }
  out[pos++] = pps.length;
  for (const p of pps) {
    out.writeUInt16BE(p.length, pos);
    p.copy(out, pos + 2);
    pos += 2 + p.length;
  }
  return out;
}

/** The NAL units of an AVCC frame (views into `data`, not copies). */
export function splitAvcc(data: Buffer, lengthSize = 4): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos + lengthSize <= data.length) {
    const len = lengthSize === 4 ? data.readUInt32BE(pos) : lengthSize === 2 ? data.readUInt16BE(pos) : data[pos]!;
    pos += lengthSize;
    if (len === 0) continue;
    if (pos + len > data.length) throw new ProtocolError(`AVCC frame: NAL unit of ${len} bytes runs past the frame (${data.length - pos} left)`);
    out.push(data.subarray(pos, pos + len));
    pos += len;
  }
  return out;
}

/** FLV video payload header for AVC: frame type + codec id, AVCPacketType, composition time. */
const FLV_AVC_HEADER = 5;

/** An FLV/RTMP AVC sequence header payload (0x17 0x00 cts=0 + record). */
export function flvAvcSequenceHeader(config: Buffer): Buffer {
  const out = Buffer.allocUnsafe(FLV_AVC_HEADER + config.length);
  out[0] = 0x17;
  out[1] = 0;
  out[2] = out[3] = out[4] = 0;
  config.copy(out, FLV_AVC_HEADER);
  return out;
}

/** An FLV/RTMP AVC NALU payload: the NAL units with 4-byte lengths, one allocation. */
export function flvAvcFrame(nalus: readonly Buffer[], keyframe: boolean, compositionTime = 0): Buffer {
  let size = FLV_AVC_HEADER;
  for (const n of nalus) size += 4 + n.length;
  const out = Buffer.allocUnsafe(size);
  out[0] = keyframe ? 0x17 : 0x27;
  out[1] = 1;
  out.writeIntBE(compositionTime, 2, 3);
  let pos = FLV_AVC_HEADER;
  for (const n of nalus) {
    out.writeUInt32BE(n.length, pos);
    n.copy(out, pos + 4);
    pos += 4 + n.length;
  }
  return out;
}

export interface FlvAvcPacket {
  /** 0 sequence header, 1 NAL units, 2 end of sequence */
  packetType: number;
  keyframe: boolean;
  compositionTime: number;
  data: Buffer;
}

/** The AVC part of an FLV video payload; undefined when it is not (legacy) AVC. */
export function parseFlvAvc(payload: Buffer): FlvAvcPacket | undefined {
  if (payload.length < FLV_AVC_HEADER || (payload[0]! & 0x0f) !== 7 || payload[0]! & 0x80) return undefined;
  return {
    packetType: payload[1]!,
    keyframe: payload[0]! >> 4 === 1,
    compositionTime: payload.readIntBE(2, 3),
    data: payload.subarray(FLV_AVC_HEADER),
  };
}
