/**
 * The RTMP <-> WebRTC bridges of the server: per vhost `rtc { rtmp_to_rtc on; rtc_to_rtmp on; }`,
 * one bridge per stream (never per player). server.ts constructs it with the core's stream table.
 */
import { ffmpegAvailable } from '../../../host/transcoder.js';
import type { ServerConfig } from '../../config/types.js';
import type { SourceRegistry } from '../../live/registry.js';
import type { LiveSource } from '../../live/source.js';
import type { Logger } from '../../log.js';
import type { RtcStreamHub, RtcStreamPort } from '../contracts.js';
import { RtcToRtmp } from './rtc-to-rtmp.js';
import { bridgeTracks, RtmpToRtc } from './rtmp-to-rtc.js';

export { RtcToRtmp } from './rtc-to-rtmp.js';
export { RtmpToRtc } from './rtmp-to-rtc.js';

export const NO_FFMPEG = 'no transcoder: ffmpeg is not installed (apt-get install ffmpeg)';

export class RtcBridges {
  private config: ServerConfig;
  /** undefined while ffmpeg can run; otherwise why audio cannot be transcoded */
  private noTranscoder: string | undefined;
  readonly toRtc = new Map<string, RtmpToRtc>();
  readonly toRtmp = new Map<string, RtcToRtmp>();
  /** streams the bridge from WebRTC is starting (its startPublish reaches onRtmpPublish) */
  private readonly starting = new Set<string>();
  private readonly removeListener: () => void;

  constructor(
    private readonly registry: SourceRegistry,
    private readonly hub: RtcStreamHub,
    private readonly log: Logger,
  ) {
    this.config = registry.serverConfig;
    const before = registry.onPublish;
    registry.onPublish = (source) => {
      before?.(source);
      this.onRtmpPublish(source);
    };
    this.removeListener = hub.addPublishListener((port, vhost, app, stream) => this.onRtcPublish(port, vhost, app, stream));
    ffmpegAvailable().then(
      (ok) => (this.noTranscoder = ok ? undefined : NO_FFMPEG),
      () => (this.noTranscoder = NO_FFMPEG),
    );
  }

  configure(config: ServerConfig): void {
    this.config = config;
  }

  private vhost(name: string) {
    return this.config.vhosts.find((v) => v.name === name && v.enabled) ?? this.registry.resolveVhost(name);
  }

  private onRtmpPublish(source: LiveSource): void {
    if (this.starting.has(source.key) || this.toRtmp.has(source.key)) return; // published by the bridge from WebRTC
    const rtc = this.vhost(source.vhost)?.rtc;
    if (!this.config.rtcServer.enabled || !rtc?.enabled || !rtc.rtmpToRtc) return;
    const port = this.hub.publish(source.vhost, source.app, source.name, bridgeTracks(this.noTranscoder === undefined));
    if (!port) {
      this.log.warn(`RTMP->RTC ${source.key}: the WebRTC stream already has a publisher; not bridged`);
      return;
    }
    const bridge = new RtmpToRtc(source, this.hub, port, this.log, this.noTranscoder);
    this.toRtc.set(source.key, bridge);
    const stop = bridge.stop.bind(bridge);
    bridge.stop = () => {
      stop();
      if (this.toRtc.get(source.key) === bridge) this.toRtc.delete(source.key);
    };
    this.log.trace(`RTMP->RTC ${source.key}: bridged (H.264 RTP${this.noTranscoder ? ', no audio' : ' + Opus'})`);
  }

  private onRtcPublish(port: RtcStreamPort, vhostName: string, app: string, stream: string): void {
    const vhost = this.vhost(vhostName);
    if (!vhost?.rtc.enabled || !vhost.rtc.rtcToRtmp) return;
    const source = this.registry.getOrCreate(vhost, app, stream);
    if (source.isPublishing) {
      this.log.warn(`RTC->RTMP ${source.key}: the RTMP stream already has a publisher (${source.publisherId}); not bridged`);
      return;
    }
    const publisherId = (port as { publisherId?: string }).publisherId ?? 'rtc-bridge';
    let bridge: RtcToRtmp;
    this.starting.add(source.key);
    try {
      source.startPublish(publisherId);
      source.onMetadata({ videocodecid: 7, audiocodecid: 10, encoder: 'srsx rtc_to_rtmp' }, 0);
      bridge = new RtcToRtmp(port, source, this.registry, this.log, { noTranscoder: this.noTranscoder, pliForRtmpSeconds: vhost.rtc.pliForRtmp });
    } catch (err) {
      if (source.publisherId === publisherId) source.stopPublish();
      this.registry.release(source);
      throw err;
    } finally {
      this.starting.delete(source.key);
    }
    this.toRtmp.set(source.key, bridge);
    const stop = bridge.stop.bind(bridge);
    bridge.stop = () => {
      stop();
      if (this.toRtmp.get(source.key) === bridge) this.toRtmp.delete(source.key);
    };
    this.log.trace(`RTC->RTMP ${source.key}: bridged (FLV H.264${this.noTranscoder ? ', no audio' : ' + AAC'})`);
  }

  stop(): void {
    this.removeListener();
    for (const b of [...this.toRtc.values()]) b.stop();
    for (const b of [...this.toRtmp.values()]) b.stop();
    this.toRtc.clear();
    this.toRtmp.clear();
  }
}
