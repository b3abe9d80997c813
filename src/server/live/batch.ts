import type { MediaMessage } from './media.js';
import { formatKey, serialise, type WireFormat } from './wire.js';

/**
 * The messages a source received during one merged-write window (mw_latency). Serialised
 * once per wire format, on first use, and the same Buffer is written to every player.
 */
export class Batch {
  readonly messages: MediaMessage[] = [];
  private readonly encoded = new Map<string, { bytes: Buffer; keyframeOffset: number }>();

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

  /** The whole batch for `format`. */
  bytes(format: WireFormat): Buffer {
    return this.encode(format).bytes;
  }

  /** The batch from its first keyframe on, or undefined when it has none. */
  fromKeyframe(format: WireFormat): Buffer | undefined {
    const e = this.encode(format);
    return e.keyframeOffset < 0 ? undefined : e.bytes.subarray(e.keyframeOffset);
  }

  private encode(format: WireFormat): { bytes: Buffer; keyframeOffset: number } {
    const key = formatKey(format);
    let e = this.encoded.get(key);
    if (e === undefined) {
      e = serialise(this.messages, format);
      this.encoded.set(key, e);
    }
    return e;
  }
}
