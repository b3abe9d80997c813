/**
 * RTMP -> WebRTC (vhost `rtc { rtmp_to_rtc on; }`): a tap on the live source turns its FLV video
 * (AVC) into H.264 RTP, SPS/PPS in a STAP-A before every IDR, and its AAC into Opus (one ffmpeg per
 * stream), and feeds the WebRTC stream once; the core fans it out to the WHEP players.
 */
import { randomBytes } from 'node:crypto';
import { parseAudioSpecificConfig, type AacConfig } from '../../../protocol/audio/aac.js';
import { ProtocolError } from '../../../protocol/errors.js';
import { MessageType } from '../../../protocol/rtmp/message.js';
import { H264Packetizer, NalType, nalType, parseAvcConfig, parseFlvAvc, splitAvcc, writeRtpHeader, RTP_HEADER_SIZE } from '../../../protocol/rtp-h264/index.js';
import type { MediaMessage } from '../../live/media.js';
import type { LiveSource, SourceTap } from '../../live/source.js';
import type { Logger } from '../../log.js';
import type { RtcStreamHub, RtcStreamPort, RtcTrackInfo } from '../contracts.js';
import { AacToOpus, logTranscoderCost } from './audio.js';

export const VIDEO_PT = 106;
export const AUDIO_PT = 111;
const OPUS_SAMPLES_PER_MS = 48;

