/**
 * What the HTTP API and the Prometheus exporter read from the running server.
 * Implemented by the live server (src/server/live), consumed by src/server/api.
 * Plain facts only; the API module shapes them into SRS's JSON.
 */

export interface VideoInfo {
  codec: 'H264' | 'H265' | string;
  profile?: string;
  level?: string;
  width?: number;
  height?: number;
}

export interface AudioInfo {
  codec: 'AAC' | 'MP3' | string;
  sampleRate?: number;
  channels?: number;
  profile?: string;
}

export interface StreamStats {
  id: string; // stable id, e.g. 'vid-0abc12'
  vhost: string;
  app: string;
  name: string; // stream name
  tcUrl: string;
  /** ms since epoch when the stream was created (first publish) */
  createdAt: number;
  /** client id of the publisher, undefined when no one publishes */
  publisherId?: string;
  players: number;
  frames: number; // video frames received
  sendBytes: number;
  recvBytes: number;
  /** kbps averaged over the last 30 s */
  recvKbps30s: number;
  sendKbps30s: number;
  video?: VideoInfo;
  audio?: AudioInfo;
  /** why a stream bridged between RTMP and WebRTC has no audio on the other side (no transcoder, …) */
  audioUnavailable?: string;
  /** the edge side (vhost cluster { mode remote; }): pulled from or pushed to an origin */
  edge?: EdgeStreamStatus;
  /** the stream's HLS muxer, when its vhost has hls on and it was published */
  hls?: StreamHlsStats;
  /** the stream's DVR recording, when one runs (or was dropped) */
  dvr?: StreamDvrStats;
}

export interface StreamHlsStats {
  /** the next segment's sequence number */
  sequence: number;
  /** segments in the playlist */
  segments: number;
  /** segments dropped because the disk was behind */
  dropped: number;
  /** segments not published because a file could not be written */
  errors: number;
  lastError?: string;
  keys: boolean;
}

export interface StreamDvrStats {
  plan: string;
  /** the file being written */
  file?: string;
  files: number;
  /** the recording was dropped (a disk too slow, or a file that could not be opened) */
  dropped: boolean;
  errors: number;
  lastError?: string;
}

/** HLS and DVR counters since the server started (the exporter's srs_hls_* and srs_dvr_*). */
export interface MediaSummary {
  hlsSegments: number;
  hlsSegmentErrors: number;
  hlsSegmentsDropped: number;
  dvrFiles: number;
  dvrErrors: number;
  dvrDropped: number;
}

/** An edge stream's upstream (src/server/cluster/edge.ts EdgeStatus). */
export interface EdgeStreamStatus {
  kind: 'play' | 'publish';
  state: 'connecting' | 'playing' | 'retrying' | 'publishing' | 'stopping';
  /** host:port of the origin in use or being tried */
  upstream: string;
  attempts: number;
  lastError?: string;
  /** host:port of the origin that redirected the edge to `upstream` (origin cluster) */
  redirectedBy?: string;
  since: number;
}

export type ClientType = 'rtmp-play' | 'rtmp-publish' | 'flv-play' | 'rtmp-forward' | 'rtc-play' | 'rtc-publish';

export interface ClientStats {
  id: string;
  vhost: string;
  app: string;
  /** stream id (StreamStats.id) this client publishes or plays, if any */
  streamId?: string;
  streamName?: string;
  ip: string;
  port: number;
  tcUrl?: string;
  pageUrl?: string;
  swfUrl?: string;
  type: ClientType;
  publish: boolean;
  /** ms since epoch of the connection */
  connectedAt: number;
  sendBytes: number;
  recvBytes: number;
  recvKbps30s: number;
  sendKbps30s: number;
  /** the kernel's send queue (Send-Q) of the client's socket at the last look; undefined when not known (WebRTC, or not read) */
  sendQueueBytes?: number;
  /** bytes srsx holds for the client that the kernel has not taken yet */
  serverQueueBytes?: number;
  /** ms the kernel send queue has stayed at 64 KiB or more without shrinking (0: not stalled) */
  stalledMs?: number;
}

export interface ServerSummary {
  pid: number;
  serverId: string; // e.g. 'vid-xxxxxx', stable for the process
  serviceId: string;
  startedAt: number; // ms since epoch
  connections: number; // current TCP connections of all kinds
  /** bytes sent and received since the process started, clients that left included (monotonic) */
  sendBytes: number;
  recvBytes: number;
  /** kbps over the last 30 s, sampled by the server every 5 s */
  recvKbps30s: number;
  sendKbps30s: number;
  /** clients accepted since start (Prometheus srs_clients_total); optional, 0 when absent */
  clientsTotal?: number;
  /** clients that ended with an error since start (srs_clients_errs_total); optional */
  clientsErrors?: number;
  /** the WebRTC UDP port's loop (rtc_server on): kernel drops on its socket, failed sends, unusable datagrams, buffer sizes */
  udp?: UdpSummary;
  /** HLS and DVR counters (srsx serve with its media outputs) */
  media?: MediaSummary;
}

export interface UdpSummary {
  port: number;
  recvDrops: number;
  sendErrors: number;
  bad: number;
  /** authentic SRTP/SRTCP packets dropped by the replay window (0 when absent) */
  replayed?: number;
  recvBufferAsked: number;
  recvBufferGranted: number;
  sendBufferAsked: number;
  sendBufferGranted: number;
}

export interface StatsSource {
  summary(): ServerSummary;
  streams(): StreamStats[];
  clients(): ClientStats[];
  /** re-reads every client's kernel send queue (the clients list calls it before answering) */
  refreshSendQueues?(): Promise<void>;
  /** re-reads the kernel's drop count of the WebRTC UDP socket (the summaries call it before answering) */
  refreshUdp?(): Promise<void>;
  /** bytes of the streams that have gone, by vhost name: a vhost's send_bytes/recv_bytes never go backwards */
  departedVhostBytes?(): Map<string, { sendBytes: number; recvBytes: number }>;
  /** Kick a client (DELETE /api/v1/clients/:id). Returns false when no such client. */
  kickClient(id: string): boolean;
}
