/**
 * DVR (`dvr { enabled on; dvr_plan session|segment; dvr_path ...; }`), as SRS: each publish is
 * recorded to FLV by a source tap (once per stream), through `<file>.tmp` renamed when the
 * file is done. The session plan writes one file per publish; the segment plan starts a new
 * file at a keyframe (or at once with dvr_wait_keyframe off) after dvr_duration seconds.
 * time_jitter full|zero|off corrects the timestamps as SRS's jitter does. A .mp4 dvr_path records
 * MP4 (moov written when the file ends). Disk work is
 * asynchronous; a disk slower than the stream drops the recording with a warning.
 */
import fs from 'node:fs';
import path from 'node:path';
import { encodeTag, flvFileHeader } from '../../protocol/flv.js';
import { Mp4Writer } from '../../protocol/mp4/writer.js';
import { MessageType } from '../../protocol/rtmp/message.js';
import type { DvrConfig } from '../config/types.js';
import { DiskQueue, writeAll } from '../hls/disk.js';
import { buildStreamPath, buildTimePath, type StreamNames } from '../hls/path.js';
import type { MediaMessage } from '../live/media.js';
import type { LiveSource, SourceTap } from '../live/source.js';
import type { Logger } from '../log.js';

/** SRS's jitter constants: a step outside ±250 ms becomes 10 ms */
const MAX_JITTER_MS = 250;
const DEFAULT_FRAME_MS = 10;
/** buffered tags are written at least this often */
const FLUSH_MS = 1000;
const FLUSH_BYTES = 1024 * 1024;

/** SRS's time_jitter for one file. */
export class Jitter {
  private last = -1;
  private corrected = 0;
  private first = -1;

  constructor(private readonly mode: 'full' | 'zero' | 'off') {}

  correct(ts: number): number {
    if (this.mode === 'off') return ts;
    if (this.mode === 'zero') {
      if (this.first < 0) this.first = ts;
      return Math.max(0, ts - this.first);
    }
    if (this.last < 0) {
      this.last = ts;
      this.corrected = 0;
      return 0;
    }
    let delta = ts - this.last;
    if (delta < -MAX_JITTER_MS || delta > MAX_JITTER_MS) delta = DEFAULT_FRAME_MS;
    this.corrected = Math.max(0, this.corrected + delta);
    this.last = ts;
    return this.corrected;
  }
}

/** dvr_path without a file name (SRS 1 style) gets `/[app]/[stream].[timestamp].flv`. */
export function dvrTemplate(p: string): string {
  return /\.(flv|mp4)$/.test(p) ? p : `${p.replace(/\/+$/, '')}/[app]/[stream].[timestamp].flv`;
}

export function dvrApplies(cfg: DvrConfig, app: string, stream: string): boolean {
  return cfg.apply.includes('all') || cfg.apply.includes(`${app}/${stream}`);
}

interface OpenFile {
  file: string;
  jitter: Jitter;
  startTs: number;
  lastTs: number;
  fh: Promise<fs.promises.FileHandle | undefined>;
  /** set for a .mp4 dvr_path (else FLV) */
  mp4: Mp4Writer | undefined;
}

/** Counters since the server started (every recording's, finished ones included). */
export interface DvrTotals {
  /** files finished under their final name */
  files: number;
  /** failed disk operations (open, write, close, rename) */
  errors: number;
  /** recordings dropped (a disk too slow, or a file that could not be opened) */
  dropped: number;
}

export interface DvrStats {
  vhost: string;
  app: string;
  stream: string;
  plan: string;
  file: string | undefined;
  files: number;
  dropped: boolean;
  diskErrors: number;
  lastError: string | undefined;
}

class DvrRecorder implements SourceTap {
  private current: OpenFile | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private metadata: MediaMessage | undefined;
  private videoHeader: MediaMessage | undefined;
  private audioHeader: MediaMessage | undefined;
  private sawKeyframe = false;
  private stopped = false;
  dropped = false;
  files = 0;
  readonly disk: DiskQueue;

