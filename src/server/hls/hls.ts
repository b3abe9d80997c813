/**
 * HLS for `srsx serve`, as SRS does it: one MPEG-TS muxer per live stream fed by a source tap
 * (never per player), segments cut at a keyframe once they reach hls_fragment × hls_td_ratio
 * (pure audio: hls_fragment × hls_aof_ratio), a sliding playlist of hls_window seconds, files
 * written asynchronously through temp files and renames. A publisher that comes back continues
 * the sequence numbers with #EXT-X-DISCONTINUITY; hls_dispose removes the files after it left.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
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
  /** hls_keys: the AES-128 key that encrypted the segment (IV: the sequence number) */
  key?: HlsKey;
  /** its file (or key) could not be written: not in any playlist */
  failed?: boolean;
}

/** One AES-128 key of hls_keys, used by hls_fragments_per_key segments in a row. */
export interface HlsKey {
  /** the sequence number of its first segment (its file name's [seq]) */
  seq: number;
  bytes: Buffer;
  /** what the playlist names */
  uri: string;
  /** absolute file path */
  file: string;
  /** resolves false when the key file could not be written */
  written?: Promise<boolean>;
}

/** The IV of a segment: its sequence number as a 128-bit big-endian integer (the HLS default). */
export function segmentIv(seq: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(BigInt(seq), 8);
  return iv;
}

/** AES-128-CBC with PKCS7 padding over the whole segment, as HLS's METHOD=AES-128 wants. */
export function encryptSegment(parts: Buffer[], key: Buffer, seq: number): Buffer[] {
  const c = createCipheriv('aes-128-cbc', key, segmentIv(seq));
  const out = parts.map((p) => c.update(p));
  out.push(c.final());
  return out;
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
  /** segments not published: a file could not be written */
  writeErrors: number;
  diskErrors: number;
  lastError: string | undefined;
  keys: boolean;
}

/** Counters since the server started (every stream's, disposed ones included). */
export interface HlsTotals {
  /** segments written and named in a playlist */
  segments: number;
  /** segments not published because a file (segment, key or playlist) could not be written */
  writeErrors: number;
  /** segments dropped because the disk was too slow */
  dropped: number;
}

