/**
 * A progressive MP4 (ISO BMFF) writer for DVR: `ftyp` and a 64-bit `mdat` header first, the
 * samples appended as they come, then `moov` (sample tables) at the end and the mdat size
 * patched. H.264/HEVC (avcC/hvcC from the FLV sequence header) and AAC/MP3. Pure: it returns
 * the bytes to append and the one patch; the caller does the I/O. Timescale 1000 (FLV ms).
 */
import { parseAudioPayload, parseVideoPayload, type VideoCodecName } from '../mpegts/codec.js';

interface Track {
  kind: 'video' | 'audio';
  dts: number[];
  cts: number[];
  sizes: number[];
  offsets: number[];
  keys: number[]; // 1-based sample numbers of keyframes
}

function box(type: string, ...parts: Buffer[]): Buffer {
  let size = 8;
  for (const p of parts) size += p.length;
  const h = Buffer.alloc(8);
  h.writeUInt32BE(size, 0);
  h.write(type, 4, 'latin1');
  return Buffer.concat([h, ...parts], size);
}

function fullBox(type: string, version: number, flags: number, ...parts: Buffer[]): Buffer {
  const vf = Buffer.alloc(4);
  vf.writeUInt32BE(((version & 0xff) << 24) | (flags & 0xffffff), 0);
  return box(type, vf, ...parts);
}

function u32s(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
  return b;
}

const MATRIX = u32s(0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000);

function descriptor(tag: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag, body.length]), body]);
}

export class Mp4Writer {
  private offset = 0;
  private mdatStart = 0;
  private readonly video: Track = { kind: 'video', dts: [], cts: [], sizes: [], offsets: [], keys: [] };
  private readonly audio: Track = { kind: 'audio', dts: [], cts: [], sizes: [], offsets: [], keys: [] };
  private videoCodec: VideoCodecName | undefined;
  private videoRecord: Buffer | undefined;
  private audioCodec: 'aac' | 'mp3' | undefined;
  private asc: Buffer | undefined;
  private sampleRate = 44100;
  private channels = 2;
  width = 0;
  height = 0;

  /** ftyp + the mdat header (64-bit size, patched at the end). */
  begin(): Buffer {
    const ftyp = box('ftyp', Buffer.from('isom', 'latin1'), u32s(512), Buffer.from('isomiso2avc1mp41', 'latin1'));
    const mdat = Buffer.alloc(16);
    mdat.writeUInt32BE(1, 0);
    mdat.write('mdat', 4, 'latin1');
    this.mdatStart = ftyp.length;
    this.offset = ftyp.length + mdat.length;
    return Buffer.concat([ftyp, mdat]);
  }

  /** A video payload (FLV/enhanced RTMP); returns the sample bytes to append, if any. */
  videoMessage(timestamp: number, payload: Buffer): Buffer | undefined {
    const v = parseVideoPayload(payload);
    if (!v) return undefined;
    if (v.kind === 'config') {
      if (!this.videoRecord) {
        this.videoCodec = v.codec;
        this.videoRecord = Buffer.from(v.data);
      }
      return undefined;
    }
    if (v.kind !== 'frame' || !this.videoRecord || v.codec !== this.videoCodec || v.data.length === 0) return undefined;
    const t = this.video;
    t.dts.push(timestamp);
    t.cts.push(Math.max(0, v.cts));
    t.sizes.push(v.data.length);
    t.offsets.push(this.offset);
    if (v.keyframe) t.keys.push(t.dts.length);
    this.offset += v.data.length;
    return v.data;
  }

