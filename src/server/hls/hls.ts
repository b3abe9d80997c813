/**
 * HLS for `srsx serve`, as SRS does it: one MPEG-TS muxer per live stream fed by a source tap
 * (never per player), segments cut at a keyframe once they reach hls_fragment × hls_td_ratio
 * (pure audio: hls_fragment × hls_aof_ratio), a sliding playlist of hls_window seconds, files
 * written asynchronously through temp files and renames. A publisher that comes back continues
 * the sequence numbers with #EXT-X-DISCONTINUITY; hls_dispose removes the files after it left.
 */
import path from 'node:path';
import { FlvTsMuxer } from '../../protocol/mpegts/muxer.js';
import { MessageType } from '../../protocol/rtmp/message.js';
import type { HlsConfig } from '../config/types.js';
import type { MediaMessage } from '../live/media.js';
import type { LiveSource, SourceTap } from '../live/source.js';
import type { Logger } from '../log.js';
import { DiskQueue } from './disk.js';
import { buildStreamPath, buildTimePath, dirOf, type StreamNames } from './path.js';

/** segments shorter than this are dropped (SRS: 100 ms) */
const MIN_SEGMENT_MS = 100;
/** ts_floor: deviation share of a fragment, and the piece jump that resets it (SRS's values) */
const FLOOR_REAP_PERCENT = 0.3;
const FLOOR_JUMP = 20;
/** a DTS this far before the segment start restarts the segment clock (timestamp jump) */
const BACKWARD_JUMP_90K = 300 * 90;
/** a segment is cut at this size whatever its timestamps say (a publisher whose clock stands still) */
const MAX_SEGMENT_BYTES = 256 * 1024 * 1024;

export interface HlsSegment {
  seq: number;
  /** what the playlist names */
  uri: string;
  /** absolute file path */
  file: string;
  durationMs: number;
  discontinuity: boolean;
}

interface OpenSegment {
  seq: number;
  fileTemplate: string;
  startDts: number;
  lastDts: number;
  parts: Buffer[];
  bytes: number;
  discontinuity: boolean;
}

export interface HlsStreamStats {
  vhost: string;
  app: string;
  stream: string;
  publishing: boolean;
  m3u8: string;
  sequence: number;
  segments: number;
  lastSegment: HlsSegment | undefined;
  droppedSegments: number;
  diskErrors: number;
}

export function formatPlaylist(segments: readonly HlsSegment[], maxTdSeconds: number): string {
  if (segments.length === 0) return '';
  let maxMs = 0;
  for (const s of segments) maxMs = Math.max(maxMs, s.durationMs);
  const target = Math.ceil(Math.max(maxMs, Math.round(maxTdSeconds * 1000)) / 1000);
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-MEDIA-SEQUENCE:${segments[0]!.seq}`, `#EXT-X-TARGETDURATION:${target}`];
  for (const s of segments) {
    if (s.discontinuity) lines.push('#EXT-X-DISCONTINUITY');
    lines.push(`#EXTINF:${(s.durationMs / 1000).toFixed(3)}, no desc`, s.uri);
  }
  return lines.join('\n') + '\n';
}

/**
 * SRS's window: walking from the newest segment, the first one at which the total passes
 * `windowMs` is the oldest kept; the ones before it expire.
 */
export function shrinkWindow(segments: HlsSegment[], windowMs: number): HlsSegment[] {
  let total = 0;
  let removeBefore = -1;
  for (let i = segments.length - 1; i >= 0; i--) {
    total += segments[i]!.durationMs;
    if (total > windowMs) {
      removeBefore = i;
      break;
    }
  }
  return removeBefore > 0 ? segments.splice(0, removeBefore) : [];
}

/** The playlist URI of a segment file: relative to the m3u8's directory, behind hls_entry_prefix. */
export function segmentUri(tsRelPath: string, m3u8RelPath: string, entryPrefix: string): string {
  const m3u8Dir = dirOf(m3u8RelPath);
  let rel = tsRelPath;
  if (m3u8Dir && rel.startsWith(m3u8Dir)) rel = rel.slice(m3u8Dir.length);
  rel = rel.replace(/^\/+/, '');
  let uri = entryPrefix;
  if (entryPrefix !== '' && !entryPrefix.endsWith('/')) {
    uri += '/';
    if (m3u8Dir) uri += `${m3u8Dir}/`;
  }
  return uri + rel;
}

/** One stream's HLS: lives from the first publish until hls_dispose after the last one. */
export class HlsStream implements SourceTap {
  /** each segment written, with the source publishing it (the http hook on_hls) */
  onSegment?: (seg: HlsSegment, source: LiveSource | undefined) => void;
  readonly segments: HlsSegment[] = [];
  private current: OpenSegment | undefined;
  private nextSeq = 0;
  private muxer: FlvTsMuxer;
  private source: LiveSource | undefined;
  private sawKeyframe = false;
  private discontinuityNext = false;
  private acceptFloor = 0;
  private deviation = 0;
  private disposeTimer: NodeJS.Timeout | undefined;
  droppedSegments = 0;
  readonly disk: DiskQueue;
  readonly m3u8Rel: string;
  readonly m3u8File: string;