export function bridgeTracks(withAudio: boolean): RtcTrackInfo[] {
  const ssrc = () => randomBytes(4).readUInt32BE(0) >>> 0 || 1;
  const tracks: RtcTrackInfo[] = [
    { kind: 'video', codec: 'H264', payloadType: VIDEO_PT, clockRate: 90000, fmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f', ssrc: ssrc() },
  ];
  if (withAudio) tracks.push({ kind: 'audio', codec: 'opus', payloadType: AUDIO_PT, clockRate: 48000, channels: 2, fmtp: 'minptime=10;useinbandfec=1', ssrc: ssrc() });
  return tracks;
}

export class RtmpToRtc implements SourceTap {
  private readonly packetizer: H264Packetizer;
  private readonly audioSsrc: number;
  private readonly audioPt: number;
  private sps: Buffer[] = [];
  private pps: Buffer[] = [];
  private lengthSize = 4;
  private started = false; // video sent from the first keyframe on
  private readonly videoBase = randomBytes(4).readUInt32BE(0);
  private readonly audioBase = randomBytes(4).readUInt32BE(0);
  private aac: AacConfig | undefined;
  private opus: AacToOpus | undefined;
  private audioSeq = randomBytes(2).readUInt16BE(0);
  private audioFirstMs: number | undefined;
  private audioSamples = 0;
  private stopped = false;
  /** why the WebRTC players get no audio (undefined while it flows or before any AAC) */
  audioUnavailable: string | undefined;
  videoPackets = 0;
  audioPackets = 0;
  private warned = new Set<string>();
  private readonly startedAt = Date.now();

  constructor(
    private readonly source: LiveSource,
    private readonly hub: RtcStreamHub,
    readonly port: RtcStreamPort,
    private readonly log: Logger,
    /** undefined: a transcoder can run; otherwise why not */
    noTranscoder: string | undefined,
  ) {
    const video = port.tracks.find((t) => t.kind === 'video')!;
    this.packetizer = new H264Packetizer({ payloadType: video.payloadType, ssrc: video.ssrc });
    const audio = port.tracks.find((t) => t.kind === 'audio');
    this.audioSsrc = audio?.ssrc ?? 0;
    this.audioPt = audio?.payloadType ?? AUDIO_PT;
    if (noTranscoder) this.setAudioUnavailable(noTranscoder);
    // a player that joins gets SPS/PPS with the next IDR (every keyframe carries them)
    port.onKeyframeRequest = () => undefined;
    source.taps.add(this);
    for (const m of source.cachedMessages()) this.onMessage(m);
  }

  private setAudioUnavailable(reason: string): void {
    if (this.audioUnavailable === reason) return;
    this.audioUnavailable = reason;
    this.port.audioUnavailable = reason;
    this.source.audioUnavailable = reason;
    this.log.warn(`RTMP->RTC ${this.source.key}: no audio for WebRTC players: ${reason}`);
  }

  private warnOnce(what: string, message: string): void {
    if (this.warned.has(what)) return;
    this.warned.add(what);
    this.log.warn(`RTMP->RTC ${this.source.key}: ${message}`);
  }

  onMessage(m: MediaMessage): void {
    if (this.stopped) return;
    try {
      if (m.type === MessageType.Video) this.video(m);
      else if (m.type === MessageType.Audio) this.audio(m);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.warnOnce(`bad-${m.type}`, `${err.message} (message skipped)`);
      if (m.type === MessageType.Video) this.started = false; // restart at the next keyframe
    }
  }

  private video(m: MediaMessage): void {
    const avc = parseFlvAvc(m.payload);
    if (!avc) {
      this.warnOnce('codec', 'video is not H.264 (AVC): WebRTC players get no video');
      return;
    }
    if (avc.packetType === 0) {
      const cfg = parseAvcConfig(avc.data);
      this.sps = cfg.sps;
      this.pps = cfg.pps;
      this.lengthSize = cfg.lengthSize;
      return;
    }
    if (avc.packetType !== 1) return;
    let nalus = splitAvcc(avc.data, this.lengthSize);
    let idr = false;
    let hasSps = false;
    for (const n of nalus) {
      const t = nalType(n);
      if (t === NalType.IDR) idr = true;
      else if (t === NalType.SPS) hasSps = true;
    }
    if (!this.started) {
      if (!idr) return;
      this.started = true;
    }
    if (idr && !hasSps && this.sps.length > 0) nalus = [...this.sps, ...this.pps, ...nalus];
    const ts = (this.videoBase + (m.timestamp + avc.compositionTime) * 90) >>> 0;
    this.packetizer.packetize(nalus, ts, this.feedVideo);
  }

  private readonly feedVideo = (p: Buffer): void => {
    this.videoPackets++;
    this.port.feed('video', p);
  };

  private audio(m: MediaMessage): void {
    const p = m.payload;
    if (p.length < 2 || this.audioSsrc === 0) return; // no audio track (no transcoder): the reason is set
    if (p[0]! >> 4 !== 10) {
      this.setAudioUnavailable(`the RTMP audio is not AAC (sound format ${p[0]! >> 4})`);
      return;
    }
    if (p[1] === 0) {
      this.aac = parseAudioSpecificConfig(p.subarray(2));
      return;
    }
    if (!this.aac) return;
    if (!this.opus && this.audioUnavailable === undefined) {
      this.opus = new AacToOpus(
        (opus, samples) => this.feedAudio(opus, samples),
        (reason) => {
          if (!this.stopped) this.setAudioUnavailable(`transcoder ended (${reason})`);
        },
      );
      this.log.trace(`RTMP->RTC ${this.source.key}: AAC -> Opus by ffmpeg pid ${this.opus.pid}`);
    }
    if (this.audioFirstMs === undefined) this.audioFirstMs = m.timestamp;
    this.opus?.push(this.aac, p.subarray(2));
  }

  private feedAudio(opus: Buffer, samples: number): void {
    if (this.stopped) return;
    const ts = (this.audioBase + (this.audioFirstMs ?? 0) * OPUS_SAMPLES_PER_MS + this.audioSamples) >>> 0;
    this.audioSamples += samples || 960;
    const pkt = Buffer.allocUnsafe(RTP_HEADER_SIZE + opus.length);
    writeRtpHeader(pkt, false, this.audioPt, this.audioSeq, ts, this.audioSsrc); // continuous audio: no talkspurt marker (RFC 7587)
    this.audioSeq = (this.audioSeq + 1) & 0xffff;
    opus.copy(pkt, RTP_HEADER_SIZE);
    this.audioPackets++;
    this.port.feed('audio', pkt);
  }

  /** the transcoder's CPU seconds so far (for the measurement in the docs) */
  transcoderCpuSeconds(): number | undefined {
    return this.opus?.cpuSeconds();
  }

  onUnpublish(): void {
    this.stop();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.source.taps.delete(this);
    this.source.audioUnavailable = undefined;
    logTranscoderCost(this.log, `RTMP->RTC ${this.source.key}`, this.opus, this.startedAt);
    this.opus?.stop();
    this.hub.unpublish(this.port);
  }
}
