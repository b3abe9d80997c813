/**
 * RTMP/FLV messages → one continuous MPEG-TS stream (PAT/PMT, video PID 0x100, audio PID
 * 0x101). Used once per live stream by HLS and HTTP-TS; it keeps the codec configs, the
 * continuity counters and a small audio cache (several AAC/MP3 frames go into one PES).
 */
import {
  adtsHeader,
  mp3FrameInfo,
  parseAacConfig,
  parseAudioPayload,
  parseVideoConfig,
  parseVideoPayload,
  toAnnexB,
  type AacConfig,
  type VideoConfig,
} from './codec.js';
import { AUDIO_PID, StreamType, TsWriter, VIDEO_PID, type AudioStreamType, type VideoStreamType } from './ts.js';

export interface TsMuxerOptions {
  /** hls_dts_directly: audio DTS from the FLV timestamp (on) or from the sample count (off) */
  dtsDirectly?: boolean;
  /** audio frames are merged into one PES up to this many ms (default 100) */
  audioAggregateMs?: number;
}

/** A piece of TS output: whole 188-byte packets. */
export interface TsChunk {
  bytes: Buffer;
  /** starts with PAT/PMT and a video keyframe (or with the tables of an audio-only stream) */
  keyframe: boolean;
  /** 90 kHz DTS of the (last) media in the chunk */
  dts: number;
}

const AUDIO_CACHE_MAX_BYTES = 64 * 1024;
/** beyond this gap between the sample-count DTS and the FLV timestamp, follow the timestamp */
const AUDIO_RESYNC_90K = 90 * 200;

export class FlvTsMuxer {
  readonly ts = new TsWriter({});
  videoConfig: VideoConfig | undefined;
  aacConfig: AacConfig | undefined;
  audioCodec: 'aac' | 'mp3' | undefined;
  private tablesDirty = true;
  private audioParts: Buffer[] = [];
  private audioBytes = 0;
  private audioStartDts = 0;
  private audioLastDts = 0;
  // sample-count audio clock (dts_directly off)
  private audioClockBase = -1;
  private audioSamples = 0;
  private audioClockRate = 0;
  private readonly dtsDirectly: boolean;
  private readonly aggregate90k: number;

  constructor(opts: TsMuxerOptions = {}) {
    this.dtsDirectly = opts.dtsDirectly ?? true;
    this.aggregate90k = (opts.audioAggregateMs ?? 100) * 90;
  }

  get hasVideo(): boolean {
    return this.videoConfig !== undefined;
  }
  get hasAudio(): boolean {
    return this.audioCodec !== undefined;
  }

  /** PAT+PMT for the tracks known now. */
  tables(): Buffer {
    this.tablesDirty = false;
    return this.ts.tables();
  }

  private setTracks(video: VideoStreamType | undefined, audio: AudioStreamType | undefined): void {
    if (this.ts.tracks.video !== video || this.ts.tracks.audio !== audio) {
      this.ts.tracks = { video, audio };
      this.tablesDirty = true;
    }
  }

  private get videoType(): VideoStreamType | undefined {
    if (!this.videoConfig) return undefined;
    return this.videoConfig.codec === 'hevc' ? StreamType.HEVC : StreamType.H264;
  }
  private get audioType(): AudioStreamType | undefined {
    return this.audioCodec === 'aac' ? StreamType.AAC : this.audioCodec === 'mp3' ? StreamType.MP3 : undefined;
  }