  constructor(
    readonly names: StreamNames,
    private cfg: HlsConfig,
    private readonly log: Logger,
    private readonly onDisposed: (s: HlsStream) => void,
    private readonly cwd = process.cwd(),
  ) {
    this.muxer = new FlvTsMuxer({ dtsDirectly: cfg.dtsDirectly });
    this.disk = new DiskQueue((what) => log.warn(`hls ${this.key}: ${what}`));
    this.m3u8Rel = buildStreamPath(cfg.m3u8File, names);
    this.m3u8File = path.resolve(cwd, cfg.path, this.m3u8Rel);
  }

  get key(): string {
    return `${this.names.vhost}/${this.names.app}/${this.names.stream}`;
  }

  get publishing(): boolean {
    return this.source !== undefined;
  }

  private get maxTd(): number {
    return this.cfg.fragment * this.cfg.tdRatio;
  }

  /** A publisher starts (again): a new muxer, and a discontinuity when segments exist. */
  attach(source: LiveSource, cfg: HlsConfig): void {
    clearTimeout(this.disposeTimer);
    this.disposeTimer = undefined;
    this.cfg = cfg;
    this.muxer = new FlvTsMuxer({ dtsDirectly: cfg.dtsDirectly });
    this.sawKeyframe = false;
    if (this.segments.length > 0 || this.nextSeq > 0) this.discontinuityNext = true;
    this.source = source;
    source.taps.add(this);
    this.log.trace(`hls ${this.key}: publish, fragment=${cfg.fragment}s window=${cfg.window}s m3u8=${this.m3u8File}`);
  }

  onMessage(m: MediaMessage): void {
    if (m.type === MessageType.Video) this.onVideo(m);
    else if (m.type === MessageType.Audio) this.onAudio(m);
  }

  private onVideo(m: MediaMessage): void {
    const dts = m.timestamp * 90;
    if (!m.sequenceHeader) {
      if (!this.sawKeyframe) {
        if (!m.keyframe) return; // nothing decodable before the first keyframe
        this.sawKeyframe = true;
      }
      if (this.current) {
        this.updateDuration(dts);
        if (this.overflow(this.maxTd) && (m.keyframe || !this.cfg.waitKeyframe)) this.reap();
      }
    }
    const chunk = this.muxer.video(m.timestamp, m.payload);
    if (!chunk) return;
    this.append(chunk.bytes, dts);
  }

  private onAudio(m: MediaMessage): void {
    const dts = m.timestamp * 90;
    if (this.current && !m.sequenceHeader) {
      this.updateDuration(dts);
      // a pure audio stream is cut here; a stream whose keyframes stopped coming as well
      if (this.overflow(this.cfg.aofRatio * this.cfg.fragment)) this.reap();
    }
    const chunk = this.muxer.audio(m.timestamp, m.payload);
    if (!this.current && this.muxer.cachedAudioDts !== undefined) this.open(dts);
    if (chunk) this.append(chunk.bytes, dts);
  }

  private updateDuration(dts: number): void {
    const c = this.current!;
    if (dts < c.startDts - BACKWARD_JUMP_90K) c.startDts = dts;
    if (dts > c.lastDts) c.lastDts = dts;
  }

  private get durationMs(): number {
    const c = this.current;
    return c ? (c.lastDts - c.startDts) / 90 : 0;
  }

  private overflow(limitSeconds: number): boolean {
    const d = this.durationMs;
    if (d < 2 * MIN_SEGMENT_MS) return false;
    const deviation = this.cfg.tsFloor ? FLOOR_REAP_PERCENT * this.deviation * this.cfg.fragment : 0;
    return d >= (limitSeconds + deviation) * 1000;
  }

  private append(bytes: Buffer, dts: number): void {
    if (!this.current) this.open(dts);
    const c = this.current!;
    c.parts.push(bytes);
    c.bytes += bytes.length;
    if (c.bytes > MAX_SEGMENT_BYTES) {
      this.log.warn(`hls ${this.key}: segment ${c.seq} reached ${c.bytes} bytes in ${Math.round(this.durationMs)} ms of timestamps: cut`);
      this.reap();
    }
  }

  private open(dts: number): void {
    const seq = this.nextSeq++;
    let file = buildStreamPath(this.cfg.tsFile, this.names);
    if (this.cfg.tsFloor) {
      const currentFloor = Math.floor(Date.now() / (this.cfg.fragment * 1000));
      this.acceptFloor = this.acceptFloor === 0 ? currentFloor - 1 : this.acceptFloor + 1;
      if (this.acceptFloor - currentFloor > FLOOR_JUMP) this.acceptFloor = currentFloor - 1;
      this.deviation = this.acceptFloor - currentFloor;
      file = file.replaceAll('[timestamp]', String(this.acceptFloor));
    }
    file = buildTimePath(file, new Date()).replaceAll('[seq]', String(seq));
    this.current = { seq, fileTemplate: file, startDts: dts, lastDts: dts, parts: [this.muxer.tables()], bytes: 188 * 2, discontinuity: this.discontinuityNext };
    this.discontinuityNext = false;
  }

