/**
 * MPEG-2 transport stream packets (ISO/IEC 13818-1): PAT, PMT, PES with PTS/DTS and PCR,
 * one continuity counter per PID. Pure: bytes in, bytes out, no I/O.
 */

export const TS_PACKET_SIZE = 188;
export const SYNC_BYTE = 0x47;
export const PAT_PID = 0x0000;
export const PMT_PID = 0x1001;
export const VIDEO_PID = 0x0100;
export const AUDIO_PID = 0x0101;
const PROGRAM_NUMBER = 1;
const TRANSPORT_STREAM_ID = 1;

/** stream_type values of the PMT. */
export const StreamType = { H264: 0x1b, HEVC: 0x24, AAC: 0x0f, MP3: 0x03 } as const;
export type VideoStreamType = typeof StreamType.H264 | typeof StreamType.HEVC;
export type AudioStreamType = typeof StreamType.AAC | typeof StreamType.MP3;

/** 90 kHz timestamps wrap at 33 bits. */
const WRAP_33 = 2 ** 33;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32/MPEG-2 (poly 0x04C11DB7, init 0xFFFFFFFF, not reflected, no final xor). */
export function crc32Mpeg(buf: Uint8Array, start = 0, end = buf.length): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ buf[i]!) & 0xff]!) >>> 0;
  return crc >>> 0;
}

export interface TsTracks {
  video?: VideoStreamType;
  audio?: AudioStreamType;
}

/**
 * Writes TS packets for one program with (at most) one video and one audio track.
 * The continuity counters live here, so one writer must produce one continuous stream.
 */
export class TsWriter {
  private readonly cc = new Map<number, number>();
  tracks: TsTracks;

  constructor(tracks: TsTracks) {
    this.tracks = { ...tracks };
  }

  /** The PID carrying the PCR: video when there is video, else audio. */
  get pcrPid(): number {
    return this.tracks.video !== undefined ? VIDEO_PID : AUDIO_PID;
  }

  private nextCc(pid: number): number {
    const v = ((this.cc.get(pid) ?? -1) + 1) & 0x0f;
    this.cc.set(pid, v);
    return v;
  }

  /** Continuity counter last used on `pid` (undefined before the first packet). */
  lastCc(pid: number): number | undefined {
    return this.cc.get(pid);
  }

  /** PAT then PMT, one packet each. */
  tables(): Buffer {
    return Buffer.concat([this.psi(PAT_PID, this.patSection()), this.psi(PMT_PID, this.pmtSection())]);
  }

  private patSection(): Buffer {
    const s = Buffer.alloc(16);
    s[0] = 0x00; // table_id
    s.writeUInt16BE(0xb000 | 13, 1); // section_syntax_indicator, '0', reserved, section_length
    s.writeUInt16BE(TRANSPORT_STREAM_ID, 3);
    s[5] = 0xc1; // reserved, version 0, current_next 1
    s[6] = 0;
    s[7] = 0;
    s.writeUInt16BE(PROGRAM_NUMBER, 8);
    s.writeUInt16BE(0xe000 | PMT_PID, 10);
    s.writeUInt32BE(crc32Mpeg(s, 0, 12), 12);
    return s;
  }

  private pmtSection(): Buffer {
    const streams: Array<[number, number]> = [];
    if (this.tracks.video !== undefined) streams.push([this.tracks.video, VIDEO_PID]);
    if (this.tracks.audio !== undefined) streams.push([this.tracks.audio, AUDIO_PID]);
    const sectionLength = 9 + streams.length * 5 + 4;
    const s = Buffer.alloc(3 + sectionLength);
    s[0] = 0x02;
    s.writeUInt16BE(0xb000 | sectionLength, 1);
    s.writeUInt16BE(PROGRAM_NUMBER, 3);
    s[5] = 0xc1;
    s[6] = 0;
    s[7] = 0;
    s.writeUInt16BE(0xe000 | this.pcrPid, 8);
    s.writeUInt16BE(0xf000, 10); // program_info_length 0
    let p = 12;
    for (const [type, pid] of streams) {
      s[p] = type;
      s.writeUInt16BE(0xe000 | pid, p + 1);
      s.writeUInt16BE(0xf000, p + 3);
      p += 5;
    }
    s.writeUInt32BE(crc32Mpeg(s, 0, p), p);
    return s;
  }

  private psi(pid: number, section: Buffer): Buffer {
    const pkt = Buffer.alloc(TS_PACKET_SIZE, 0xff);
    pkt[0] = SYNC_BYTE;
    pkt[1] = 0x40 | (pid >> 8); // payload_unit_start_indicator
    pkt[2] = pid & 0xff;
    pkt[3] = 0x10 | this.nextCc(pid); // payload only
    pkt[4] = 0; // pointer_field
    section.copy(pkt, 5);
    return pkt;
  }

