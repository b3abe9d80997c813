import { randomBytes } from 'node:crypto';
import { SoundFormat, soundFormatOf, VideoCodec, videoCodecOf } from '../../protocol/flv.js';
import type { AudioInfo, ServerSummary, StatsSource, StreamStats, VideoInfo } from '../api/stats-source.js';
import { hostRoot } from '../../host/root.js';
import { readTcpSendQueues } from '../../host/proc-net.js';
import type { ClientTable } from './clients.js';
import type { SourceRegistry } from './registry.js';
import type { LiveSource } from './source.js';

const AVC_PROFILES: Record<number, string> = { 66: 'Baseline', 77: 'Main', 88: 'Extended', 100: 'High', 110: 'High10', 122: 'High422', 244: 'High444' };
const AAC_OBJECTS: Record<number, string> = { 1: 'Main', 2: 'LC', 3: 'SSR', 5: 'HE', 29: 'HEv2' };
const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

function videoInfo(s: LiveSource): VideoInfo | undefined {
  const p = s.videoHeaderPayload;
  if (!p) return undefined;
  const codec = videoCodecOf(p);
  const meta = s.metadataObject ?? {};
  const info: VideoInfo = {
    codec: codec === VideoCodec.AVC ? 'H264' : codec === VideoCodec.HEVC ? 'H265' : `codec-${codec}`,
    width: typeof meta.width === 'number' ? meta.width : undefined,
    height: typeof meta.height === 'number' ? meta.height : undefined,
  };
  if (codec === VideoCodec.AVC && p.length >= 9) {
    // AVCDecoderConfigurationRecord after the 5-byte FLV video header
    info.profile = AVC_PROFILES[p[6]!] ?? String(p[6]);
    info.level = (p[8]! / 10).toFixed(1).replace(/\.0$/, '');
  }
  return info;
}

function audioInfo(s: LiveSource): AudioInfo | undefined {
  const p = s.audioHeaderPayload;
  if (!p) return undefined;
  const fmt = soundFormatOf(p);
  if (fmt !== SoundFormat.AAC || p.length < 4) return { codec: fmt === SoundFormat.MP3 ? 'MP3' : `format-${fmt}` };
  const object = p[2]! >> 3;
  const rateIndex = ((p[2]! & 0x07) << 1) | (p[3]! >> 7);
  const channels = (p[3]! >> 3) & 0x0f;
  return { codec: 'AAC', profile: AAC_OBJECTS[object] ?? String(object), sampleRate: AAC_RATES[rateIndex], channels };
}

/** The live server's StatsSource for the HTTP API and the exporter. */
export class LiveStats implements StatsSource {
  /** SRS_SERVER_ID / server_id / the id file (set by the server at start), else random */
  serverId = `vid-${randomBytes(3).toString('hex')}`;
  readonly serviceId = randomBytes(4).toString('hex');
  readonly startedAt = Date.now();
  private prev = { at: Date.now(), recv: 0, send: 0, recvKbps: 0, sendKbps: 0 };
  private readonly streamRates = new Map<string, { at: number; recv: number; send: number; recvKbps: number; sendKbps: number }>();

  constructor(
    private readonly registry: SourceRegistry,
    private readonly table: ClientTable,
  ) {}

  private totals(): { recv: number; send: number } {
    let recv = 0;
    let send = 0;
    for (const c of this.table.all()) {
      recv += c.bytesRead();
      send += c.bytesWritten();
    }
    return { recv, send };
  }

  summary(): ServerSummary {
    const now = Date.now();
    const t = this.totals();
    if (now - this.prev.at >= 1000) {
      const dt = now - this.prev.at;
      this.prev = {
        at: now,
        recv: t.recv,
        send: t.send,
        recvKbps: Math.max(0, Math.round(((t.recv - this.prev.recv) * 8) / dt)),
        sendKbps: Math.max(0, Math.round(((t.send - this.prev.send) * 8) / dt)),
      };
    }
    return {
      pid: process.pid,
      serverId: this.serverId,
      serviceId: this.serviceId,
      startedAt: this.startedAt,
      connections: this.table.connections,
      sendBytes: t.send,
      recvBytes: t.recv,
      recvKbps30s: this.prev.recvKbps,
      sendKbps30s: this.prev.sendKbps,
      clientsTotal: this.table.totalAccepted,
      clientsErrors: this.table.errors,
    };
  }

  streams(): StreamStats[] {
    const now = Date.now();
    const playersBySource = new Map<string, number>();
    for (const c of this.table.all()) {
      if (c.streamId && c.type !== 'rtmp-publish') playersBySource.set(c.streamId, (playersBySource.get(c.streamId) ?? 0) + 1);
    }
    return this.registry.all().map((s) => {
      let r = this.streamRates.get(s.id);
      if (!r) {
        r = { at: now, recv: s.recvBytes, send: s.sendBytes, recvKbps: 0, sendKbps: 0 };
        this.streamRates.set(s.id, r);
      } else if (now - r.at >= 1000) {
        const dt = now - r.at;
        r.recvKbps = Math.round(((s.recvBytes - r.recv) * 8) / dt);
        r.sendKbps = Math.round(((s.sendBytes - r.send) * 8) / dt);
        r.at = now;
        r.recv = s.recvBytes;
        r.send = s.sendBytes;
      }
      return {
        id: s.id,
        vhost: s.vhost,
        app: s.app,
        name: s.name,
        // the publisher's own tcUrl (as SRS keeps the request's), else what SRS builds for HTTP clients
        tcUrl: (s.publisherId !== undefined ? this.table.get(s.publisherId)?.tcUrl : undefined) || `rtmp://${s.vhost}/${s.app}`,
        createdAt: s.createdAt,
        publisherId: s.publisherId,
        players: playersBySource.get(s.id) ?? 0,
        frames: s.frames,
        sendBytes: s.sendBytes,
        recvBytes: s.recvBytes,
        recvKbps30s: r.recvKbps,
        sendKbps30s: r.sendKbps,
        video: videoInfo(s),
        audio: audioInfo(s),
        audioUnavailable: s.audioUnavailable,
      };
    });
  }

  clients() {
    return this.table.toStats();
  }

  /** The kernel's send queue of every client, from /proc/net/tcp{,6} (through src/host), for the clients list. */
  async refreshSendQueues(): Promise<void> {
    this.table.updateSendQueues(await readTcpSendQueues(hostRoot()));
  }

  kickClient(id: string): boolean {
    const c = this.table.get(id);
    if (!c) return false;
    c.kick();
    return true;
  }
}