  audioMessage(timestamp: number, payload: Buffer): Buffer | undefined {
    const a = parseAudioPayload(payload);
    if (!a || a.codec === 'other') return undefined;
    if (a.kind === 'config') {
      if (!this.asc && a.data.length >= 2) {
        this.asc = Buffer.from(a.data);
        this.audioCodec = 'aac';
        const idx = ((a.data[0]! & 0x07) << 1) | (a.data[1]! >> 7);
        this.sampleRate = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350][idx] ?? 44100;
        this.channels = (a.data[1]! >> 3) & 0x0f || 2;
      }
      return undefined;
    }
    if (a.codec === 'aac' && !this.asc) return undefined;
    if (!this.audioCodec) {
      this.audioCodec = a.codec;
      this.sampleRate = a.flvRate;
      this.channels = payload[0]! & 1 ? 2 : 1;
    }
    if (a.codec !== this.audioCodec || a.data.length === 0) return undefined;
    const t = this.audio;
    t.dts.push(timestamp);
    t.cts.push(0);
    t.sizes.push(a.data.length);
    t.offsets.push(this.offset);
    this.offset += a.data.length;
    return a.data;
  }

  get bytesWritten(): number {
    return this.offset;
  }

  /** The moov to append and the mdat size patch (8 bytes at `patch.position`). */
  finish(): { moov: Buffer; patch: { position: number; bytes: Buffer } } {
    const tracks: Buffer[] = [];
    let trackId = 1;
    let movieDuration = 0;
    const start = Math.min(this.video.dts[0] ?? Infinity, this.audio.dts[0] ?? Infinity);
    for (const t of [this.video, this.audio]) {
      if (t.dts.length === 0) continue;
      const trak = this.trak(t, trackId++, Number.isFinite(start) ? start : 0);
      tracks.push(trak.box);
      movieDuration = Math.max(movieDuration, trak.duration);
    }
    const mvhd = fullBox('mvhd', 0, 0, u32s(0, 0, 1000, movieDuration, 0x00010000), Buffer.from([0x01, 0x00, 0, 0]), Buffer.alloc(8), MATRIX, Buffer.alloc(24), u32s(trackId));
    const moov = box('moov', mvhd, ...tracks);
    const size = Buffer.alloc(8);
    size.writeBigUInt64BE(BigInt(this.offset - this.mdatStart));
    return { moov, patch: { position: this.mdatStart + 8, bytes: size } };
  }

  private trak(t: Track, id: number, start: number): { box: Buffer; duration: number } {
    const n = t.dts.length;
    const deltas: number[] = [];
    for (let i = 0; i < n; i++) {
      const d = i + 1 < n ? t.dts[i + 1]! - t.dts[i]! : (deltas[i - 1] ?? (t.kind === 'video' ? 40 : 23));
      deltas.push(Math.max(0, d));
    }
    const duration = deltas.reduce((a, b) => a + b, 0);
    const video = t.kind === 'video';
    // an edit list shifts a track that starts after the other one
    const offsetMs = t.dts[0]! - start;
    const edts =
      offsetMs > 0
        ? box('edts', fullBox('elst', 0, 0, u32s(2, offsetMs, 0xffffffff, 0x00010000, duration, 0, 0x00010000)))
        : box('edts', fullBox('elst', 0, 0, u32s(1, duration, 0, 0x00010000)));
    const tkhd = fullBox(
      'tkhd', 0, 3,
      u32s(0, 0, id, 0, duration + Math.max(0, offsetMs)), Buffer.alloc(8),
      Buffer.from([0, 0, 0, 0, video ? 0 : 0x01, 0, 0, 0]), MATRIX,
      u32s(video ? this.width * 65536 : 0, video ? this.height * 65536 : 0),
    );
    const mdhd = fullBox('mdhd', 0, 0, u32s(0, 0, 1000, duration), Buffer.from([0x55, 0xc4, 0, 0]));
    const hdlr = fullBox('hdlr', 0, 0, u32s(0), Buffer.from(video ? 'vide' : 'soun', 'latin1'), Buffer.alloc(12), Buffer.from(video ? 'VideoHandler\0' : 'SoundHandler\0', 'latin1'));
    const mhd = video ? fullBox('vmhd', 0, 1, Buffer.alloc(8)) : fullBox('smhd', 0, 0, Buffer.alloc(4));
    const dinf = box('dinf', fullBox('dref', 0, 0, u32s(1), fullBox('url ', 0, 1)));
    const stbl = box('stbl', fullBox('stsd', 0, 0, u32s(1), video ? this.videoEntry() : this.audioEntry()), ...this.tables(t, deltas));
    const minf = box('minf', mhd, dinf, stbl);
    return { box: box('trak', tkhd, edts, box('mdia', mdhd, hdlr, minf)), duration: duration + Math.max(0, offsetMs) };
  }

  private tables(t: Track, deltas: number[]): Buffer[] {
    const runs = (values: number[]): Array<[number, number]> => {
      const out: Array<[number, number]> = [];
      for (const v of values) {
        const last = out.at(-1);
        if (last && last[1] === v) last[0]++;
        else out.push([1, v]);
      }
      return out;
    };
    const stts = runs(deltas);
    const out = [fullBox('stts', 0, 0, u32s(stts.length, ...stts.flat()))];
    if (t.kind === 'video' && t.cts.some((c) => c !== 0)) {
      const ctts = runs(t.cts);
      out.push(fullBox('ctts', 0, 0, u32s(ctts.length, ...ctts.flat())));
    }
    if (t.kind === 'video') out.push(fullBox('stss', 0, 0, u32s(t.keys.length, ...t.keys)));
    out.push(fullBox('stsc', 0, 0, u32s(1, 1, 1, 1)));
    out.push(fullBox('stsz', 0, 0, u32s(0, t.sizes.length, ...t.sizes)));
    if (t.offsets.some((o) => o > 0xffffffff)) {
      const b = Buffer.alloc(4 + t.offsets.length * 8);
      b.writeUInt32BE(t.offsets.length, 0);
      t.offsets.forEach((o, i) => b.writeBigUInt64BE(BigInt(o), 4 + i * 8));
      out.push(fullBox('co64', 0, 0, b));
    } else out.push(fullBox('stco', 0, 0, u32s(t.offsets.length, ...t.offsets)));
    return out;
  }

  private videoEntry(): Buffer {
    const b = Buffer.alloc(78);
    b.writeUInt16BE(1, 6); // data_reference_index
    b.writeUInt16BE(this.width, 24);
    b.writeUInt16BE(this.height, 26);
    b.writeUInt32BE(0x00480000, 28);
    b.writeUInt32BE(0x00480000, 32);
    b.writeUInt16BE(1, 40); // frame_count
    b.writeUInt16BE(0x0018, 74);
    b.writeInt16BE(-1, 76);
    const hevc = this.videoCodec === 'hevc';
    return box(hevc ? 'hvc1' : 'avc1', b, box(hevc ? 'hvcC' : 'avcC', this.videoRecord!));
  }

  private audioEntry(): Buffer {
    const b = Buffer.alloc(28);
    b.writeUInt16BE(1, 6);
    b.writeUInt16BE(this.channels, 16);
    b.writeUInt16BE(16, 18);
    b.writeUInt32BE((this.sampleRate < 65536 ? this.sampleRate : 0) * 65536, 24);
    const aac = this.audioCodec === 'aac';
    const dcd = Buffer.concat([Buffer.from([aac ? 0x40 : 0x6b, 0x15, 0, 0, 0]), u32s(0, 0), aac ? descriptor(5, this.asc!) : Buffer.alloc(0)]);
    const es = descriptor(3, Buffer.concat([Buffer.from([0, 0, 0]), descriptor(4, dcd), descriptor(6, Buffer.from([2]))]));
    return box('mp4a', b, fullBox('esds', 0, 0, es));
  }
}
