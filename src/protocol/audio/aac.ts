/**
 * AAC framing: the AudioSpecificConfig of the FLV/RTMP AAC sequence header (ISO/IEC 14496-3
 * §1.6.2.1) and ADTS headers (§1.A.2), which ffmpeg reads and writes on a pipe.
 */
import { ProtocolError } from '../errors.js';

export const AAC_SAMPLE_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350] as const;

export interface AacConfig {
  /** audio object type (2 = AAC LC) */
  objectType: number;
  sampleRateIndex: number;
  sampleRate: number;
  channels: number;
}

/** Parses the first two bytes of an AudioSpecificConfig (no explicit-rate or extension forms). */
export function parseAudioSpecificConfig(asc: Buffer): AacConfig {
  if (asc.length < 2) throw new ProtocolError(`AAC sequence header: ${asc.length} bytes, need 2`);
  const objectType = asc[0]! >> 3;
  const sampleRateIndex = ((asc[0]! & 7) << 1) | (asc[1]! >> 7);
  const channels = (asc[1]! >> 3) & 0x0f;
  const sampleRate = AAC_SAMPLE_RATES[sampleRateIndex];
  if (objectType === 0 || objectType === 31 || sampleRate === undefined) throw new ProtocolError(`AAC sequence header: object type ${objectType}, rate index ${sampleRateIndex} not supported`);
  return { objectType, sampleRateIndex, sampleRate, channels };
}

/** A two-byte AudioSpecificConfig. */
export function buildAudioSpecificConfig(c: Pick<AacConfig, 'objectType' | 'sampleRateIndex' | 'channels'>): Buffer {
  return Buffer.from([(c.objectType << 3) | (c.sampleRateIndex >> 1), ((c.sampleRateIndex & 1) << 7) | (c.channels << 3)]);
}

export const ADTS_HEADER_SIZE = 7;

/** Writes a 7-byte ADTS header (no CRC) for a raw AAC frame of `payloadLength` bytes. */
export function writeAdtsHeader(out: Buffer, pos: number, c: AacConfig, payloadLength: number): void {
  const len = payloadLength + ADTS_HEADER_SIZE;
  out[pos] = 0xff;
  out[pos + 1] = 0xf1; // MPEG-4, layer 0, no CRC
  out[pos + 2] = (((c.objectType - 1) & 3) << 6) | (c.sampleRateIndex << 2) | ((c.channels >> 2) & 1);
  out[pos + 3] = ((c.channels & 3) << 6) | ((len >> 11) & 3);
  out[pos + 4] = (len >> 3) & 0xff;
  out[pos + 5] = ((len & 7) << 5) | 0x1f;
  out[pos + 6] = 0xfc;
}

/** One raw AAC frame as an ADTS frame (one allocation). */
export function toAdts(c: AacConfig, raw: Buffer): Buffer {
  const out = Buffer.allocUnsafe(ADTS_HEADER_SIZE + raw.length);
  writeAdtsHeader(out, 0, c, raw.length);
  raw.copy(out, ADTS_HEADER_SIZE);
  return out;
}

export interface AdtsFrame {
  config: AacConfig;
  /** the raw AAC frame (no header) */
  raw: Buffer;
}

/**
 * Splits an ADTS byte stream (as it comes off a pipe, in arbitrary chunks) into frames. Bytes
 * that do not start a frame are skipped until the next sync word.
 */
export class AdtsReader {
  private pending: Buffer = Buffer.alloc(0);
  /** bytes skipped looking for a sync word */
  skipped = 0;

  constructor(private readonly onFrame: (frame: AdtsFrame) => void) {}

  push(chunk: Buffer): void {
    const buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    let pos = 0;
    while (buf.length - pos >= ADTS_HEADER_SIZE) {
      if (buf[pos] !== 0xff || (buf[pos + 1]! & 0xf6) !== 0xf0) {
        pos++;
        this.skipped++;
        continue;
      }
      const protectionAbsent = buf[pos + 1]! & 1;
      const headerSize = protectionAbsent ? 7 : 9;
      const len = ((buf[pos + 3]! & 3) << 11) | (buf[pos + 4]! << 3) | (buf[pos + 5]! >> 5);
      const objectType = (buf[pos + 2]! >> 6) + 1;
      const sampleRateIndex = (buf[pos + 2]! >> 2) & 0x0f;
      const channels = ((buf[pos + 2]! & 1) << 2) | (buf[pos + 3]! >> 6);
      const sampleRate = AAC_SAMPLE_RATES[sampleRateIndex];
      if (len < headerSize || sampleRate === undefined) {
        pos++;
        this.skipped++;
        continue;
      }
      if (buf.length - pos < len) break;
      this.onFrame({ config: { objectType, sampleRateIndex, sampleRate, channels }, raw: buf.subarray(pos + headerSize, pos + len) });
      pos += len;
    }
    this.pending = pos >= buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(pos));
  }
}
