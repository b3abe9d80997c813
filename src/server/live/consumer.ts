import { encodeChunks, firstHeaderSize, writeFmt0Header } from '../../protocol/rtmp/chunk-writer.js';
import type { Batch } from './batch.js';
import type { MediaMessage } from './media.js';
import { csidOf, isAv, PLAY_STREAM_ID, playerTime, type WireFormat } from './wire.js';

/** The byte sink of one player: an RTMP socket or an HTTP-FLV response. */
export interface PlayerSink {
  write(bytes: Buffer): void;
  /** bytes accepted but not yet handed to the kernel */
  readonly writableLength: number;
  /** end this player (slow beyond recovery, or the stream is gone) */
  close(reason: string): void;
}

export interface ConsumerLimits {
  /** queue_length in seconds: how far behind a player may fall before it is skipped ahead */
  queueSeconds: number;
  /** a player that makes no progress for this long is disconnected (ms) */
  stallMs: number;
}

/**
 * One player of a live source. The source calls deliver() once per merged-write batch; the
 * consumer writes the shared bytes or, when its socket is backed up by more than
 * `queue_length` seconds of stream, stops writing and resumes at the next keyframe
 * (SRS's "shrink": the old GOP is dropped). Memory per player is bounded by that budget,
 * and the Buffers themselves are shared with every other player.
 *
 * Under time_jitter full|zero a player's time is `clock - base` (base taken at its first media,
 * so it starts near 0). Its RTMP bytes are the shared delta-stamped ones; only its first message
 * on each chunk stream (on joining, and again after a skip) gets a fmt 0 header with its own
 * time, written in front of the shared bytes. Its FLV bytes are shared with the players of the
 * same base (joined on the same GOP).
 */
export class Consumer {
  paused = false;
  /** skipping to the next keyframe (lagging, just unpaused, or just joined without a GOP) */
  private waitingKeyframe = false;
  private stalledSince = 0;
  private stalledAt = 0;
  skipped = 0;
  closed = false;
  /** time_jitter full|zero: this player's time is `clock - base`; undefined until its first media */
  base: number | undefined;
  /** bit (1 << csid) of each chunk stream where this player holds the stream's previous message (deltas apply) */
  private synced = 0;
  /** play's duration argument (ms, SRS's req->duration): stream time to send before closing; 0 = no limit */
  private stopAfterMs = 0;
  private sentMs = 0;
  private lastSentTime = -1;

  constructor(
    readonly id: string,
    readonly format: WireFormat,
    private readonly sink: PlayerSink,
    private readonly limits: ConsumerLimits,
    private readonly onLag?: (consumer: Consumer, what: string) => void,
  ) {}

  get writableLength(): number {
    return this.sink.writableLength;
  }

  /** Writes bytes directly (join dump, control messages). */
  writeRaw(bytes: Buffer): void {
    if (!this.closed) this.sink.write(bytes);
  }

  /**
   * As SRS honours play's duration (rtmpdump --stop): once `ms` of stream time (the steps between
   * the audio/video messages sent) went out, the player is closed.
   */
  stopAfter(ms: number): void {
    this.stopAfterMs = ms;
  }

  /** Counts the stream time of messages sent (only with a play duration), closing the player at its end. */
  countSent(messages: readonly MediaMessage[], from = 0, jitter = true): void {
    if (this.stopAfterMs <= 0 || this.closed) return;
    for (let i = from; i < messages.length; i++) {
      const m = messages[i]!;
      if (!isAv(m)) continue;
      const t = jitter ? m.clock : m.timestamp;
      if (this.lastSentTime >= 0 && t > this.lastSentTime) this.sentMs += t - this.lastSentTime;
      this.lastSentTime = t;
    }
    if (this.sentMs >= this.stopAfterMs) this.close(`play duration ${this.stopAfterMs} ms reached`);
  }

  resumeAtKeyframe(): void {
    this.waitingKeyframe = true;
    this.synced = 0;
  }

  /**
   * The join dump was written (time_jitter full|zero): the player's time is `clock - base`, and
   * it holds the stream's last message on the chunk streams in `synced`.
   */
  joined(base: number | undefined, synced: number): void {
    this.base = base;
    this.synced = synced;
  }

  /**
   * `headers(format, timestamp)` gives the metadata and sequence headers to send before a
   * keyframe when the player resumes (it may have skipped the batch that carried them): those
   * in force at the batch's first keyframe. With `audioOnly` (the stream has no video to wait
   * for) a resuming player takes the whole batch, after the headers in force at its start.
   */
  deliver(batch: Batch, bytesPerSecond: number, now: number, headers: (format: WireFormat, timestamp: number) => Buffer, audioOnly = false): number {
    this.sentFrom = 0;
    const n = this.deliverBatch(batch, bytesPerSecond, now, headers, audioOnly);
    if (n > 0 && this.stopAfterMs > 0) this.countSent(batch.messages, this.sentFrom, batch.jitter !== 'off');
    return n;
  }

  /** where the last batch delivered started for this player (a resume: its keyframe) */
  private sentFrom = 0;

