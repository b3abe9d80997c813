import { ProtocolError } from '../protocol/errors.js';
import { MessageType } from '../protocol/rtmp/message.js';

/** Per chunk stream header state (what the skimmer needs to follow message boundaries). */
interface Stream {
  timestamp: number;
  delta: number;
  length: number;
  type: number;
  extended: boolean;
  extendedValue: number;
  received: number;
  inMessage: boolean;
}

/** Control messages whose (tiny) payloads the skimmer keeps: set chunk size, user control, window ack size. */
function keepsPayload(type: number): boolean {
  return type === MessageType.SetChunkSize || type === MessageType.UserControl || type === MessageType.WindowAckSize;
}

export interface SkimEvents {
  /** a message starts: type, absolute timestamp and length (its payload is not kept) */
  onMessage(type: number, timestamp: number, length: number): void;
  /** a kept control message, complete */
  onControl(type: number, payload: Buffer): void;
}

/**
 * An RTMP chunk stream walker for the load tool: it follows chunk headers and message
 * boundaries exactly like ChunkReader, but skips payload bytes instead of copying them, so a
 * player costs no allocation per message. Only tiny control payloads are kept.
 */
export class ChunkSkimmer {
  chunkSize = 128;
  private readonly streams = new Map<number, Stream>();
  private readonly header = Buffer.allocUnsafe(18);
  private headerLen = 0;
  private current: Stream | null = null;
  private chunkRemaining = 0;
  private control = Buffer.allocUnsafe(16);
  private controlLen = 0;

  constructor(private readonly events: SkimEvents) {}

  push(data: Buffer): void {
    let pos = 0;
    const end = data.length;
    while (pos < end) {
      if (this.current !== null) {
        const cs = this.current;
        const n = Math.min(this.chunkRemaining, end - pos);
        if (keepsPayload(cs.type) && this.controlLen < this.control.length) {
          const k = Math.min(n, this.control.length - this.controlLen);
          data.copy(this.control, this.controlLen, pos, pos + k);
          this.controlLen += k;
        }
        pos += n;
        cs.received += n;
        this.chunkRemaining -= n;
        if (this.chunkRemaining === 0) {
          this.current = null;
          if (cs.received >= cs.length) this.finish(cs);
        }
        continue;
      }
      if (this.headerLen > 0) {
        const take = Math.min(18 - this.headerLen, end - pos);
        data.copy(this.header, this.headerLen, pos, pos + take);
        const avail = this.headerLen + take;
        const used = this.parse(this.header, 0, avail);
        if (used < 0) {
          this.headerLen = avail;
          return;
        }
        pos += used - this.headerLen;
        this.headerLen = 0;
        continue;
      }
      const used = this.parse(data, pos, end);
      if (used < 0) {
        data.copy(this.header, 0, pos, end);
        this.headerLen = end - pos;
        return;
      }
      pos += used;
    }
  }

  private finish(cs: Stream): void {
    cs.inMessage = false;
    if (keepsPayload(cs.type)) {
      const payload = this.control.subarray(0, Math.min(this.controlLen, cs.length));
      if (cs.type === MessageType.SetChunkSize && payload.length >= 4) {
        const size = payload.readUInt32BE(0) & 0x7fffffff;
        if (size < 1) throw new ProtocolError('chunk size 0');
        this.chunkSize = size;
      }
      this.events.onControl(cs.type, payload);
    }
  }

  private parse(buf: Buffer, pos: number, end: number): number {
    const start = pos;
    const b0 = buf[pos++]!;
    const fmt = b0 >> 6;
    let csid = b0 & 0x3f;
    if (csid === 0) {
      if (pos + 1 > end) return -1;
      csid = 64 + buf[pos++]!;
    } else if (csid === 1) {
      if (pos + 2 > end) return -1;
      csid = 64 + buf[pos]! + buf[pos + 1]! * 256;
      pos += 2;
    }
    const size = fmt === 0 ? 11 : fmt === 1 ? 7 : fmt === 2 ? 3 : 0;
    if (pos + size > end) return -1;
    let cs = this.streams.get(csid);
    if (!cs) {
      if (fmt > 1) throw new ProtocolError(`chunk stream ${csid} starts with fmt ${fmt}`);
      cs = { timestamp: 0, delta: 0, length: 0, type: 0, extended: false, extendedValue: 0, received: 0, inMessage: false };
      this.streams.set(csid, cs);
    }
    let ts = 0;
    if (fmt <= 2) {
      ts = (buf[pos]! << 16) | (buf[pos + 1]! << 8) | buf[pos + 2]!;
      if (fmt <= 1) {
        cs.length = (buf[pos + 3]! << 16) | (buf[pos + 4]! << 8) | buf[pos + 5]!;
        cs.type = buf[pos + 6]!;
      }
      pos += size;
      cs.extended = ts === 0xffffff;
    }
    if (cs.extended) {
      if (pos + 4 > end) return -1;
      const ext = buf.readUInt32BE(pos);
      if (!(fmt === 3 && cs.inMessage && ext !== cs.extendedValue)) {
        pos += 4;
        if (fmt <= 2) ts = ext;
        cs.extendedValue = ext;
      }
    }
    if (!cs.inMessage) {
      if (fmt === 0) cs.timestamp = ts;
      else if (fmt <= 2) cs.timestamp = (cs.timestamp + ts) >>> 0;
      else cs.timestamp = (cs.timestamp + (cs.extended ? cs.extendedValue : cs.delta)) >>> 0;
      if (fmt <= 2) cs.delta = ts;
      cs.received = 0;
      cs.inMessage = true;
      this.controlLen = 0;
      this.events.onMessage(cs.type, cs.timestamp, cs.length);
      if (cs.length === 0) {
        this.finish(cs);
        return pos - start;
      }
    }
    this.current = cs;
    this.chunkRemaining = Math.min(this.chunkSize, cs.length - cs.received);
    return pos - start;
  }
}
