import { ProtocolError } from '../errors.js';
import { MessageType, type RtmpMessage } from './message.js';

export interface ChunkReaderLimits {
  /** largest message accepted, in bytes (default 16 MiB) */
  maxMessageSize?: number;
  /** chunk streams with a partial message at once (default 64) */
  maxPartialStreams?: number;
  /**
   * bytes of all partial messages together (their declared lengths, default maxMessageSize +
   * 4 MiB): one largest message plus small ones interleaved, never 64 of the largest
   */
  maxPartialBytes?: number;
  /** distinct chunk stream ids a peer may use (default 256; each one keeps a little state) */
  maxChunkStreams?: number;
}

/**
 * Skip mode, for a client that only needs to follow a stream (the load tool): messages whose
 * type `skip` accepts are not copied at all; `onSkipped` gets their type, timestamp and length
 * as they start, and `onMessage` never sees them. Other messages are delivered as usual.
 */
export interface ChunkReaderSkip {
  skip(type: number): boolean;
  onSkipped(type: number, timestamp: number, length: number): void;
}

/** Per chunk stream state: the last header seen and the message being reassembled. */
interface ChunkStream {
  timestamp: number; // absolute timestamp of the current/last message
  delta: number; // last timestamp field (delta for fmt1/2, absolute for fmt0)
  length: number;
  type: number;
  streamId: number;
  extended: boolean; // last header carried an extended timestamp
  extendedValue: number;
  payload: Buffer | null; // message being reassembled
  skipping: boolean; // inside a message whose payload is skipped (skip mode)
  received: number;
}

const MAX_HEADER = 3 + 11 + 4; // basic + message header + extended timestamp
const DEFAULT_CHUNK_SIZE = 128;
const MAX_CHUNK_SIZE = 0xffffff;

/**
 * The RTMP chunk stream decoder. push() it bytes as they arrive; every complete message is
 * handed to `onMessage`. Set Chunk Size and Abort are applied here (and still delivered).
 *
 * Two states: reading a chunk header (bytes may be split: at most MAX_HEADER bytes are kept),
 * and copying a chunk's payload straight into the message buffer. A message costs one
 * allocation, its payload (none in skip mode); nothing is allocated per chunk.
 */
export class ChunkReader {
  chunkSize = DEFAULT_CHUNK_SIZE;
  /** bytes pushed so far (for acknowledgements) */
  bytesReceived = 0;

  private readonly streams = new Map<number, ChunkStream>();
  private readonly maxMessageSize: number;
  private readonly maxPartial: number;
  private readonly maxPartialBytes: number;
  private readonly maxStreams: number;
  private partialCount = 0;
  /** declared bytes of the messages being reassembled */
  private partialBytes = 0;
  private readonly headerBuf = Buffer.allocUnsafe(MAX_HEADER);
  private headerLen = 0;
  /** chunk stream whose payload is being copied, and how many bytes of this chunk remain */
  private current: ChunkStream | null = null;
  private chunkRemaining = 0;

  constructor(
    private readonly onMessage: (msg: RtmpMessage) => void,
    limits: ChunkReaderLimits = {},
    private readonly skipMode?: ChunkReaderSkip,
  ) {
    this.maxMessageSize = limits.maxMessageSize ?? 16 * 1024 * 1024;
    this.maxPartial = limits.maxPartialStreams ?? 64;
    this.maxPartialBytes = limits.maxPartialBytes ?? this.maxMessageSize + 4 * 1024 * 1024;
    this.maxStreams = limits.maxChunkStreams ?? 256;
  }

  push(data: Buffer): void {
    this.bytesReceived += data.length;
    let pos = 0;
    const end = data.length;
    while (pos < end) {
      if (this.current !== null) {
        pos = this.copyPayload(data, pos);
        continue;
      }
      // header state
      if (this.headerLen > 0) {
        // complete a split header from the saved bytes plus the new data
        const take = Math.min(MAX_HEADER - this.headerLen, end - pos);
        data.copy(this.headerBuf, this.headerLen, pos, pos + take);
        const avail = this.headerLen + take;
        const used = this.parseHeader(this.headerBuf, 0, avail);
        if (used < 0) {
          this.headerLen = avail;
          return;
        }
        pos += used - this.headerLen;
        this.headerLen = 0;
        continue;
      }
      const used = this.parseHeader(data, pos, end);
      if (used < 0) {
        data.copy(this.headerBuf, 0, pos, end);
        this.headerLen = end - pos;
        return;
      }
      pos += used;
    }
  }

