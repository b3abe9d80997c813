import type { MediaMessage } from './media.js';
import { TAG_HEADER_SIZE } from '../../protocol/flv.js';
import { formatKey, isAv, playerTime, serialise, serialiseRelative, type RelativeChunks, type TimeJitter, type WireFormat } from './wire.js';

/**
 * The messages a source received during one merged-write window (mw_latency). Serialised
 * once per wire format, on first use, and the same Buffer is written to every player.
 *
 * Under time_jitter full|zero players start at their own time 0, yet still share bytes: RTMP
 * audio/video carry deltas (one serialisation for all players, see serialiseRelative); FLV tags
 * carry absolute times, so FLV is serialised once per player start time (`base`) in use:
 * players that joined on the same GOP share one.
 */
export class Batch {
  readonly messages: MediaMessage[] = [];
  private readonly encoded = new Map<string, { bytes: Buffer; keyframeOffset: number }>();
  private readonly relativeBy = new Map<number, RelativeChunks>();

  constructor(readonly jitter: TimeJitter = 'off') {}

  push(m: MediaMessage): void {
    this.messages.push(m);
  }

  get size(): number {
    return this.messages.length;
  }

  /** timestamp of the first message (0 when empty) */
  get firstTimestamp(): number {
    return this.messages[0]?.timestamp ?? 0;
  }

  /** timestamp of the first keyframe (0 when none) */
  get keyframeTimestamp(): number {
    return this.messages.find((m) => m.keyframe)?.timestamp ?? 0;
  }

  /** index of the first keyframe (-1 when none) */
  get keyframeIndex(): number {
    return this.messages.findIndex((m) => m.keyframe);
  }

  /** The smallest audio/video clock from message `from` on (undefined when none): a starting player's base. */
  minClock(from: number): number | undefined {
    let min: number | undefined;
    for (let i = from; i < this.messages.length; i++) {
      const m = this.messages[i]!;
      if (isAv(m) && (min === undefined || m.clock < min)) min = m.clock;
    }
    return min;
  }

  /** The clock of the first audio/video message from `from` on (undefined when none). */
  clockAt(from: number): number | undefined {
    for (let i = from; i < this.messages.length; i++) if (isAv(this.messages[i]!)) return this.messages[i]!.clock;
    return undefined;
  }

  /**
   * The whole batch for `format`: with time_jitter off the publisher's timestamps; else for RTMP
   * the delta-stamped bytes (the same for all players), for FLV the times of a player whose base is `base`.
   */
  bytes(format: WireFormat, base = 0): Buffer {
    return this.encode(format, base).bytes;
  }

  /** The batch from its first keyframe on, or undefined when it has none. */
  fromKeyframe(format: WireFormat, base = 0): Buffer | undefined {
    const e = this.encode(format, base);
    return e.keyframeOffset < 0 ? undefined : e.bytes.subarray(e.keyframeOffset);
  }

  /** RTMP with audio/video deltas (time_jitter full|zero), serialised once per chunk size. */
  relative(chunkSize: number): RelativeChunks {
    if (chunkSize === this.lastChunkSize) return this.lastRelative!; // every player of a server usually has the same
    let r = this.relativeBy.get(chunkSize);
    if (r === undefined) {
      r = serialiseRelative(this.messages, chunkSize);
      this.relativeBy.set(chunkSize, r);
    }
    this.lastChunkSize = chunkSize;
    this.lastRelative = r;
    return r;
  }
  private lastChunkSize = -1;
  private lastRelative: RelativeChunks | undefined;

  private encode(format: WireFormat, base: number): { bytes: Buffer; keyframeOffset: number } {
    if (this.jitter !== 'off' && format.kind === 'rtmp') return this.relative(format.chunkSize);
    const key = this.jitter === 'off' ? formatKey(format) : `${formatKey(format)}@${base}`;
    let e = this.encoded.get(key);
    if (e === undefined) {
      e = format.kind === 'flv' && this.firstFlv !== undefined ? this.rebaseFlv(this.firstFlv, base) : serialise(this.messages, format, this.jitter === 'off' ? undefined : { base });
      if (format.kind === 'flv' && this.jitter !== 'off') this.firstFlv ??= e;
      this.encoded.set(key, e);
    }
    return e;
  }

  /** the first FLV serialisation under time_jitter full|zero: others are copies with their times patched */
  private firstFlv: { bytes: Buffer; keyframeOffset: number } | undefined;

  /** A copy of an FLV serialisation of this batch with the tag times of a player whose base is `base` (one copy, no re-serialising). */
  private rebaseFlv(from: { bytes: Buffer; keyframeOffset: number }, base: number): { bytes: Buffer; keyframeOffset: number } {
    const bytes = Buffer.allocUnsafe(from.bytes.length);
    from.bytes.copy(bytes);
    let pos = 0;
    for (const m of this.messages) {
      const t = playerTime(m, base) >>> 0;
      bytes[pos + 4] = (t >> 16) & 0xff;
      bytes[pos + 5] = (t >> 8) & 0xff;
      bytes[pos + 6] = t & 0xff;
      bytes[pos + 7] = (t >>> 24) & 0xff;
      pos += TAG_HEADER_SIZE + m.payload.length + 4;
    }
    return { bytes, keyframeOffset: from.keyframeOffset };
  }
}
