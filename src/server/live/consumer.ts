import type { Batch } from './batch.js';
import type { WireFormat } from './wire.js';

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
 */
export class Consumer {
  paused = false;
  /** skipping to the next keyframe (lagging, just unpaused, or just joined without a GOP) */
  private waitingKeyframe = false;
  private stalledSince = 0;
  private stalledAt = 0;
  skipped = 0;
  closed = false;

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

  resumeAtKeyframe(): void {
    this.waitingKeyframe = true;
  }

  /**
   * `headers(format, timestamp)` gives the metadata and sequence headers to send before a
   * keyframe when the player resumes (it may have skipped the batch that carried them): those
   * in force at the batch's first keyframe. With `audioOnly` (the stream has no video to wait
   * for) a resuming player takes the whole batch, after the headers in force at its start.
   */
  deliver(batch: Batch, bytesPerSecond: number, now: number, headers: (format: WireFormat, timestamp: number) => Buffer, audioOnly = false): number {
    if (this.closed || this.paused) return 0;
    const pending = this.sink.writableLength;
    if (this.waitingKeyframe) {
      const from = pending !== 0 ? undefined : audioOnly ? batch.bytes(this.format) : batch.fromKeyframe(this.format);
      if (from === undefined) {
        this.skipped++;
        this.checkStall(pending, now);
        return 0;
      }
      this.waitingKeyframe = false;
      this.stalledSince = 0;
      const head = headers(this.format, audioOnly ? batch.firstTimestamp : batch.keyframeTimestamp);
      if (head.length > 0) this.sink.write(head);
      this.sink.write(from);
      return head.length + from.length;
    }
    const budget = Math.max(256 * 1024, bytesPerSecond * this.limits.queueSeconds);
    if (pending > budget) {
      this.waitingKeyframe = true;
      this.skipped++;
      this.stalledSince = now;
      this.stalledAt = pending;
      this.onLag?.(this, `${pending} bytes queued (over ${this.limits.queueSeconds}s of stream): skipping to the next keyframe`);
      return 0;
    }
    const bytes = batch.bytes(this.format);
    this.sink.write(bytes);
    return bytes.length;
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