  /**
   * One PES packet for `data` split into TS packets. Times are 90 kHz; `pcr` (90 kHz base)
   * goes into the first packet's adaptation field, with random_access_indicator when `keyframe`.
   */
  pes(pid: number, streamId: number, pts: number, dts: number, data: Buffer | Buffer[], pcr?: number, keyframe = false): Buffer {
    const parts = Array.isArray(data) ? data : [data];
    let dataLen = 0;
    for (const p of parts) dataLen += p.length;
    pts = ((pts % WRAP_33) + WRAP_33) % WRAP_33;
    dts = ((dts % WRAP_33) + WRAP_33) % WRAP_33;
    const withDts = dts !== pts;
    const headerDataLen = withDts ? 10 : 5;
    const pesHeaderLen = 9 + headerDataLen;
    const pesLen = 3 + headerDataLen + dataLen;
    const header = Buffer.alloc(pesHeaderLen);
    header[0] = 0;
    header[1] = 0;
    header[2] = 1;
    header[3] = streamId;
    // video PES may exceed 65535 bytes: length 0 (unbounded) is allowed for video only
    header.writeUInt16BE(pesLen > 0xffff || (streamId & 0xf0) === 0xe0 ? 0 : pesLen, 4);
    header[6] = 0x80; // '10', no scrambling, no priority/alignment/copyright/original
    header[7] = withDts ? 0xc0 : 0x80;
    header[8] = headerDataLen;
    writeTimestamp(header, 9, withDts ? 0x3 : 0x2, pts);
    if (withDts) writeTimestamp(header, 14, 0x1, dts);

    // one contiguous view of header + payload
    const payload = Buffer.concat([header, ...parts], pesHeaderLen + dataLen);
    // one allocation for every packet of this PES
    const firstHeader = 4 + (pcr !== undefined ? 8 : keyframe ? 2 : 0);
    const count = 1 + Math.ceil(Math.max(0, payload.length - (TS_PACKET_SIZE - firstHeader)) / (TS_PACKET_SIZE - 4));
    const out = Buffer.allocUnsafe(count * TS_PACKET_SIZE);
    let n = 0;
    let pos = 0;
    let first = true;
    while (pos < payload.length) {
      const pkt = out.subarray(n * TS_PACKET_SIZE, (n + 1) * TS_PACKET_SIZE);
      n++;
      pkt[0] = SYNC_BYTE;
      pkt[1] = (first ? 0x40 : 0) | (pid >> 8);
      pkt[2] = pid & 0xff;
      // adaptation field: PCR (first packet) and/or stuffing (last packet)
      let afLen = -1; // -1: no adaptation field; else adaptation_field_length value
      let afFlags = 0;
      let afBody = 0; // bytes after the flags byte
      if (first && pcr !== undefined) {
        afFlags = 0x10 | (keyframe ? 0x40 : 0);
        afBody = 6;
        afLen = 1 + afBody;
      } else if (first && keyframe) {
        afFlags = 0x40;
        afLen = 1;
      }
      const headerSize = 4 + (afLen >= 0 ? 1 + afLen : 0);
      const remaining = payload.length - pos;
      let room = TS_PACKET_SIZE - headerSize;
      if (remaining < room) {
        // stuff the adaptation field so the payload ends the packet
        const stuffing = room - remaining;
        if (afLen < 0) {
          // need an adaptation field: 1 byte (length 0) or 2+ bytes (length, flags, 0xff...)
          afLen = stuffing - 1;
          afFlags = 0;
        } else afLen += stuffing;
        room = remaining;
      }
      pkt[3] = (afLen >= 0 ? 0x30 : 0x10) | this.nextCc(pid);
      let p = 4;
      if (afLen >= 0) {
        pkt[p++] = afLen;
        if (afLen > 0) {
          pkt[p++] = afFlags;
          if (afFlags & 0x10) {
            const base = ((pcr ?? 0) % WRAP_33 + WRAP_33) % WRAP_33;
            // 33-bit base, 6 reserved bits, 9-bit extension (0)
            pkt[p++] = Math.floor(base / 2 ** 25) & 0xff;
            pkt[p++] = Math.floor(base / 2 ** 17) & 0xff;
            pkt[p++] = Math.floor(base / 2 ** 9) & 0xff;
            pkt[p++] = Math.floor(base / 2) & 0xff;
            pkt[p++] = ((base & 1) << 7) | 0x7e;
            pkt[p++] = 0;
          }
          const afEnd = 5 + afLen;
          if (p < afEnd) pkt.fill(0xff, p, afEnd);
          p = afEnd;
        }
      }
      payload.copy(pkt, p, pos, pos + room);
      pos += room;
      first = false;
    }
    return n === count ? out : out.subarray(0, n * TS_PACKET_SIZE);
  }
}

/** 5-byte PTS/DTS field: 4-bit prefix, 33 bits with marker bits. */
function writeTimestamp(b: Buffer, pos: number, prefix: number, ts: number): void {
  const hi = Math.floor(ts / 2 ** 30) & 0x07;
  const mid = Math.floor(ts / 2 ** 15) & 0x7fff;
  const lo = ts & 0x7fff;
  b[pos] = (prefix << 4) | (hi << 1) | 1;
  b.writeUInt16BE((mid << 1) | 1, pos + 1);
  b.writeUInt16BE((lo << 1) | 1, pos + 3);
}