  constructor(
    readonly names: StreamNames,
    private readonly cfg: DvrConfig,
    private readonly source: LiveSource,
    private readonly log: Logger,
    private readonly onDone: (r: DvrRecorder) => void,
    private readonly cwd = process.cwd(),
    private readonly totals: DvrTotals = { files: 0, errors: 0, dropped: 0 },
  ) {
    this.disk = new DiskQueue((what) => {
      totals.errors++;
      log.warn(`dvr ${source.key}: ${what}`);
    }, 32 * 1024 * 1024);
    source.taps.add(this);
  }

  /** a file is complete under its final name (the http hook on_dvr) */
  onFile?: (file: string) => void;

  get file(): string | undefined {
    return this.current?.file;
  }

  onMessage(m: MediaMessage): void {
    if (this.stopped) return;
    if (m.type === MessageType.DataAmf0) this.metadata = m;
    else if (m.sequenceHeader) {
      if (m.type === MessageType.Video) this.videoHeader = m;
      else this.audioHeader = m;
    } else if (m.type === MessageType.Video) {
      if (!this.sawKeyframe && !m.keyframe) return;
      this.sawKeyframe = true;
    }
    const isMedia = m.type !== MessageType.DataAmf0 && !m.sequenceHeader;
    if (this.current && isMedia && this.cfg.plan === 'segment') {
      const dur = m.timestamp - this.current.startTs;
      const isVideo = m.type === MessageType.Video;
      const canCut = !this.cfg.waitKeyframe || m.keyframe || (!isVideo && this.videoHeader === undefined);
      if (dur >= this.cfg.duration * 1000 && canCut) this.close();
    }
    if (!this.current) {
      this.open(m.timestamp);
      if (this.stopped) return;
      // a new segment repeats the metadata and sequence headers (the current message is written below)
      for (const h of [this.metadata, this.videoHeader, this.audioHeader]) if (h && h !== m) this.write(h, m.timestamp);
    }
    this.write(m);
  }

