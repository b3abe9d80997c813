/**
 * The typed server configuration: what `srsx serve` runs on, produced from SRS's config
 * format by src/server/config (parse → rewrite old forms → env overrides → zod validation).
 * This file is the contract between the config loader and the rest of the server.
 */

import type { DvrConfig, HlsConfig } from './media.js';
import type { RtcServerConfig, VhostRtcConfig } from './rtc.js';
import type { HttpHooksConfig } from './hooks.js';
import type { ClusterConfig } from './cluster.js';
export type { ClusterConfig, ClusterOrigin } from './cluster.js';
export type { HttpHooksConfig } from './hooks.js';
export type { DvrConfig, HlsConfig } from './media.js';

export interface ListenAddress {
  host: string; // '0.0.0.0' when the config gives only a port
  port: number;
}

export interface ForwardConfig {
  enabled: boolean;
  /** 'host:port' entries, from `forward { destination ...; }` or the old flat `forward host:port;` */
  destinations: string[];
}

export interface PlayConfig {
  gopCache: boolean; // play { gop_cache on; } (default on)
  /** max seconds of messages queued per player before it is skipped/disconnected (default 30) */
  queueLength: number;
  /** merged-write latency in ms (play { mw_latency } default 350) */
  mwLatencyMs: number;
  /** mw_msgs: a batch goes out after mw_latency once it holds more than this many messages (SRS; default 8, 0 with min_latency) */
  mwMsgs: number;
  /** time_jitter full|zero|off (SRS's default full: each player starts at 0); `disabled` is read as off */
  timeJitter: 'full' | 'zero' | 'off';
}

/** vhost publish { firstpkt_timeout; normal_timeout; } (ms; SRS's defaults 20000 and 5000) */
export interface PublishConfig {
  /** a publisher that sends no media this long after publish is closed */
  firstPktTimeoutMs: number;
  /** a publisher whose media stops for this long is closed (and the stream freed) */
  normalTimeoutMs: number;
}

export interface HttpRemuxConfig {
  enabled: boolean;
  /** e.g. '[vhost]/[app]/[stream].flv' */
  mount: string;
}

export interface VhostConfig {
  name: string; // '__defaultVhost__' for the default
  enabled: boolean;
  minLatency: boolean; // min_latency on: flush every message
  tcpNodelay: boolean;
  play: PlayConfig;
  publish: PublishConfig;
  forward: ForwardConfig;
  httpRemux: HttpRemuxConfig;
  /** chunk_size for this vhost (falls back to the global chunk_size) */
  chunkSize?: number;
  hls: HlsConfig;
  dvr: DvrConfig;
  /** vhost rtc { } (WebRTC) */
  rtc: VhostRtcConfig;
  /** http_hooks { } (SRS's HTTP callbacks) */
  httpHooks: HttpHooksConfig;
  /** cluster { } (SRS's edge: mode remote, origin, token_traverse, vhost) */
  cluster: ClusterConfig;
}

export interface ServerConfig {
  /** absolute path of the file loaded, or '<embedded>' */
  source: string;
  listen: ListenAddress[]; // RTMP
  maxConnections: number; // default 1000
  chunkSize: number; // default 60000
  pidFile: string; // default ./objs/srs.pid
  log: {
    tank: 'console' | 'file';
    level: 'verbose' | 'info' | 'trace' | 'warn' | 'error';
    file: string; // default ./objs/srs.log
  };
  daemon: boolean;
  /** whether `daemon` was given (file or SRS_DAEMON), not SRS's default */
  daemonSet: boolean;
  httpApi: {
    enabled: boolean;
    listen: ListenAddress;
    crossdomain: boolean; // CORS, default on
    /** HTTP Basic auth on /api/ paths (SRS's http_api.auth), default off */
    auth: { enabled: boolean; username: string; password: string };
  };
  httpServer: {
    enabled: boolean;
    listen: ListenAddress;
    dir: string; // default ./objs/nginx/html
    crossdomain: boolean; // CORS on http_server (and the API when it shares the port), default on
  };
  exporter: {
    enabled: boolean;
    listen: ListenAddress; // default 9972
    label: string;
    tag: string;
  };
  /** rtc_server { } (the WebRTC UDP port) */
  rtcServer: RtcServerConfig;
  vhosts: VhostConfig[];
  /** SRS_SERVER_ID or `server_id` (else the id file next to the pid file, else a new one) */
  serverId?: string;
  /** SRS_WORK_DIR or `work_dir`: the server chdirs there after reading the config, as SRS */
  workDir?: string;
  /** directives parsed but not implemented by srsx: one warning each, as `file:line: directive` */
  warnings: string[];
}