  /** Closes the open segment (its audio included), updates the playlist, opens none. */
  private reap(): void {
    const audio = this.muxer.flushAudio();
    if (audio && this.current) {
      this.current.parts.push(audio.bytes);
      this.current.bytes += audio.bytes.length;
    }
    const c = this.current;
    if (!c) return;
    this.current = undefined;
    const durationMs = Math.round((c.lastDts - c.startDts) / 90);
    if (durationMs < MIN_SEGMENT_MS || durationMs > this.maxTd * 3 * 1000) {
      this.nextSeq--; // SRS reuses the number of a dropped segment
      this.discontinuityNext ||= c.discontinuity;
      this.log.trace(`hls ${this.key}: drop segment ${c.seq} of ${durationMs} ms`);
      return;
    }
    if (this.disk.backlogged) {
      this.droppedSegments++;
      this.discontinuityNext = true;
      this.log.warn(`hls ${this.key}: disk too slow (${this.disk.pendingJobs} writes, ${this.disk.pendingBytes} bytes pending): segment ${c.seq} dropped`);
      return;
    }
    const rel = c.fileTemplate.replaceAll('[duration]', String(durationMs));
    const seg: HlsSegment = {
      seq: c.seq,
      uri: segmentUri(rel, this.m3u8Rel, this.cfg.entryPrefix),
      file: path.resolve(this.cwd, this.cfg.path, rel),
      durationMs,
      discontinuity: c.discontinuity,
    };
    this.segments.push(seg);
    const expired = shrinkWindow(this.segments, this.cfg.window * 1000);
    const playlist = formatPlaylist(this.segments, this.maxTd);
    this.disk.writeAtomic(seg.file, c.parts, `segment ${seg.file}`);
    this.onSegment?.(seg, this.source);
    this.disk.writeAtomic(this.m3u8File, [Buffer.from(playlist)], `playlist ${this.m3u8File}`);
    if (this.cfg.cleanup) for (const e of expired) this.disk.unlink(e.file);
  }

  onUnpublish(): void {
    this.reap();
    this.source?.taps.delete(this);
    this.source = undefined;
    this.log.trace(`hls ${this.key}: unpublish, ${this.segments.length} segments, next sequence ${this.nextSeq}`);
    if (this.cfg.dispose > 0) {
      this.disposeTimer = setTimeout(() => this.dispose(), this.cfg.dispose * 1000);
      this.disposeTimer.unref?.();
    }
  }

  /** Removes the playlist and every segment (hls_dispose after the publisher left). */
  dispose(): void {
    clearTimeout(this.disposeTimer);
    this.disposeTimer = undefined;
    if (this.source) return; // published again
    this.log.trace(`hls ${this.key}: dispose after ${this.cfg.dispose}s without a publisher`);
    this.disk.unlink(this.m3u8File);
    for (const s of this.segments.splice(0)) this.disk.unlink(s.file);
    this.onDisposed(this);
  }

  /** Stops the tap without writing (server stop). */
  stop(): void {
    clearTimeout(this.disposeTimer);
    this.source?.taps.delete(this);
    this.source = undefined;
  }

  stats(): HlsStreamStats {
    return {
      ...this.names,
      publishing: this.publishing,
      m3u8: this.m3u8File,
      sequence: this.nextSeq,
      segments: this.segments.length,
      lastSegment: this.segments.at(-1),
      droppedSegments: this.droppedSegments,
      diskErrors: this.disk.errors,
    };
  }
}

/** Every stream's HLS on a server: starts on publish when the vhost has hls enabled. */
export class HlsManager {
  private readonly streams = new Map<string, HlsStream>();

  /** each segment written (the http hook on_hls) */
  onSegment?: (stream: HlsStream, seg: HlsSegment, source: LiveSource | undefined) => void;

  constructor(private readonly log: Logger) {}

  /** Called when a source starts publishing. */
  onPublish(source: LiveSource, cfg: HlsConfig | undefined): void {
    if (!cfg?.enabled) return;
    const key = source.key;
    let s = this.streams.get(key);
    if (!s) {
      s = new HlsStream({ vhost: source.vhost, app: source.app, stream: source.name }, cfg, this.log, (d) => {
        if (this.streams.get(d.key) === d) this.streams.delete(d.key);
      });
      const stream = s;
      s.onSegment = (seg, src) => this.onSegment?.(stream, seg, src);
      this.streams.set(key, s);
    }
    s.attach(source, cfg);
  }

  find(vhost: string, app: string, stream: string): HlsStream | undefined {
    return this.streams.get(`${vhost}/${app}/${stream}`);
  }

  all(): HlsStream[] {
    return [...this.streams.values()];
  }

  stop(): void {
    for (const s of this.streams.values()) s.stop();
  }
}