  private write(m: MediaMessage, at = m.timestamp): void {
    const c = this.current!;
    const ts = m.type === MessageType.DataAmf0 ? 0 : c.jitter.correct(at);
    if (m.type !== MessageType.DataAmf0) c.lastTs = m.timestamp;
    let tag: Buffer | undefined;
    if (c.mp4) {
      if (m.type === MessageType.Video) tag = c.mp4.videoMessage(ts, m.payload);
      else if (m.type === MessageType.Audio) tag = c.mp4.audioMessage(ts, m.payload);
      else {
        const meta = this.source.metadataObject;
        if (typeof meta?.width === 'number' && typeof meta.height === 'number') {
          c.mp4.width = Math.round(meta.width);
          c.mp4.height = Math.round(meta.height);
        }
      }
      if (!tag) return;
    } else tag = encodeTag(m.type, ts, m.payload);
    this.pending.push(tag);
    this.pendingBytes += tag.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS);
      this.timer.unref?.();
    }
  }

  private open(ts: number): void {
    const rel = buildTimePath(buildStreamPath(dvrTemplate(this.cfg.path), this.names), new Date());
    const file = path.resolve(this.cwd, rel);
    const tmp = `${file}.tmp`;
    const fh = (async () => {
      await this.disk.mkdirFor(tmp);
      return fs.promises.open(tmp, 'w');
    })();
    const guarded = fh.catch((err: Error) => {
      this.totals.errors++;
      this.disk.lastError = `open ${tmp}: ${err.message}`;
      this.log.warn(`dvr ${this.source.key}: cannot open ${tmp}: ${err.message}; recording dropped`);
      this.drop();
      return undefined;
    });
    const mp4 = rel.endsWith('.mp4') ? new Mp4Writer() : undefined;
    this.current = { file, jitter: new Jitter(this.cfg.timeJitter), startTs: ts, lastTs: ts, fh: guarded, mp4 };
    this.files++;
    const head = mp4 ? mp4.begin() : flvFileHeader(true, true);
    this.pending.push(head);
    this.pendingBytes += head.length;
    this.log.trace(`dvr ${this.source.key}: start ${this.cfg.plan} file ${file}`);
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const c = this.current;
    if (!c || this.pending.length === 0) return;
    if (this.disk.backlogged) {
      const stalled = this.disk.stalledMs > this.disk.maxStallMs ? `, a write stuck for ${Math.round(this.disk.stalledMs / 1000)} s` : '';
      this.log.warn(`dvr ${this.source.key}: disk too slow (${this.disk.pendingBytes} bytes pending${stalled}): recording of ${c.file} dropped`);
      this.drop();
      return;
    }
    const parts = this.pending;
    this.pending = [];
    const bytes = this.pendingBytes;
    this.pendingBytes = 0;
    this.disk.run(
      `write ${c.file}`,
      async () => {
        const fh = await c.fh;
        if (fh) await writeAll(fh, parts);
      },
      bytes,
    );
  }

  /** Finishes the current file: last writes, close, rename. */
  private close(): void {
    const c = this.current;
    // MP4: the moov goes at the end, then the mdat size is patched
    const mp4 = c?.mp4 && !this.dropped ? c.mp4.finish() : undefined;
    if (mp4) {
      this.pending.push(mp4.moov);
      this.pendingBytes += mp4.moov.length;
    }
    this.flush();
    if (!c || this.current !== c) return; // dropped (and closed) while flushing
    this.current = undefined;
    this.disk.run(`close ${c.file}`, async () => {
      const fh = await c.fh;
      if (!fh) return;
      if (mp4) await fh.write(mp4.patch.bytes, 0, mp4.patch.bytes.length, mp4.patch.position);
      await fh.close();
      await fs.promises.rename(`${c.file}.tmp`, c.file);
      this.log.trace(`dvr ${this.source.key}: ${c.file} done, ${((c.lastTs - c.startTs) / 1000).toFixed(1)}s`);
      this.totals.files++;
      this.onFile?.(c.file);
    });
  }

  /** Stops recording; what was written so far is kept under its final name. */
  private drop(): void {
    if (this.dropped) return;
    this.dropped = true;
    this.totals.dropped++;
    this.pending = [];
    this.pendingBytes = 0;
    this.close();
    this.stop();
  }

  onUnpublish(): void {
    this.close();
    this.stop();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    this.source.taps.delete(this);
    this.onDone(this);
  }

  stats(): DvrStats {
    return { ...this.names, plan: this.cfg.plan, file: this.file, files: this.files, dropped: this.dropped, diskErrors: this.disk.errors, lastError: this.disk.lastError };
  }
}

export class DvrManager {
  private readonly active = new Map<string, DvrRecorder>();
  readonly totals: DvrTotals = { files: 0, errors: 0, dropped: 0 };

  /** each finished file, with its source (the http hook on_dvr) */
  onFile?: (source: LiveSource, file: string) => void;

  constructor(private readonly log: Logger) {}

  onPublish(source: LiveSource, cfg: DvrConfig | undefined): void {
    if (!cfg?.enabled || !dvrApplies(cfg, source.app, source.name)) return;
    const key = source.key;
    this.active.get(key)?.stop();
    const r = new DvrRecorder({ vhost: source.vhost, app: source.app, stream: source.name }, cfg, source, this.log, (done) => {
      // a dropped recording stays listed (the API shows it) until the stream publishes again
      if (this.active.get(key) === done && !done.dropped) this.active.delete(key);
    }, process.cwd(), this.totals);
    r.onFile = (file) => this.onFile?.(source, file);
    this.active.set(key, r);
  }

  find(vhost: string, app: string, stream: string): DvrRecorder | undefined {
    return this.active.get(`${vhost}/${app}/${stream}`);
  }

  all(): DvrStats[] {
    return [...this.active.values()].map((r) => r.stats());
  }

  stop(): void {
    for (const r of [...this.active.values()]) r.onUnpublish();
  }
}