  /** Parses one chunk header at buf[pos..end). Returns bytes used, or -1 if incomplete. */
  private parseHeader(buf: Buffer, pos: number, end: number): number {
    const start = pos;
    if (pos >= end) return -1;
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
    const headerSize = fmt === 0 ? 11 : fmt === 1 ? 7 : fmt === 2 ? 3 : 0;
    if (pos + headerSize > end) return -1;

    let cs = this.streams.get(csid);
    if (cs === undefined) {
      if (fmt !== 0 && fmt !== 1) throw new ProtocolError(`chunk stream ${csid} starts with fmt ${fmt} (needs a fmt 0 header first)`);
      if (this.streams.size >= this.maxStreams) throw new ProtocolError(`more than ${this.maxStreams} chunk stream ids on one connection`);
      cs = { timestamp: 0, delta: 0, length: 0, type: 0, streamId: 0, extended: false, extendedValue: 0, payload: null, skipping: false, received: 0 };
      this.streams.set(csid, cs);
    }
    const newMessage = cs.payload === null && !cs.skipping;
    if (fmt !== 0 && newMessage && cs.type === 0 && fmt !== 1) {
      throw new ProtocolError(`chunk stream ${csid}: fmt ${fmt} without a previous header`);
    }
    let tsField = 0;
    if (fmt <= 2) {
      tsField = (buf[pos]! << 16) | (buf[pos + 1]! << 8) | buf[pos + 2]!;
      if (fmt <= 1) {
        cs.length = (buf[pos + 3]! << 16) | (buf[pos + 4]! << 8) | buf[pos + 5]!;
        cs.type = buf[pos + 6]!;
        if (fmt === 0) cs.streamId = buf.readUInt32LE(pos + 7);
      }
      pos += headerSize;
      cs.extended = tsField === 0xffffff;
    }
    if (cs.extended) {
      if (pos + 4 > end) return -1;
      const ext = buf.readUInt32BE(pos);
      if (fmt === 3 && !newMessage && ext !== cs.extendedValue) {
        // some encoders omit the extended timestamp on continuation chunks: these 4 bytes are payload
      } else {
        pos += 4;
        if (fmt <= 2) tsField = ext;
        cs.extendedValue = ext;
      }
    }
    if (fmt <= 2 && !newMessage) {
      // a new message header in the middle of one: the old one is abandoned
      throw new ProtocolError(`chunk stream ${csid}: new header (fmt ${fmt}) before the previous message was complete`);
    }
    if (newMessage) {
      if (fmt === 0) {
        cs.timestamp = tsField;
        cs.delta = tsField;
      } else if (fmt === 1 || fmt === 2) {
        cs.delta = tsField;
        cs.timestamp = (cs.timestamp + tsField) >>> 0;
      } else {
        cs.timestamp = (cs.timestamp + (cs.extended ? cs.extendedValue : cs.delta)) >>> 0;
      }
      if (cs.length > this.maxMessageSize) {
        throw new ProtocolError(`message of ${cs.length} bytes on chunk stream ${csid} exceeds the ${this.maxMessageSize}-byte limit`);
      }
      if (this.skipMode !== undefined && this.skipMode.skip(cs.type)) {
        this.skipMode.onSkipped(cs.type, cs.timestamp, cs.length);
        if (cs.length === 0) return pos - start;
        cs.skipping = true;
        cs.received = 0;
      } else if (cs.length === 0) {
        this.deliver(csid, cs, Buffer.alloc(0));
        return pos - start;
      } else {
        if (this.partialCount >= this.maxPartial) throw new ProtocolError(`more than ${this.maxPartial} chunk streams with partial messages`);
        if (this.partialBytes + cs.length > this.maxPartialBytes) {
          throw new ProtocolError(`partial messages of ${this.partialBytes + cs.length} bytes on one connection exceed the ${this.maxPartialBytes}-byte limit`);
        }
        cs.payload = Buffer.allocUnsafe(cs.length);
        cs.received = 0;
        this.partialCount++;
        this.partialBytes += cs.length;
      }
    }
    this.current = cs;
    this.chunkRemaining = Math.min(this.chunkSize, cs.length - cs.received);
    this.currentCsid = csid;
    return pos - start;
  }

  private currentCsid = 0;

  private copyPayload(data: Buffer, pos: number): number {
    const cs = this.current!;
    const n = Math.min(this.chunkRemaining, data.length - pos);
    if (!cs.skipping) data.copy(cs.payload!, cs.received, pos, pos + n);
    cs.received += n;
    this.chunkRemaining -= n;
    if (this.chunkRemaining === 0) {
      this.current = null;
      if (cs.skipping) {
        if (cs.received === cs.length) cs.skipping = false;
      } else if (cs.received === cs.length) {
        const payload = cs.payload!;
        cs.payload = null;
        this.partialCount--;
        this.partialBytes -= payload.length;
        this.deliver(this.currentCsid, cs, payload);
      }
    }
    return pos + n;
  }

  private deliver(csid: number, cs: ChunkStream, payload: Buffer): void {
    const msg: RtmpMessage = { csid, type: cs.type, streamId: cs.streamId, timestamp: cs.timestamp, payload };
    if (cs.type === MessageType.SetChunkSize) {
      if (payload.length < 4) throw new ProtocolError('Set Chunk Size message shorter than 4 bytes');
      const size = payload.readUInt32BE(0) & 0x7fffffff;
      if (size < 1 || size > MAX_CHUNK_SIZE) throw new ProtocolError(`chunk size ${size} out of range (1..${MAX_CHUNK_SIZE})`);
      this.chunkSize = size;
    } else if (cs.type === MessageType.Abort && payload.length >= 4) {
      const target = this.streams.get(payload.readUInt32BE(0));
      if (target?.payload) {
        this.partialBytes -= target.payload.length;
        target.payload = null;
        this.partialCount--;
      }
      if (target) target.skipping = false;
    }
    this.onMessage(msg);
  }
}