export function formatPlaylist(segments: readonly HlsSegment[], maxTdSeconds: number): string {
  if (segments.length === 0) return '';
  let maxMs = 0;
  for (const s of segments) maxMs = Math.max(maxMs, s.durationMs);
  const target = Math.ceil(Math.max(maxMs, Math.round(maxTdSeconds * 1000)) / 1000);
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-MEDIA-SEQUENCE:${segments[0]!.seq}`, `#EXT-X-TARGETDURATION:${target}`];
  for (const s of segments) {
    if (s.discontinuity) lines.push('#EXT-X-DISCONTINUITY');
    // the IV is explicit: a segment dropped on a slow disk leaves a gap in the numbers, so the
    // playlist position would no longer give the sequence number a client derives the IV from
    if (s.key) lines.push(`#EXT-X-KEY:METHOD=AES-128,URI="${s.key.uri}",IV=0x${segmentIv(s.seq).toString('hex')}`);
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
  /**
   * each segment written and in the playlist, with the source publishing it when it was cut and
   * what `capture` said about that source then (the http hooks on_hls, on_hls_notify: the publisher
   * may have left by the time the files are on disk)
   */
  onSegment?: (seg: HlsSegment, source: LiveSource | undefined, captured: unknown) => void;
  capture?: (source: LiveSource) => unknown;
  /** each segment whose file (or key file) could not be written */
  onWriteError?: (seg: HlsSegment) => void;
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
  /** segments whose files could not be written (counted once per segment) */
  writeErrors = 0;
  private aesKey: HlsKey | undefined;
  readonly disk: DiskQueue;
  readonly m3u8Rel: string;
  readonly m3u8File: string;

  constructor(
    readonly names: StreamNames,
    private cfg: HlsConfig,
    private readonly log: Logger,
    private readonly onDisposed: (s: HlsStream) => void,
    private readonly cwd = process.cwd(),
    /** the server's counters since start (the exporter's), shared by every stream */
    private readonly totals: HlsTotals = { segments: 0, writeErrors: 0, dropped: 0 },
  ) {
    this.muxer = new FlvTsMuxer({ dtsDirectly: cfg.dtsDirectly });
    this.disk = new DiskQueue((what) => log.warn(`hls ${this.key}: ${what}`));
    this.m3u8Rel = buildStreamPath(cfg.m3u8File, names);
    this.m3u8File = path.resolve(cwd, cfg.path, this.m3u8Rel);
  }

  get key(): string {
    return `${this.names.vhost}/${this.names.app}/${this.names.stream}`;
  }

  get config(): HlsConfig {
    return this.cfg;
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
    // hls_vcodec vn / hls_acodec an: that track stays out of the segments (SRS's pure audio/video HLS)
    if (m.type === MessageType.Video) {
      if (this.cfg.vcodec !== 'vn') this.onVideo(m);
    } else if (m.type === MessageType.Audio) {
      if (this.cfg.acodec !== 'an') this.onAudio(m);
    }
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
      this.totals.dropped++;
      this.discontinuityNext = true;
      const stalled = this.disk.stalledMs > this.disk.maxStallMs ? `, a write stuck for ${Math.round(this.disk.stalledMs / 1000)} s` : '';
      this.log.warn(`hls ${this.key}: disk too slow (${this.disk.pendingJobs} writes, ${this.disk.pendingBytes} bytes pending${stalled}): segment ${c.seq} dropped`);
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
    let parts = c.parts;
    if (this.cfg.keys) {
      seg.key = this.keyFor(c.seq);
      parts = encryptSegment(parts, seg.key.bytes, c.seq);
    }
    this.segments.push(seg);
    const expired = shrinkWindow(this.segments, this.cfg.window * 1000);
    const window = [...this.segments];
    // the key and segment files are on disk before a playlist names them: the playlist job runs
    // after them in the queue, and leaves out a segment (or key) that could not be written
    const keyOk = seg.key?.written ?? Promise.resolve(true);
    const source = this.source;
    const captured = source ? this.capture?.(source) : undefined;
    const segOk = this.disk.writeAtomic(seg.file, parts, `segment ${seg.file}`);
    let playlistBytes = 0;
    for (const s of window) playlistBytes += 64 + s.uri.length;
    this.disk.run(
      `write playlist ${this.m3u8File}`,
      async () => {
        if (!(await keyOk) || !(await segOk)) {
          seg.failed = true;
          this.writeErrors++;
          this.totals.writeErrors++;
          const i = this.segments.indexOf(seg);
          // what follows the hole starts with a discontinuity: the next segment, cut already or still growing
          const next = i >= 0 ? this.segments[i + 1] : undefined;
          if (i >= 0) this.segments.splice(i, 1);
          if (next) next.discontinuity = true;
          else if (this.current) this.current.discontinuity = true;
          else this.discontinuityNext = true;
          if (seg.key && this.aesKey === seg.key) this.aesKey = undefined; // a new key (and file) for the next segment
          this.log.warn(`hls ${this.key}: segment ${seg.seq} not written (${this.disk.lastError ?? 'disk error'}); left out of the playlist`);
          this.onWriteError?.(seg);
        }
        if (seg.failed) return;
        try {
          await this.disk.writeNow(this.m3u8File, [Buffer.from(formatPlaylist(window.filter((s) => !s.failed), this.maxTd))]);
        } catch (err) {
          this.writeErrors++; // the segment is on disk, but no playlist names it
          this.totals.writeErrors++;
          this.onWriteError?.(seg);
          throw err;
        }
        this.totals.segments++;
        this.onSegment?.(seg, source, captured);
      },
      playlistBytes,
    );
    if (this.cfg.cleanup) {
      for (const e of expired) this.disk.unlink(e.file);
      this.removeUnusedKeys(expired);
    }
  }

  /** The key of segment `seq`: a new one (file written first) every hls_fragments_per_key segments. */
  private keyFor(seq: number): HlsKey {
    const k = this.aesKey;
    if (k && seq % this.cfg.fragmentsPerKey !== 0 && seq > k.seq && seq - k.seq < this.cfg.fragmentsPerKey) return k;
    const rel = buildStreamPath(this.cfg.keyFile, this.names).replaceAll('[seq]', String(seq));
    const key: HlsKey = {
      seq,
      bytes: randomBytes(16),
      uri: this.cfg.keyUrl !== '' ? this.cfg.keyUrl + rel : segmentUri(rel, this.m3u8Rel, ''),
      file: path.resolve(this.cwd, this.cfg.keyFilePath, rel),
    };
    key.written = this.disk.writeAtomic(key.file, [key.bytes], `key ${key.file}`);
    this.aesKey = key;
    return key;
  }

  /** Removes the key files no segment of the window (nor the next segment) uses any more. */
  private removeUnusedKeys(expired: HlsSegment[]): void {
    const used = new Set<HlsKey | undefined>(this.segments.map((s) => s.key));
    used.add(this.aesKey);
    const gone = new Set<HlsKey>();
    for (const e of expired) if (e.key && !used.has(e.key)) gone.add(e.key);
    for (const k of gone) this.disk.unlink(k.file);
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
    const keys = new Set<HlsKey>();
    for (const s of this.segments.splice(0)) {
      this.disk.unlink(s.file);
      if (s.key) keys.add(s.key);
    }
    if (this.aesKey) keys.add(this.aesKey);
    this.aesKey = undefined;
    for (const k of keys) this.disk.unlink(k.file);
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
      writeErrors: this.writeErrors,
      diskErrors: this.disk.errors,
      lastError: this.disk.lastError,
      keys: this.cfg.keys,
    };
  }
}

/** Every stream's HLS on a server: starts on publish when the vhost has hls enabled. */
export class HlsManager {
  private readonly streams = new Map<string, HlsStream>();
  readonly totals: HlsTotals = { segments: 0, writeErrors: 0, dropped: 0 };

  /** each segment written (the http hooks on_hls, on_hls_notify), with what `capture` said when it was cut */
  onSegment?: (stream: HlsStream, seg: HlsSegment, source: LiveSource | undefined, captured: unknown) => void;
  capture?: (source: LiveSource) => unknown;

  constructor(private readonly log: Logger) {}

  /** Called when a source starts publishing. */
  onPublish(source: LiveSource, cfg: HlsConfig | undefined): void {
    if (!cfg?.enabled) return;
    const key = source.key;
    let s = this.streams.get(key);
    if (!s) {
      s = new HlsStream({ vhost: source.vhost, app: source.app, stream: source.name }, cfg, this.log, (d) => {
        if (this.streams.get(d.key) === d) this.streams.delete(d.key);
      }, process.cwd(), this.totals);
      const stream = s;
      s.onSegment = (seg, src, captured) => this.onSegment?.(stream, seg, src, captured);
      s.capture = (src) => this.capture?.(src);
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