  /**
   * A video message. Returns the TS for it (cached audio first, PAT/PMT before a keyframe),
   * or undefined for a sequence header / unusable payload.
   */
  video(timestampMs: number, payload: Buffer): TsChunk | undefined {
    const v = parseVideoPayload(payload);
    if (!v) return undefined;
    if (v.kind === 'config') {
      const cfg = parseVideoConfig(v.codec, v.data);
      if (cfg) {
        this.videoConfig = cfg;
        this.setTracks(this.videoType, this.audioType);
      }
      return undefined;
    }
    if (v.kind !== 'frame' || !this.videoConfig || this.videoConfig.codec !== v.codec) return undefined;
    const dts = timestampMs * 90;
    const pts = dts + v.cts * 90;
    const parts: Buffer[] = [];
    const audio = this.flushAudio();
    if (audio) parts.push(audio.bytes);
    if (v.keyframe || this.tablesDirty) parts.push(this.tables());
    const es = toAnnexB(v.data, this.videoConfig, v.keyframe);
    parts.push(this.ts.pes(VIDEO_PID, 0xe0, pts, dts, es, dts, v.keyframe));
    return { bytes: parts.length === 1 ? parts[0]! : Buffer.concat(parts), keyframe: v.keyframe, dts };
  }

  /** An audio message; the frame is cached and a chunk comes out when the cache is full. */
  audio(timestampMs: number, payload: Buffer): TsChunk | undefined {
    const a = parseAudioPayload(payload);
    if (!a || a.codec === 'other' || a.data.length === 0) return undefined;
    if (a.kind === 'config') {
      const cfg = parseAacConfig(a.data);
      if (cfg) {
        this.aacConfig = cfg;
        this.audioCodec = 'aac';
        this.setTracks(this.videoType, this.audioType);
      }
      return undefined;
    }
    let samples: number;
    let rate: number;
    if (a.codec === 'aac') {
      if (!this.aacConfig) return undefined;
      samples = 1024;
      rate = this.aacConfig.sampleRate;
    } else {
      if (this.audioCodec !== 'mp3') {
        this.audioCodec = 'mp3';
        this.setTracks(this.videoType, this.audioType);
      }
      const info = mp3FrameInfo(a.data);
      samples = info?.samples ?? 1152;
      rate = info?.sampleRate ?? a.flvRate;
    }
    const dts = this.audioDts(timestampMs * 90, samples, rate);
    let out: TsChunk | undefined;
    if (this.audioParts.length > 0 && (dts - this.audioStartDts >= this.aggregate90k || this.audioBytes >= AUDIO_CACHE_MAX_BYTES)) out = this.flushAudio();
    if (this.audioParts.length === 0) this.audioStartDts = dts;
    this.audioLastDts = dts;
    if (a.codec === 'aac') this.audioParts.push(adtsHeader(this.aacConfig!, a.data.length));
    this.audioParts.push(a.data);
    this.audioBytes += a.data.length + 7;
    return out;
  }

  private audioDts(flvDts: number, samples: number, rate: number): number {
    if (this.dtsDirectly) return flvDts;
    if (this.audioClockBase < 0 || rate !== this.audioClockRate) {
      this.audioClockBase = flvDts;
      this.audioSamples = 0;
      this.audioClockRate = rate;
    }
    let guess = this.audioClockBase + Math.round((this.audioSamples * 90000) / rate);
    if (Math.abs(guess - flvDts) > AUDIO_RESYNC_90K) {
      this.audioClockBase = flvDts;
      this.audioSamples = 0;
      guess = flvDts;
    }
    this.audioSamples += samples;
    return guess;
  }

  /** Writes the cached audio frames as one PES (PCR on it for an audio-only stream). */
  flushAudio(): TsChunk | undefined {
    if (this.audioParts.length === 0) return undefined;
    const parts = this.audioParts;
    this.audioParts = [];
    this.audioBytes = 0;
    const dts = this.audioStartDts;
    const pure = !this.hasVideo;
    const out: Buffer[] = [];
    if (this.tablesDirty) out.push(this.tables());
    out.push(this.ts.pes(AUDIO_PID, 0xc0, dts, dts, parts, pure ? dts : undefined, false));
    return { bytes: out.length === 1 ? out[0]! : Buffer.concat(out), keyframe: pure, dts: this.audioLastDts };
  }

  /** Audio cached but not yet written, in 90 kHz. */
  get cachedAudioDts(): number | undefined {
    return this.audioParts.length > 0 ? this.audioLastDts : undefined;
  }
}
