/**
 * WebRTC -> RTMP (vhost `rtc { rtc_to_rtmp on; }`): a sink on a WHIP stream depacketizes its
 * H.264 into FLV video (the AVC sequence header from SPS/PPS, the keyframe flag from IDR) and turns
 * its Opus into AAC (one ffmpeg per stream), and publishes both into the live source of the same
 * vhost/app/stream, so it plays over RTMP and HTTP-FLV and shows in the API as any stream.
 */
import { buildAudioSpecificConfig, type AacConfig } from '../../../protocol/audio/aac.js';
import { buildAvcConfig, flvAvcFrame, flvAvcSequenceHeader, H264Depacketizer, NalType, parseRtpHeader, type AccessUnit } from '../../../protocol/rtp-h264/index.js';
import type { LiveSource } from '../../live/source.js';
import type { SourceRegistry } from '../../live/registry.js';
import type { Logger } from '../../log.js';
import type { RtcMediaKind, RtcStreamPort, RtpSink } from '../contracts.js';
import { logTranscoderCost, OpusToAac } from './audio.js';

/** FLV AAC sound byte: AAC, 44 kHz flag, 16-bit, stereo (players read the real rate from the config) */
const FLV_AAC = 0xaf;

export class RtcToRtmp implements RtpSink {
  private readonly depacketizer = new H264Depacketizer((u) => this.onUnit(u));
  private unsubscribe: (() => void) | undefined;
  private readonly t0 = Date.now();
  private videoFirst: { rtp: number; ms: number } | undefined;
  private audioFirst: { rtp: number; ms: number } | undefined;
  private headerVersion = -1;
  private aacHeaderSent = false;
  private aacFrames = 0;
  private aacStartMs = 0;
  private opus: OpusToAac | undefined;
  private pliTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastKeyframeAsk = 0;
  audioUnavailable: string | undefined;
  readonly videoCodec: string | undefined;

  constructor(
    private readonly port: RtcStreamPort,
    private readonly source: LiveSource,
    private readonly registry: SourceRegistry,
    private readonly log: Logger,
    opts: { noTranscoder: string | undefined; pliForRtmpSeconds: number },
  ) {
    const video = port.tracks.find((t) => t.kind === 'video');
    const audio = port.tracks.find((t) => t.kind === 'audio');
    this.videoCodec = video?.codec;
    if (video && video.codec.toUpperCase() !== 'H264') this.log.warn(`RTC->RTMP ${port.key}: video is ${video.codec}, RTMP carries H.264 only: no video`);
    if (audio) {
      if (audio.codec.toLowerCase() !== 'opus') this.setAudioUnavailable(`the WebRTC audio is ${audio.codec}, not Opus`);
      else if (opts.noTranscoder) this.setAudioUnavailable(opts.noTranscoder);
      else {
        this.opus = new OpusToAac(audio.channels ?? 2, (cfg, raw) => this.onAac(cfg, raw), (reason) => {
          if (!this.stopped) this.setAudioUnavailable(`transcoder ended (${reason})`);
        });
        this.log.trace(`RTC->RTMP ${port.key}: Opus -> AAC by ffmpeg pid ${this.opus.pid}`);
      }
    }
    this.unsubscribe = port.subscribe(this);
    // SRS's pli_for_rtmp: ask for a keyframe every few seconds so RTMP players can join
    this.pliTimer = setInterval(() => port.requestKeyframe(), opts.pliForRtmpSeconds * 1000);
    this.pliTimer.unref();
  }

  private setAudioUnavailable(reason: string): void {
    if (this.audioUnavailable === reason) return;
    this.audioUnavailable = reason;
    this.source.audioUnavailable = reason;
    this.log.warn(`RTC->RTMP ${this.port.key}: no audio for RTMP players: ${reason}`);
  }

  /**
   * ms on the RTMP timeline for an RTP timestamp: anchored at the first packet's arrival, unwrapped
   * across the 32-bit wrap (13 h at 90 kHz) by adding each step to the anchor's running total.
   */
  private ms(anchor: { rtp: number; ms: number; ticks?: number }, rtp: number, clock: number): number {
    anchor.ticks = (anchor.ticks ?? 0) + ((rtp - anchor.rtp) | 0);
    anchor.rtp = rtp;
    return Math.max(0, Math.round(anchor.ms + (anchor.ticks * 1000) / clock));
  }

  onRtp(kind: RtcMediaKind, packet: Buffer): void {
    if (this.stopped) return;
    if (kind === 'video') {
      if (this.videoCodec?.toUpperCase() !== 'H264') return;
      this.depacketizer.push(packet);
      if (this.depacketizer.waitingKeyframe && Date.now() - this.lastKeyframeAsk > 1000) {
        this.lastKeyframeAsk = Date.now();
        this.port.requestKeyframe();
      }
    } else if (this.opus) {
      const h = parseRtpHeader(packet);
      if (!h || h.payloadEnd <= h.payloadOffset) return;
      if (!this.audioFirst) {
        // AAC frames come out of ffmpeg later; they are stamped from the first Opus packet's time on
        this.audioFirst = { rtp: h.timestamp, ms: Date.now() - this.t0 };
        this.aacStartMs = this.audioFirst.ms;
      }
      this.opus.push(packet.subarray(h.payloadOffset, h.payloadEnd));
    }
  }

  private onUnit(u: AccessUnit): void {
    const d = this.depacketizer;
    if (!d.sps || !d.pps) return;
    this.videoFirst ??= { rtp: u.timestamp, ms: Date.now() - this.t0 };
    const ms = this.ms(this.videoFirst, u.timestamp, 90000);
    if (this.headerVersion !== d.parameterSetsVersion) {
      this.headerVersion = d.parameterSetsVersion;
      this.source.onVideo(ms, flvAvcSequenceHeader(buildAvcConfig([d.sps], [d.pps])));
    }
    const nalus = u.nalus.filter((n) => {
      const t = n[0]! & 0x1f;
      return t !== NalType.SPS && t !== NalType.PPS && t !== NalType.AUD;
    });
    if (nalus.length === 0) return;
    this.source.onVideo(ms, flvAvcFrame(nalus, u.keyframe));
  }

  private onAac(cfg: AacConfig, raw: Buffer): void {
    if (this.stopped) return;
    if (!this.aacHeaderSent) {
      this.aacHeaderSent = true;
      const asc = buildAudioSpecificConfig(cfg);
      this.source.onAudio(this.aacStartMs, Buffer.concat([Buffer.from([FLV_AAC, 0]), asc]));
    }
    const ms = Math.round(this.aacStartMs + (this.aacFrames++ * 1024 * 1000) / cfg.sampleRate);
    const payload = Buffer.allocUnsafe(2 + raw.length);
    payload[0] = FLV_AAC;
    payload[1] = 1;
    raw.copy(payload, 2);
    this.source.onAudio(ms, payload);
  }

  /** the transcoder's CPU seconds so far */
  transcoderCpuSeconds(): number | undefined {
    return this.opus?.cpuSeconds();
  }

  get stats() {
    return this.depacketizer.stats;
  }

  onEnd(): void {
    this.stop();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.pliTimer);
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    logTranscoderCost(this.log, `RTC->RTMP ${this.port.key}`, this.opus, this.t0);
    this.opus?.stop();
    this.source.stopPublish();
    this.source.audioUnavailable = undefined;
    this.registry.release(this.source);
    this.log.trace(`RTC->RTMP ${this.port.key}: ended`);
  }
}