  private deliverBatch(batch: Batch, bytesPerSecond: number, now: number, headers: (format: WireFormat, timestamp: number) => Buffer, audioOnly: boolean): number {
    if (this.closed || this.paused) return 0;
    const pending = this.sink.writableLength;
    if (this.waitingKeyframe) {
      const start = pending !== 0 ? -1 : audioOnly ? 0 : batch.keyframeIndex;
      const from = start < 0 || batch.jitter !== 'off' ? undefined : audioOnly ? batch.bytes(this.format) : batch.fromKeyframe(this.format);
      if (start < 0 || (batch.jitter === 'off' && from === undefined)) {
        this.skipped++;
        this.checkStall(pending, now);
        return 0;
      }
      this.waitingKeyframe = false;
      this.stalledSince = 0;
      this.sentFrom = start;
      if (from === undefined) return this.startAt(batch, start, headers);
      const head = headers(this.format, audioOnly ? batch.firstTimestamp : batch.keyframeTimestamp);
      if (head.length > 0) this.sink.write(head);
      this.sink.write(from);
      return head.length + from.length;
    }
    const budget = Math.max(256 * 1024, bytesPerSecond * this.limits.queueSeconds);
    if (pending > budget) {
      this.waitingKeyframe = true;
      this.synced = 0;
      this.skipped++;
      this.stalledSince = now;
      this.stalledAt = pending;
      this.onLag?.(this, `${pending} bytes queued (over ${this.limits.queueSeconds}s of stream): skipping to the next keyframe`);
      return 0;
    }
    if (batch.jitter === 'off') {
      const bytes = batch.bytes(this.format);
      this.sink.write(bytes);
      return bytes.length;
    }
    if (this.base === undefined) {
      // joined before any media: starts here
      this.base = batch.minClock(0);
      if (this.base === undefined) return this.writeShared(batch.bytes(this.format, 0)); // metadata only: stamped 0
    }
    if (this.format.kind === 'flv') return this.writeShared(batch.bytes(this.format, this.base));
    const rel = batch.relative(this.format.chunkSize);
    if ((rel.deltaStreams & ~this.synced) === 0) return this.writeShared(rel.bytes);
    return this.writeFrom(batch, 0);
  }

  private writeShared(bytes: Buffer): number {
    this.sink.write(bytes);
    return bytes.length;
  }

  /**
   * time_jitter full|zero: starts (or resumes) at message `start` of `batch`, after the headers
   * in force there, stamped with this player's time.
   */
  private startAt(batch: Batch, start: number, headers: (format: WireFormat, timestamp: number) => Buffer): number {
    if (this.base === undefined) this.base = batch.minClock(start) ?? 0;
    const first = batch.clockAt(start);
    const head = headers(this.format, first === undefined ? 0 : Math.max(0, first - this.base));
    if (head.length > 0) this.sink.write(head);
    if (this.format.kind === 'flv') {
      const bytes = start === 0 ? batch.bytes(this.format, this.base) : batch.fromKeyframe(this.format, this.base)!;
      return head.length + this.writeShared(bytes);
    }
    this.synced = 0; // the headers reset the chunk streams' times
    return head.length + this.writeFrom(batch, start);
  }

  /**
   * RTMP under time_jitter full|zero: the shared delta-stamped bytes of `batch` from message
   * `start` on, where this player's first message on a chunk stream it does not hold gets a
   * fmt 0 header with its own time in place of the shared fmt 1 header (or, when that time or the
   * shared delta needs an extended timestamp, the whole message re-chunked for it).
   */
  private writeFrom(batch: Batch, start: number): number {
    if (this.format.kind !== 'rtmp') throw new Error('writeFrom: RTMP only');
    const { chunkSize } = this.format;
    const rel = batch.relative(chunkSize);
    const base = this.base ?? 0;
    let pos = rel.offsets[start]!;
    let written = 0;
    const put = (b: Buffer) => {
      if (b.length === 0) return;
      this.sink.write(b);
      written += b.length;
    };
    for (let i = start; i < batch.messages.length; i++) {
      const m = batch.messages[i]!;
      if (!isAv(m)) continue;
      const csid = csidOf(m.type);
      const bit = 1 << csid;
      if ((this.synced & bit) !== 0) continue;
      this.synced |= bit;
      put(rel.bytes.subarray(pos, rel.offsets[i]!));
      const ts = playerTime(m, base);
      const delta = Math.max(0, m.delta);
      if (ts < 0xffffff && delta < 0xffffff) {
        const header = Buffer.allocUnsafe(firstHeaderSize(csid, ts));
        writeFmt0Header(header, 0, csid, ts, m.payload.length, m.type, PLAY_STREAM_ID);
        put(header);
        pos = rel.offsets[i]! + firstHeaderSize(csid, delta, 1);
      } else {
        put(encodeChunks({ csid, type: m.type, streamId: PLAY_STREAM_ID, timestamp: ts, payload: m.payload }, chunkSize));
        pos = rel.offsets[i + 1]!;
      }
    }
    put(rel.bytes.subarray(pos));
    return written;
  }

  private checkStall(pending: number, now: number): void {
    if (pending === 0 || pending < this.stalledAt) {
      // progress: the player reads
      this.stalledSince = now;
      this.stalledAt = pending;
      return;
    }
    if (this.stalledSince === 0) this.stalledSince = now;
    if (now - this.stalledSince > this.limits.stallMs) {
      this.close(`no progress writing for ${Math.round((now - this.stalledSince) / 1000)}s (${pending} bytes stuck)`);
    }
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.sink.close(reason);
  }
}
