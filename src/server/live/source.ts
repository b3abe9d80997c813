import { encodeAmf0, EcmaArray, type Amf0Object } from '../../protocol/amf0.js';
import { MessageType } from '../../protocol/rtmp/message.js';
import { Batch } from './batch.js';
import type { Consumer } from './consumer.js';
import { StreamClock } from './jitter.js';
import { mediaMessage, type MediaMessage } from './media.js';
import { csidOf, formatKey, isAv, playerTime, serialise, type TimeJitter, type WireFormat } from './wire.js';

/** Taps on a source's publish life (forward uses it). Called synchronously. */
export interface SourceTap {
  onMessage(m: MediaMessage): void;
  onUnpublish(): void;
}

export interface SourceOptions {
  gopCache: boolean;
  /** merged-write window in ms; 0 (min_latency) writes every message at once */
  mwLatencyMs: number;
  /**
   * SRS's mw_msgs: a batch goes out once it holds MORE than this many messages and mw_latency
   * has passed (both, as SRS's consumer wait); 0 = on time alone. Optional (default 0).
   */
  mwMsgs?: number;
  /** SRS's gop_cache_max_frames */
  gopMaxFrames: number;
  serverSignature: string;
  /**
   * play { time_jitter } (default off here; the server's vhost default is full). Taken when the
   * source is created: a reload applies it to streams that start afterwards.
   */
  timeJitter?: TimeJitter;
}

/** Audio messages after the last video before the GOP cache is dropped (a pure audio stream). */
const PURE_AUDIO_GUESS = 115;

/**
 * The sequence headers in force at one point of the stream. Replaced (never mutated) when a
 * header arrives, so a snapshot is a reference; `id` keys the serialised bytes.
 */
interface Heads {
  readonly id: number;
  readonly video?: MediaMessage;
  readonly audio?: MediaMessage;
}
let headsSeq = 0;
const NO_HEADS: Heads = { id: 0 };

/**
 * One live stream (vhost/app/stream): at most one publisher, any number of players.
 *
 * Messages from the publisher go into the current batch; every mw_latency the batch is
 * serialised once per wire format and the same bytes go to every consumer. The meta cache
 * (metadata, sequence headers) and the GOP cache are updated at flush time, so a player
 * that joins between flushes gets the cache up to the last flush and then the next batch:
 * nothing twice, nothing missing.
 *
 * Every player gets the sequence headers in force at its first frame: a player resuming at a
 * batch's keyframe gets those in force at that keyframe (not a later one of the same batch),
 * and a joiner gets those in force at the GOP's keyframe, the later ones in order inside the
 * GOP. A stream without video (none yet, or none for PURE_AUDIO_GUESS audio messages) has no
 * keyframe to wait for: its players start at once.
 */
export class LiveSource {
  readonly consumers = new Set<Consumer>();
  readonly taps = new Set<SourceTap>();
  /** called when a publisher starts (set by the registry) */
  onPublish: ((source: LiveSource) => void) | undefined;
  publisherId: string | undefined;
  /** why a bridged stream has no audio (the WebRTC bridge's transcoder is missing or failed); the API shows it */
  audioUnavailable: string | undefined;
  readonly createdAt = Date.now();

  /** time_jitter of this source's players, fixed for its life (they keep their start times) */
  readonly jitter: TimeJitter;
  private readonly clock: StreamClock | undefined;
  /** the clock of the last audio/video message flushed (undefined before the first) */
  private lastClock: number | undefined;
  private batch: Batch;
  private timer: NodeJS.Timeout | undefined;
  /** mw_latency passed with no more than mw_msgs messages: flush at the push that makes it more */
  private due = false;
  private metadata: MediaMessage | undefined;
  /** headers after the last flush */
  private heads: Heads = NO_HEADS;
  /** headers in force at the GOP's keyframe */
  private gopHeads: Heads = NO_HEADS;
  /** headers in force at the flushing batch's first keyframe (its start when it has none) */
  private keyHeads: Heads = NO_HEADS;
  /** the GOP cache: starts on a keyframe, sequence headers that follow it stay in order */
  private gop: MediaMessage[] = [];
  private videoSeen = false;
  private audioSinceVideo = 0;
  private joinCache = new Map<string, Buffer>();
  /** timestamp of the last message flushed */
  private lastTimestamp = 0;

