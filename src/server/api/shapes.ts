/**
 * StatsSource facts → SRS's JSON objects (srs_app_statistic.cpp: SrsStatisticStream/Client/Vhost::dumps),
 * keys in SRS's order.
 */
import type { ServerConfig } from '../config/types.js';
import type { ClientStats, ClientType, ServerSummary, StreamStats } from './stats-source.js';

export const DEFAULT_VHOST = '__defaultVhost__';

/** A stable `vid-xxxxxxx` id per vhost name (SRS generates random ones once per process). */
export function vhostId(name: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `vid-${h.toString(36).padStart(7, '0').slice(-7)}`;
}

/** srs_generate_stream_url: `[vhost]/app/stream`, the default vhost omitted. */
export function streamUrl(vhost: string, app: string, stream: string): string {
  return `${vhost === DEFAULT_VHOST ? '' : vhost}/${app}/${stream}`;
}

/** Two decimals, as SRS prints floats (%.2f). */
export function fixed2(n: number): number {
  return Math.round(n * 100) / 100;
}

export function envelope(summary: ServerSummary): { code: number; server: string; service: string; pid: string } {
  return { code: 0, server: summary.serverId, service: summary.serviceId, pid: String(summary.pid) };
}

export function streamJson(s: StreamStats, now: number): Record<string, unknown> {
  const publish: Record<string, unknown> = { active: s.publisherId !== undefined };
  if (s.publisherId !== undefined) publish.cid = s.publisherId;
  return {
    id: s.id,
    name: s.name,
    vhost: vhostId(s.vhost),
    app: s.app,
    tcUrl: s.tcUrl,
    url: streamUrl(s.vhost, s.app, s.name),
    live_ms: now,
    clients: s.players + (s.publisherId !== undefined ? 1 : 0),
    frames: s.frames,
    send_bytes: s.sendBytes,
    recv_bytes: s.recvBytes,
    kbps: { recv_30s: Math.round(s.recvKbps30s), send_30s: Math.round(s.sendKbps30s) },
    publish,
    video: s.video
      ? {
          codec: s.video.codec,
          profile: s.video.profile ?? 'Other',
          level: s.video.level ?? 'Other',
          width: s.video.width ?? 0,
          height: s.video.height ?? 0,
        }
      : null,
    audio: s.audio
      ? {
          codec: s.audio.codec,
          sample_rate: s.audio.sampleRate ?? 0,
          channel: s.audio.channels ?? 0,
          profile: s.audio.profile ?? '',
        }
      : null,
    // srsx: the RTMP <-> WebRTC bridge says why the other side gets no audio
    ...(s.audioUnavailable ? { audio_unavailable: s.audioUnavailable } : {}),
    // srsx: an edge stream's upstream (SRS shows it only in its logs)
    ...(s.edge
      ? { edge: { kind: s.edge.kind, state: s.edge.state, upstream: s.edge.upstream, attempts: s.edge.attempts, since_ms: s.edge.since, ...(s.edge.lastError ? { last_error: s.edge.lastError } : {}), ...(s.edge.redirectedBy ? { redirected_by: s.edge.redirectedBy } : {}) } }
      : {}),
    // srsx: the stream's HLS muxer and DVR recording, with their disk errors
    ...(s.hls
      ? { hls: { sequence: s.hls.sequence, segments: s.hls.segments, dropped: s.hls.dropped, errors: s.hls.errors, ...(s.hls.lastError ? { last_error: s.hls.lastError } : {}), keys: s.hls.keys } }
      : {}),
    ...(s.dvr
      ? { dvr: { plan: s.dvr.plan, file: s.dvr.file ?? '', files: s.dvr.files, dropped: s.dvr.dropped, errors: s.dvr.errors, ...(s.dvr.lastError ? { last_error: s.dvr.lastError } : {}) } }
      : {}),
  };
}

/** SRS's client type names (srs_client_type_string); an RTMP publisher is what FMLE/ffmpeg/OBS do. */
const CLIENT_TYPE: Record<ClientType, string> = {
  'rtmp-play': 'rtmp-play',
  'rtmp-publish': 'fmle-publish',
  'flv-play': 'flv-play',
  'rtmp-forward': 'rtmp-forward',
  'rtc-play': 'rtc-play',
  'rtc-publish': 'rtc-publish',
};

export function clientJson(c: ClientStats, now: number): Record<string, unknown> {
  const name = c.streamName ?? '';
  return {
    id: c.id,
    vhost: vhostId(c.vhost),
    stream: c.streamId ?? '',
    ip: c.ip,
    pageUrl: c.pageUrl ?? '',
    swfUrl: c.swfUrl ?? '',
    tcUrl: c.tcUrl ?? '',
    url: streamUrl(c.vhost, c.app, name),
    name,
    type: CLIENT_TYPE[c.type] ?? c.type,
    publish: c.publish,
    alive: fixed2(Math.max(0, now - c.connectedAt) / 1000),
    send_bytes: c.sendBytes,
    recv_bytes: c.recvBytes,
    kbps: { recv_30s: Math.round(c.recvKbps30s), send_30s: Math.round(c.sendKbps30s) },
    // srsx's own: a stalled player shows a kernel send queue that keeps growing (SRS has no such field)
    send_queue: { kernel_bytes: c.sendQueueBytes ?? -1, server_bytes: c.serverQueueBytes ?? 0, stalled_ms: c.stalledMs ?? 0 },
  };
}

/** `departed`: bytes of the vhost's streams that have gone, so its totals never go backwards */
export function vhostJson(name: string, config: ServerConfig, streams: StreamStats[], clients: ClientStats[], departed?: { sendBytes: number; recvBytes: number }): Record<string, unknown> {
  const vs = streams.filter((s) => s.vhost === name);
  const vc = clients.filter((c) => c.vhost === name);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const v = config.vhosts.find((x) => x.name === name);
  return {
    id: vhostId(name),
    name,
    enabled: v?.enabled ?? true,
    clients: vc.length,
    streams: vs.filter((s) => s.publisherId !== undefined).length,
    send_bytes: sum(vs.map((s) => s.sendBytes)) + (departed?.sendBytes ?? 0),
    recv_bytes: sum(vs.map((s) => s.recvBytes)) + (departed?.recvBytes ?? 0),
    kbps: { recv_30s: Math.round(sum(vs.map((s) => s.recvKbps30s))), send_30s: Math.round(sum(vs.map((s) => s.sendKbps30s))) },
    // as SRS: the vhost's hls state (fragment in seconds when enabled)
    hls: v?.hls?.enabled ? { enabled: true, fragment: v.hls.fragment } : { enabled: false },
  };
}
