/**
 * Ogg pages (RFC 3533) carrying Opus (RFC 7845), as ffmpeg's `-f ogg` writes them on a pipe:
 * the reader returns the Opus packets after the OpusHead and OpusTags headers.
 */

export interface OpusHead {
  channels: number;
  preSkip: number;
  inputSampleRate: number;
}

/**
 * Splits an Ogg byte stream (arbitrary chunks) into packets of its first logical stream;
 * `onPacket` gets each audio packet, `onHead` the OpusHead. Bytes that are not a page are skipped
 * until the next "OggS".
 */
export class OggOpusReader {
  private pending: Buffer = Buffer.alloc(0);
  private partial: Buffer[] = [];
  private packetsSeen = 0;
  private serial: number | undefined;
  head: OpusHead | undefined;
  /** bytes skipped looking for a page */
  skipped = 0;

  constructor(
    private readonly onPacket: (packet: Buffer) => void,
    private readonly onHead?: (head: OpusHead) => void,
  ) {}

  push(chunk: Buffer): void {
    const buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    let pos = 0;
    while (buf.length - pos >= 27) {
      if (buf[pos] !== 0x4f || buf[pos + 1] !== 0x67 || buf[pos + 2] !== 0x67 || buf[pos + 3] !== 0x53 || buf[pos + 4] !== 0) {
        const next = buf.indexOf('OggS', pos + 1);
        const to = next < 0 ? buf.length - 3 : next;
        this.skipped += to - pos;
        pos = to;
        continue;
      }
      const segments = buf[pos + 26]!;
      if (buf.length - pos < 27 + segments) break;
      let bodySize = 0;
      for (let i = 0; i < segments; i++) bodySize += buf[pos + 27 + i]!;
      const total = 27 + segments + bodySize;
      if (buf.length - pos < total) break;
      this.page(buf, pos, segments);
      pos += total;
    }
    this.pending = pos >= buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(pos));
  }

  private page(buf: Buffer, pos: number, segments: number): void {
    const headerType = buf[pos + 5]!;
    const serial = buf.readUInt32LE(pos + 14);
    this.serial ??= serial;
    if (serial !== this.serial) return; // a second logical stream: not ours
    if (!(headerType & 1)) this.partial = []; // not a continuation: drop a stale fragment
    let body = pos + 27 + segments;
    let start = body;
    for (let i = 0; i < segments; i++) {
      const lace = buf[pos + 27 + i]!;
      body += lace;
      if (lace < 255) {
        const piece = buf.subarray(start, body);
        const packet = this.partial.length > 0 ? Buffer.concat([...this.partial, piece]) : Buffer.from(piece);
        this.partial = [];
        this.packet(packet);
        start = body;
      }
    }
    if (start < body) this.partial.push(Buffer.from(buf.subarray(start, body))); // continues on the next page
  }

  private packet(p: Buffer): void {
    const n = this.packetsSeen++;
    if (n === 0 && p.length >= 19 && p.toString('latin1', 0, 8) === 'OpusHead') {
      this.head = { channels: p[9]!, preSkip: p.readUInt16LE(10), inputSampleRate: p.readUInt32LE(12) };
      this.onHead?.(this.head);
      return;
    }
    if (n === 1 && p.toString('latin1', 0, 8) === 'OpusTags') return;
    if (p.length === 0) return;
    this.onPacket(p);
  }
}

/** Samples (at 48 kHz) in an Opus packet, from its TOC byte (RFC 6716 §3.1); 0 when malformed. */
export function opusPacketSamples(p: Buffer): number {
  if (p.length < 1) return 0;
  const config = p[0]! >> 3;
  let frame: number;
  if (config < 12) frame = [480, 960, 1920, 2880][config & 3]!; // SILK: 10/20/40/60 ms
  else if (config < 16) frame = [480, 960][config & 1]!; // hybrid: 10/20 ms
  else frame = [120, 240, 480, 960][config & 3]!; // CELT: 2.5/5/10/20 ms
  const code = p[0]! & 3;
  let frames: number;
  if (code === 0) frames = 1;
  else if (code === 1 || code === 2) frames = 2;
  else {
    if (p.length < 2) return 0;
    frames = p[1]! & 0x3f;
  }
  return frame * frames;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let k = 0; k < 8; k++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();

function oggCrc(b: Buffer): number {
  let crc = 0;
  for (let i = 0; i < b.length; i++) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ b[i]!) & 0xff]!) >>> 0;
  return crc;
}

/**
 * Writes Opus packets as an Ogg stream (one page per packet; the headers first), the framing
 * ffmpeg reads on a pipe.
 */
export class OggOpusWriter {
  private sequence = 0;
  private granule = 0n;
  private readonly serial = (Math.random() * 0xffffffff) >>> 0;

  /** The OpusHead and OpusTags pages (write them first). */
  headers(channels: number): Buffer {
    const head = Buffer.alloc(19);
    head.write('OpusHead', 0, 'latin1');
    head[8] = 1;
    head[9] = channels;
    head.writeUInt16LE(0, 10); // pre-skip: the RTP stream has none to announce
    head.writeUInt32LE(48000, 12);
    const vendor = 'srsx';
    const tags = Buffer.alloc(8 + 4 + vendor.length + 4);
    tags.write('OpusTags', 0, 'latin1');
    tags.writeUInt32LE(vendor.length, 8);
    tags.write(vendor, 12, 'latin1');
    return Buffer.concat([this.page(head, 2, 0n), this.page(tags, 0, 0n)]);
  }

  /** One audio packet of `samples` samples (48 kHz) as a page. */
  packet(p: Buffer, samples: number): Buffer {
    this.granule += BigInt(samples);
    return this.page(p, 0, this.granule);
  }

  private page(body: Buffer, headerType: number, granule: bigint): Buffer {
    const segments = Math.floor(body.length / 255) + 1;
    if (segments > 255) throw new RangeError(`Ogg page: packet of ${body.length} bytes is too large`);
    const out = Buffer.alloc(27 + segments + body.length);
    out.write('OggS', 0, 'latin1');
    out[4] = 0;
    out[5] = headerType;
    out.writeBigUInt64LE(granule, 6);
    out.writeUInt32LE(this.serial, 14);
    out.writeUInt32LE(this.sequence++, 18);
    out[26] = segments;
    for (let i = 0; i < segments - 1; i++) out[27 + i] = 255;
    out[27 + segments - 1] = body.length % 255;
    body.copy(out, 27 + segments);
    out.writeUInt32LE(oggCrc(out), 22);
    return out;
  }
}