  // stats
  frames = 0;
  recvBytes = 0;
  sendBytes = 0;
  private rateWindowStart = Date.now();
  private rateWindowBytes = 0;
  /** publisher bytes per second, over the last few seconds */
  bytesPerSecond = 0;

  constructor(
    readonly vhost: string,
    readonly app: string,
    readonly name: string,
    readonly id: string,
    private options: SourceOptions,
  ) {
    this.jitter = options.timeJitter ?? 'off';
    this.clock = this.jitter === 'off' ? undefined : new StreamClock(this.jitter);
    this.batch = new Batch(this.jitter);
  }

  get key(): string {
    return `${this.vhost}/${this.app}/${this.name}`;
  }

  get videoHeaderPayload(): Buffer | undefined {
    return this.heads.video?.payload;
  }
  get audioHeaderPayload(): Buffer | undefined {
    return this.heads.audio?.payload;
  }
  get metadataObject(): Amf0Object | undefined {
    return this.metadataValues;
  }
  private metadataValues: Amf0Object | undefined;

  /** Applies new play settings (SIGHUP reload); players stay connected. */
  reconfigure(options: SourceOptions): void {
    this.options = options;
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.ensureTimer();
    }
    if (!options.gopCache) this.gop = [];
  }

  get isPublishing(): boolean {
    return this.publisherId !== undefined;
  }

  startPublish(clientId: string): void {
    this.publisherId = clientId;
    this.clock?.publish();
    this.ensureTimer();
    this.onPublish?.(this);
  }

  stopPublish(): void {
    this.flush();
    for (const t of [...this.taps]) t.onUnpublish();
    this.taps.clear();
    this.publisherId = undefined;
    this.metadata = undefined;
    this.heads = this.gopHeads = this.keyHeads = NO_HEADS;
    this.metadataValues = undefined;
    this.gop = [];
    this.videoSeen = false;
    this.audioSinceVideo = 0;
    this.lastTimestamp = 0;
    this.joinCache.clear();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Metadata from @setDataFrame/onMetaData: kept with the server's signature, sent to players. */
  onMetadata(values: Amf0Object, timestamp: number): void {
    const meta: Amf0Object = { ...values, server: this.options.serverSignature };
    delete meta.duration;
    this.metadataValues = meta;
    this.push(mediaMessage(MessageType.DataAmf0, timestamp, encodeAmf0(['onMetaData', new EcmaArray(meta)])));
  }

  onAudio(timestamp: number, payload: Buffer): void {
    this.push(mediaMessage(MessageType.Audio, timestamp, payload));
  }

  onVideo(timestamp: number, payload: Buffer): void {
    this.frames++;
    this.push(mediaMessage(MessageType.Video, timestamp, payload));
  }

  private push(m: MediaMessage): void {
    this.recvBytes += m.payload.length;
    this.rateWindowBytes += m.payload.length;
    this.clock?.stamp(m);
    this.batch.push(m);
    for (const t of this.taps) t.onMessage(m);
    if ((this.due || this.options.mwLatencyMs <= 0) && this.batch.size > (this.options.mwMsgs ?? 0)) this.flush();
  }

  private ensureTimer(): void {
    if (this.timer || this.options.mwLatencyMs <= 0) return;
    this.timer = setInterval(() => this.onTick(), this.options.mwLatencyMs);
    this.timer.unref?.();
  }

  private onTick(): void {
    if (this.batch.size > (this.options.mwMsgs ?? 0)) this.flush();
    else this.due = true;
  }

  /** Sends the current batch to every consumer, then folds it into the caches. */
  flush(): void {
    const now = Date.now();
    if (now - this.rateWindowStart >= 2000) {
      const rate = (this.rateWindowBytes * 1000) / (now - this.rateWindowStart);
      this.bytesPerSecond = this.bytesPerSecond === 0 ? rate : this.bytesPerSecond * 0.5 + rate * 0.5;
      this.rateWindowStart = now;
      this.rateWindowBytes = 0;
    }
    const batch = this.batch;
    if (batch.size === 0) return;
    this.batch = new Batch(this.jitter);
    this.due = false;
    this.joinCache.clear();
    this.headerCache.clear();
    // one pass in stream order: headers, the GOP, and the headers in force at the first keyframe
    const startHeads = this.heads;
    let keyHeads: Heads | undefined;
    for (const m of batch.messages) {
      if (m.type === MessageType.DataAmf0) {
        this.metadata = m;
      } else if (m.sequenceHeader) {
        this.heads = m.type === MessageType.Video ? { ...this.heads, id: ++headsSeq, video: m } : { ...this.heads, id: ++headsSeq, audio: m };
        if (this.gop.length > 0) this.gop.push(m); // in order, for joiners of this GOP
      } else {
        if (m.keyframe && keyHeads === undefined) keyHeads = this.heads;
        this.cacheGop(m);
      }
    }
    this.lastTimestamp = batch.messages[batch.size - 1]!.timestamp;
    for (const m of batch.messages) if (isAv(m)) this.lastClock = m.clock;
    this.keyHeads = keyHeads ?? startHeads;
    const audioOnly = this.audioOnly;
    for (const c of this.consumers) this.sendBytes += c.deliver(batch, this.bytesPerSecond, now, this.headerBytesFn, audioOnly);
  }

  private headerCache = new Map<string, Buffer>();
  /** for consumers resuming in the batch being flushed */
  private readonly headerBytesFn = (format: WireFormat, timestamp: number): Buffer => this.headerBytes(format, timestamp, this.keyHeads);

  /** Metadata and the sequence headers `heads`, stamped with `timestamp` (cached per flush). */
  private headerBytes(format: WireFormat, timestamp: number, heads: Heads): Buffer {
    const key = `${formatKey(format)}@${timestamp}@${heads.id}`;
    let bytes = this.headerCache.get(key);
    if (bytes === undefined) {
      // metadata at 0 (players take a timestamped onMetaData for a data track), sequence
      // headers at the start of what follows so players see no timestamp jump
      const meta = this.metadata ? serialise([this.metadata], format, 0).bytes : Buffer.alloc(0);
      const headers = [heads.video, heads.audio].filter((m): m is MediaMessage => m !== undefined);
      bytes = headers.length === 0 ? meta : Buffer.concat([meta, serialise(headers, format, timestamp).bytes]);
      this.headerCache.set(key, bytes);
    }
    return bytes;
  }

  /**
   * True while the stream has no video to start on: none seen since publish, or none for
   * PURE_AUDIO_GUESS audio messages (SRS's pure-audio guess). Players then start at once.
   */
  get audioOnly(): boolean {
    return !this.videoSeen || this.audioSinceVideo > PURE_AUDIO_GUESS;
  }

  /**
   * For an FLV header (SRS guesses has_video the same way): false only while a publisher is on
   * and the stream has shown audio but no video (flushed, or in the batch not yet flushed).
   * A stream with nothing yet says video, as before: a header cannot be taken back.
   */
  get flvHasVideo(): boolean {
    if (!this.isPublishing || !this.audioOnly || this.heads.video !== undefined) return true;
    if (this.batch.messages.some((m) => m.type === MessageType.Video)) return true;
    return this.heads.audio === undefined && this.audioSinceVideo === 0;
  }

  private cacheGop(m: MediaMessage): void {
    if (m.type === MessageType.Video) {
      this.videoSeen = true;
      this.audioSinceVideo = 0;
    } else if (m.type === MessageType.Audio) {
      this.audioSinceVideo++;
    }
    if (!this.options.gopCache) return;
    if (m.keyframe) {
      this.gop = [];
      this.gopHeads = this.heads;
    } else if (this.gop.length === 0) {
      return; // nothing to start on: wait for a keyframe (pure audio keeps no GOP, as SRS)
    } else if (this.audioSinceVideo > PURE_AUDIO_GUESS || this.gop.length >= this.options.gopMaxFrames) {
      this.gop = []; // video stopped, or a GOP too long to keep
      return;
    }
    this.gop.push(m);
  }

  /**
   * What a joining player gets first: metadata, the sequence headers in force at the GOP's
   * keyframe, then the GOP; without a GOP (a stream without video), the current headers.
   * Cached per wire format until the next flush, so a ramp of joiners shares it.
   */
  joinBytes(format: WireFormat): Buffer {
    const key = formatKey(format);
    let bytes = this.joinCache.get(key);
    if (bytes === undefined) {
      // headers carry the GOP's start time so players see no timestamp jump
      if (this.gop.length > 0) bytes = Buffer.concat([this.headerBytes(format, this.gop[0]!.timestamp, this.gopHeads), serialise(this.gop, format).bytes]);
      else bytes = this.headerBytes(format, this.lastTimestamp, this.heads);
      this.joinCache.set(key, bytes);
    }
    return bytes;
  }

  /**
   * time_jitter full|zero: where a joiner starts. `base` makes its first message time 0 (the
   * GOP's earliest clock; without a GOP the last message flushed, undefined before any media),
   * `synced` the chunk streams whose last message the join dump holds (the GOP's).
   */
  private joinPoint(): { base: number | undefined; synced: number } {
    if (this.gop.length === 0) return { base: this.lastClock, synced: 0 };
    let base = Infinity;
    let synced = 0;
    for (const m of this.gop) {
      if (!isAv(m)) continue;
      base = Math.min(base, m.clock);
      synced |= 1 << csidOf(m.type);
    }
    return { base: base === Infinity ? this.lastClock : base, synced };
  }

  /** joinBytes for time_jitter full|zero: the same, stamped with the time of a player whose base is `base`. */
  private rebasedJoinBytes(format: WireFormat, base: number | undefined): Buffer {
    const key = `${formatKey(format)}@${base}`;
    let bytes = this.joinCache.get(key);
    if (bytes === undefined) {
      if (this.gop.length > 0 && base !== undefined) {
        const first = this.gop.find(isAv);
        const start = first === undefined ? 0 : playerTime(first, base);
        bytes = Buffer.concat([this.headerBytes(format, start, this.gopHeads), serialise(this.gop, format, { base }).bytes]);
      } else bytes = this.headerBytes(format, 0, this.heads);
      this.joinCache.set(key, bytes);
    }
    return bytes;
  }

  /**
   * Everything a tap that starts late (a forward) needs, as messages: metadata, sequence headers
   * and GOP as of the last flush, then what was pushed since (the caches only take a batch in at
   * flush time, so a forward that connects within the first mw_latency would otherwise miss the
   * sequence headers). Later pushes reach the tap through onMessage.
   */
  cachedMessages(): MediaMessage[] {
    const heads = this.gop.length > 0 ? this.gopHeads : this.heads;
    return [this.metadata, heads.video, heads.audio, ...this.gop, ...this.batch.messages].filter((m): m is MediaMessage => m !== undefined);
  }

  /** True when the GOP cache holds a keyframe on (a joiner can start decoding at once). */
  get hasGop(): boolean {
    return this.gop.length > 0;
  }

  addConsumer(c: Consumer): void {
    if (this.hasGop || this.audioOnly) {
      // from the GOP's keyframe, or (no video) at once: the next batch follows whole
      let join: Buffer;
      if (this.jitter === 'off') join = this.joinBytes(c.format);
      else {
        const at = this.joinPoint();
        join = this.rebasedJoinBytes(c.format, at.base);
        c.joined(at.base, at.synced);
      }
      if (join.length > 0) c.writeRaw(join);
      this.sendBytes += join.length;
      c.countSent(this.gop, 0, this.jitter !== 'off');
    } else c.resumeAtKeyframe(); // headers are sent with the first keyframe
    this.consumers.add(c);
  }

  removeConsumer(c: Consumer): void {
    this.consumers.delete(c);
  }

  get idle(): boolean {
    return this.publisherId === undefined && this.consumers.size === 0;
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
