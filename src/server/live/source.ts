import { encodeAmf0, EcmaArray, type Amf0Object } from '../../protocol/amf0.js';
import { MessageType } from '../../protocol/rtmp/message.js';
import { Batch } from './batch.js';
import type { Consumer } from './consumer.js';
import { mediaMessage, type MediaMessage } from './media.js';
import { formatKey, serialise, type WireFormat } from './wire.js';

/** Taps on a source's publish life (forward uses it). Called synchronously. */
export interface SourceTap {
  onMessage(m: MediaMessage): void;
  onUnpublish(): void;
}

export interface SourceOptions {
  gopCache: boolean;
  /** merged-write window in ms; 0 (min_latency) writes every message at once */
  mwLatencyMs: number;
  /** SRS's gop_cache_max_frames */
  gopMaxFrames: number;
  serverSignature: string;
}

/** Audio messages after the last video before the GOP cache is dropped (a pure audio stream). */
const PURE_AUDIO_GUESS = 115;

/**
 * One live stream (vhost/app/stream): at most one publisher, any number of players.
 *
 * Messages from the publisher go into the current batch; every mw_latency the batch is
 * serialised once per wire format and the same bytes go to every consumer. The meta cache
 * (metadata, sequence headers) and the GOP cache are updated at flush time, so a player
 * that joins between flushes gets the cache up to the last flush and then the next batch:
 * nothing twice, nothing missing.
 */
export class LiveSource {
  readonly consumers = new Set<Consumer>();
  readonly taps = new Set<SourceTap>();
  /** called when a publisher starts (set by the registry) */
  onPublish: ((source: LiveSource) => void) | undefined;
  publisherId: string | undefined;
  readonly createdAt = Date.now();

  private batch = new Batch();
  private timer: NodeJS.Timeout | undefined;
  private metadata: MediaMessage | undefined;
  private videoHeader: MediaMessage | undefined;
  private audioHeader: MediaMessage | undefined;
  private gop: MediaMessage[] = [];
  private audioSinceVideo = 0;
  private joinCache = new Map<string, Buffer>();
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
  ) {}

  get key(): string {
    return `${this.vhost}/${this.app}/${this.name}`;
  }

  get videoHeaderPayload(): Buffer | undefined {
    return this.videoHeader?.payload;
  }
  get audioHeaderPayload(): Buffer | undefined {
    return this.audioHeader?.payload;
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
    this.ensureTimer();
    this.onPublish?.(this);
  }

  stopPublish(): void {
    this.flush();
    for (const t of [...this.taps]) t.onUnpublish();
    this.taps.clear();
    this.publisherId = undefined;
    this.metadata = this.videoHeader = this.audioHeader = undefined;
    this.metadataValues = undefined;
    this.gop = [];
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
    this.lastTimestamp = m.timestamp;
    this.batch.push(m);
    for (const t of this.taps) t.onMessage(m);
    if (this.options.mwLatencyMs <= 0) this.flush();
  }

  private ensureTimer(): void {
    if (this.timer || this.options.mwLatencyMs <= 0) return;
    this.timer = setInterval(() => this.flush(), this.options.mwLatencyMs);
    this.timer.unref?.();
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
    this.batch = new Batch();
    this.joinCache.clear();
    this.headerCache.clear();
    // headers first: a player resuming at a keyframe of this batch needs them
    for (const m of batch.messages) {
      if (m.type === MessageType.DataAmf0) this.metadata = m;
      else if (m.sequenceHeader) {
        if (m.type === MessageType.Video) this.videoHeader = m;
        else this.audioHeader = m;
      }
    }
    for (const c of this.consumers) this.sendBytes += c.deliver(batch, this.bytesPerSecond, now, this.headerBytesFn);
    for (const m of batch.messages) this.cacheGop(m);
    this.joinCache.clear();
  }

  private headerCache = new Map<string, Buffer>();
  private readonly headerBytesFn = (format: WireFormat, timestamp: number): Buffer => this.headerBytes(format, timestamp);

  /** Metadata and sequence headers, stamped with `timestamp` (cached per flush and format). */
  headerBytes(format: WireFormat, timestamp: number): Buffer {
    const key = `${formatKey(format)}@${timestamp}`;
    let bytes = this.headerCache.get(key);
    if (bytes === undefined) {
      // metadata at 0 (players take a timestamped onMetaData for a data track), sequence
      // headers at the start of what follows so players see no timestamp jump
      const meta = this.metadata ? serialise([this.metadata], format, 0).bytes : Buffer.alloc(0);
      const headers = [this.videoHeader, this.audioHeader].filter((m): m is MediaMessage => m !== undefined);
      bytes = Buffer.concat([meta, serialise(headers, format, timestamp).bytes]);
      this.headerCache.set(key, bytes);
    }
    return bytes;
  }

  private cacheGop(m: MediaMessage): void {
    if (m.type === MessageType.DataAmf0 || m.sequenceHeader) return;
    if (!this.options.gopCache) return;
    if (m.type === MessageType.Video) {
      this.audioSinceVideo = 0;
      if (m.keyframe) this.gop = [];
    } else if (++this.audioSinceVideo > PURE_AUDIO_GUESS && this.videoHeader === undefined) {
      // pure audio: nothing to start on, keep no GOP
      this.gop = [];
      return;
    }
    if (this.gop.length >= this.options.gopMaxFrames) this.gop = [];
    this.gop.push(m);
  }

  /**
   * What a joining player gets first: metadata, sequence headers, then the GOP (from a
   * keyframe). Cached per wire format until the next flush, so a ramp of joiners shares it.
   */
  joinBytes(format: WireFormat): Buffer {
    const key = formatKey(format);
    let bytes = this.joinCache.get(key);
    if (bytes === undefined) {
      // headers carry the GOP's start time so players see no timestamp jump
      const start = this.gop.length > 0 ? this.gop[0]!.timestamp : this.lastTimestamp;
      bytes = Buffer.concat([this.headerBytes(format, start), serialise(this.gop, format).bytes]);
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
    return [this.metadata, this.videoHeader, this.audioHeader, ...this.gop, ...this.batch.messages].filter((m): m is MediaMessage => m !== undefined);
  }

  /** True when the GOP cache starts on a keyframe (a joiner can start decoding at once). */
  get hasGop(): boolean {
    return this.gop.length > 0 && this.gop[0]!.keyframe;
  }

  addConsumer(c: Consumer): void {
    if (this.hasGop) {
      const join = this.joinBytes(c.format);
      c.writeRaw(join);
      this.sendBytes += join.length;
    }
    else c.resumeAtKeyframe(); // headers are sent with the first keyframe
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
