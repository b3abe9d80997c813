/**
 * FLV/RTMP payloads → elementary streams for MPEG-TS: H.264/HEVC from length-prefixed NAL
 * units (AVCC/HVCC) to Annex B with an access unit delimiter and the parameter sets before
 * each keyframe; AAC raw frames to ADTS; MP3 as is. Pure functions and small state.
 */

const START_CODE = Buffer.from([0, 0, 0, 1]);
const AUD_H264 = Buffer.from([0, 0, 0, 1, 0x09, 0xf0]);
const AUD_HEVC = Buffer.from([0, 0, 0, 1, 0x46, 0x01, 0x50]);

export type VideoCodecName = 'h264' | 'hevc';

export interface VideoConfig {
  codec: VideoCodecName;
  /** NAL unit length field size (1, 2 or 4) */
  lengthSize: number;
  /** VPS/SPS/PPS, each without a start code */
  parameterSets: Buffer[];
}

/** A video payload of an RTMP/FLV message, decoded as far as TS needs. */
export interface VideoPacket {
  codec: VideoCodecName;
  kind: 'config' | 'frame' | 'end' | 'other';
  keyframe: boolean;
  /** composition time offset in ms (PTS - DTS) */
  cts: number;
  /** the AVCC/HVCC record (config) or length-prefixed NAL units (frame) */
  data: Buffer;
}

/** Classic FLV (codec 7 AVC, 12 HEVC) and enhanced RTMP ('avc1', 'hvc1') video payloads. */
export function parseVideoPayload(p: Buffer): VideoPacket | undefined {
  if (p.length < 2) return undefined;
  const frameType = (p[0]! >> 4) & 0x07;
  if (p[0]! & 0x80) {
    if (p.length < 5) return undefined;
    const fourcc = p.toString('latin1', 1, 5);
    const codec: VideoCodecName | undefined = fourcc === 'hvc1' ? 'hevc' : fourcc === 'avc1' ? 'h264' : undefined;
    if (!codec) return undefined;
    const type = p[0]! & 0x0f;
    const keyframe = frameType === 1;
    if (type === 0) return { codec, kind: 'config', keyframe, cts: 0, data: p.subarray(5) };
    if (type === 1) {
      if (p.length < 8) return undefined;
      return { codec, kind: 'frame', keyframe, cts: p.readIntBE(5, 3), data: p.subarray(8) };
    }
    if (type === 3) return { codec, kind: 'frame', keyframe, cts: 0, data: p.subarray(5) };
    if (type === 2) return { codec, kind: 'end', keyframe: false, cts: 0, data: p.subarray(5) };
    return { codec, kind: 'other', keyframe: false, cts: 0, data: p.subarray(5) };
  }
  const id = p[0]! & 0x0f;
  const codec: VideoCodecName | undefined = id === 7 ? 'h264' : id === 12 ? 'hevc' : undefined;
  if (!codec || p.length < 5) return undefined;
  const kind = p[1] === 0 ? 'config' : p[1] === 1 ? 'frame' : p[1] === 2 ? 'end' : 'other';
  return { codec, kind, keyframe: frameType === 1, cts: p.readIntBE(2, 3), data: p.subarray(5) };
}

/** AVCDecoderConfigurationRecord / HEVCDecoderConfigurationRecord → length size and parameter sets. */
export function parseVideoConfig(codec: VideoCodecName, rec: Buffer): VideoConfig | undefined {
  const sets: Buffer[] = [];
  try {
    if (codec === 'h264') {
      if (rec.length < 7) return undefined;
      const lengthSize = (rec[4]! & 0x03) + 1;
      let p = 5;
      const nSps = rec[p++]! & 0x1f;
      for (let i = 0; i < nSps; i++) {
        const len = rec.readUInt16BE(p);
        sets.push(rec.subarray(p + 2, p + 2 + len));
        p += 2 + len;
      }
      const nPps = rec[p++]!;
      for (let i = 0; i < nPps; i++) {
        const len = rec.readUInt16BE(p);
        sets.push(rec.subarray(p + 2, p + 2 + len));
        p += 2 + len;
      }
      return { codec, lengthSize, parameterSets: sets.filter((s) => s.length > 0) };
    }
    if (rec.length < 23) return undefined;
    const lengthSize = (rec[21]! & 0x03) + 1;
    const nArrays = rec[22]!;
    let p = 23;
    for (let i = 0; i < nArrays; i++) {
      const nNalus = rec.readUInt16BE(p + 1);
      p += 3;
      for (let k = 0; k < nNalus; k++) {
        const len = rec.readUInt16BE(p);
        sets.push(rec.subarray(p + 2, p + 2 + len));
        p += 2 + len;
      }
    }
    return { codec, lengthSize, parameterSets: sets.filter((s) => s.length > 0) };
  } catch {
    return undefined; // truncated record
  }
}

function nalType(codec: VideoCodecName, nal: Buffer): number {
  return codec === 'h264' ? nal[0]! & 0x1f : (nal[0]! >> 1) & 0x3f;
}

