import type { MediaMessage } from './media.js';
import { csidOf, isAv } from './wire.js';

/** SRS's jitter constants: a step outside ±250 ms is replaced by 10 ms */
export const MAX_JITTER_MS = 250;
export const DEFAULT_FRAME_MS = 10;

/**
 * The time of a live stream that every player's timestamps derive from under time_jitter
 * full|zero: a player's time is `clock - base`, base taken when the player starts, so all
 * players see the same steps and the shared bytes can carry them as deltas.
 *
 * `full` is SRS's jitter (SrsRtmpJitter) run once for the stream instead of once per player:
 * each audio/video step is the publisher's step, or 10 ms when that is negative beyond 250 ms or
 * over 250 ms (a publisher's jump or reset); the time never goes below 0. `zero` keeps the
 * publisher's steps. Across a republish the clock goes on (full: the reset is a jump, 10 ms;
 * zero: the new publish starts 10 ms after the last message), so players that stay see no jump
 * back.
 *
 * RTMP deltas are unsigned, so on one chunk stream (audio, or video) the clock never goes back:
 * a step back on the same track is stamped with the previous time (SRS would send the time
 * back; players treat it as an error anyway).
 */
export class StreamClock {
  /** publisher's timestamp of the previous audio/video message (-1 before the first) */
  private lastTs = -1;
  private corrected = 0;
  /** zero: clock = timestamp + offset, the offset taken at each publish's first message */
  private offset = 0;
  private newPublish = true;
  private readonly lastOnStream = new Map<number, number>();

  constructor(readonly mode: 'full' | 'zero') {}

  /** A publisher starts (zero: the next message sets where its timestamps land). */
  publish(): void {
    this.newPublish = true;
  }

  /** Sets m.clock and m.delta (metadata: clock 0, no delta). */
  stamp(m: MediaMessage): void {
    if (!isAv(m)) {
      m.clock = 0;
      m.delta = -1;
      return;
    }
    const ts = m.timestamp;
    let clock: number;
    if (this.mode === 'full') {
      if (this.lastTs < 0) this.corrected = 0;
      else {
        let step = ts - this.lastTs;
        if (step < -MAX_JITTER_MS || step > MAX_JITTER_MS) step = DEFAULT_FRAME_MS;
        this.corrected = Math.max(0, this.corrected + step);
      }
      clock = this.corrected;
    } else {
      if (this.newPublish) this.offset = (this.lastTs < 0 ? 0 : this.corrected + DEFAULT_FRAME_MS) - ts;
      clock = Math.max(0, ts + this.offset);
      this.corrected = clock;
    }
    this.newPublish = false;
    this.lastTs = ts;
    const csid = csidOf(m.type);
    const prev = this.lastOnStream.get(csid);
    if (prev !== undefined && clock < prev) clock = prev;
    this.lastOnStream.set(csid, clock);
    m.clock = clock;
    m.delta = prev === undefined ? -1 : clock - prev;
  }
}
