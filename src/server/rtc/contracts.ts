/*
 * NOTE from the bridges side (2026-12-02 03:27 UTC): fixed in 5-line edits to session.ts/rtc-server.ts so the
 * browser tests can run — the STUN Binding success now goes to the request's address (it went to the
 * previous request's, so Chromium, which checks from 127.0.0.1 and 192.0.2.2, never got one), and a
 * session's media address moves only on its first STUN request or a USE-CANDIDATE one.
 */

/**
 * The contract between the WebRTC core (UDP port, ICE, DTLS-SRTP, sessions: src/server/rtc/) and the
 * RTMP <-> WebRTC bridges (src/server/rtc/bridge/). Packets crossing it are plain RTP (never SRTP):
 * the core encrypts per player and decrypts per publisher.
 */

export type RtcMediaKind = 'audio' | 'video';

/** One track of a WebRTC stream, as its RTP carries it. */
export interface RtcTrackInfo {
  kind: RtcMediaKind;
  /** 'H264' | 'VP8' | 'opus' (SDP rtpmap encoding names) */
  codec: string;
  payloadType: number;
  clockRate: number;
  channels?: number;
  /** SDP a=fmtp parameters, e.g. 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' */
  fmtp?: string;
  ssrc: number;
}

/**
 * Receives the plain RTP packets of a stream's tracks (one call per packet, in arrival order).
 * The sink may keep `packet` (a depacketizer holds fragments until the access unit ends): the core
 * never reuses or changes a packet's bytes after handing it over.
 */
export interface RtpSink {
  onRtp(kind: RtcMediaKind, packet: Buffer): void;
  /** the stream ended (publisher left or timed out) */
  onEnd(): void;
}

/**
 * A WebRTC stream, as the core keeps it (one per vhost/app/stream): a publisher (a WHIP session or a bridge
 * from RTMP) feeds it; players (WHEP sessions, or a bridge to RTMP) subscribe.
 */
export interface RtcStreamPort {
  readonly key: string; // vhost/app/stream
  readonly tracks: readonly RtcTrackInfo[];
  /**
   * feed one plain RTP packet from the stream's publisher (the bridge from RTMP calls this); the core
   * may keep it (NACK history) and the feeder never changes it afterwards. Its payload type and SSRC
   * are the publisher's track's (`tracks`); the core rewrites them per player as negotiated.
   */
  feed(kind: RtcMediaKind, packet: Buffer): void;
  /** subscribe; returns the unsubscribe function */
  subscribe(sink: RtpSink): () => void;
  /** ask the publisher for a keyframe (PLI to a WHIP publisher; the RTMP bridge re-sends SPS/PPS+IDR at the next keyframe) */
  requestKeyframe(): void;
  /** set by whoever publishes: called on requestKeyframe() */
  onKeyframeRequest: (() => void) | undefined;
  /** set by the bridge from RTMP when its players get no audio (no transcoder, …); the API shows it */
  audioUnavailable?: string;
}

/**
 * The core's table of WebRTC streams, as the bridges use it (the core implements it; the server
 * hands it to the bridges). Keys are vhost/app/stream with the resolved vhost name, as LiveSource.key.
 */
export interface RtcStreamHub {
  /**
   * A bridge from RTMP starts publishing vhost/app/stream with these tracks; undefined when the stream
   * already has a publisher (a WHIP session), then the bridge does nothing.
   */
  publish(vhost: string, app: string, stream: string, tracks: RtcTrackInfo[]): RtcStreamPort | undefined;
  /** the bridge's publisher ends: players get onEnd(), the stream is freed */
  unpublish(port: RtcStreamPort): void;
  /**
   * Called when a WHIP publisher's stream starts (its tracks known), for the bridge to RTMP;
   * returns the function that removes the listener.
   */
  addPublishListener(listener: (port: RtcStreamPort, vhost: string, app: string, stream: string) => void): () => void;
}

/** What the stream table shows for a stream with a bridge (API: /api/v1/streams). */
export interface RtcBridgeInfo {
  /** why a bridged stream has no audio (no transcoder, ffmpeg failed, …); undefined when audio flows */
  audioUnavailable?: string;
}