/**
 * Length-prefixed NAL units → Annex B access unit: AUD first, the parameter sets before a
 * keyframe (unless the frame carries its own), the frame's NAL units (its own AUDs dropped).
 * Returns the parts to write (no copy of the NAL units).
 */
export function toAnnexB(frame: Buffer, config: VideoConfig, keyframe: boolean): Buffer[] {
  const { codec } = config;
  const nals: Buffer[] = [];
  let hasParams = false;
  let isIrap = false;
  let p = 0;
  const ls = config.lengthSize;
  while (p + ls <= frame.length) {
    const len = ls === 4 ? frame.readUInt32BE(p) : ls === 2 ? frame.readUInt16BE(p) : ls === 3 ? frame.readUIntBE(p, 3) : frame[p]!;
    p += ls;
    if (len === 0 || p + len > frame.length) break;
    const nal = frame.subarray(p, p + len);
    p += len;
    const t = nalType(codec, nal);
    if (codec === 'h264') {
      if (t === 9) continue;
      if (t === 7) hasParams = true;
      if (t === 5) isIrap = true;
    } else {
      if (t === 35) continue;
      if (t === 33) hasParams = true;
      if (t >= 16 && t <= 23) isIrap = true;
    }
    nals.push(nal);
  }
  const out: Buffer[] = [codec === 'h264' ? AUD_H264 : AUD_HEVC];
  if ((keyframe || isIrap) && !hasParams) {
    for (const s of config.parameterSets) out.push(START_CODE, s);
  }
  for (const n of nals) out.push(START_CODE, n);
  return out;
}

// ---------------------------------------------------------------- audio

export const AAC_SAMPLE_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

export interface AacConfig {
  objectType: number;
  frequencyIndex: number;
  channels: number;
  sampleRate: number;
}

/** AudioSpecificConfig (ISO 14496-3) → what an ADTS header needs. */
export function parseAacConfig(asc: Buffer): AacConfig | undefined {
  if (asc.length < 2) return undefined;
  const objectType = asc[0]! >> 3;
  const frequencyIndex = ((asc[0]! & 0x07) << 1) | (asc[1]! >> 7);
  const channels = (asc[1]! >> 3) & 0x0f;
  if (frequencyIndex > 12) return undefined; // explicit frequency: not in ADTS
  return { objectType, frequencyIndex, channels, sampleRate: AAC_SAMPLE_RATES[frequencyIndex]! };
}

/** 7-byte ADTS header (no CRC) for a raw AAC frame of `size` bytes. */
export function adtsHeader(cfg: AacConfig, size: number): Buffer {
  const len = size + 7;
  // ADTS profile is 2 bits (object type - 1): HE-AAC/PS streams signal their AAC-LC core
  const profile = cfg.objectType >= 1 && cfg.objectType <= 4 ? cfg.objectType - 1 : 1;
  const h = Buffer.allocUnsafe(7);
  h[0] = 0xff;
  h[1] = 0xf1; // MPEG-4, layer 0, no CRC
  h[2] = (profile << 6) | (cfg.frequencyIndex << 2) | ((cfg.channels >> 2) & 0x01);
  h[3] = ((cfg.channels & 0x03) << 6) | ((len >> 11) & 0x03);
  h[4] = (len >> 3) & 0xff;
  h[5] = ((len & 0x07) << 5) | 0x1f;
  h[6] = 0xfc;
  return h;
}

export interface AudioPacket {
  codec: 'aac' | 'mp3' | 'other';
  kind: 'config' | 'frame';
  data: Buffer;
  /** FLV sound rate for MP3 (44100 etc.), the ASC's rate comes from the config */
  flvRate: number;
}

const FLV_RATES = [5512, 11025, 22050, 44100];

export function parseAudioPayload(p: Buffer): AudioPacket | undefined {
  if (p.length < 2) return undefined;
  const format = p[0]! >> 4;
  const flvRate = FLV_RATES[(p[0]! >> 2) & 0x03]!;
  if (format === 10) return { codec: 'aac', kind: p[1] === 0 ? 'config' : 'frame', data: p.subarray(2), flvRate };
  if (format === 2 || format === 14) return { codec: 'mp3', kind: 'frame', data: p.subarray(1), flvRate };
  return { codec: 'other', kind: 'frame', data: p.subarray(1), flvRate };
}

/** Samples and sample rate of an MP3 frame header (for the audio timestamp guess). */
export function mp3FrameInfo(frame: Buffer): { samples: number; sampleRate: number } | undefined {
  if (frame.length < 4 || frame[0] !== 0xff || (frame[1]! & 0xe0) !== 0xe0) return undefined;
  const version = (frame[1]! >> 3) & 0x03; // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
  const layer = (frame[1]! >> 1) & 0x03; // 1: layer III
  const rateIdx = (frame[2]! >> 2) & 0x03;
  if (rateIdx === 3 || version === 1) return undefined;
  const base = [44100, 48000, 32000][rateIdx]!;
  const sampleRate = version === 3 ? base : version === 2 ? base / 2 : base / 4;
  const samples = layer === 3 ? 384 : layer === 1 && version !== 3 ? 576 : 1152;
  return { samples, sampleRate };
}
