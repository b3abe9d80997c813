import { randomBytes } from 'node:crypto';
import { SoundFormat, soundFormatOf, VideoCodec, videoCodecOf } from '../../protocol/flv.js';
import type { AudioInfo, ServerSummary, StatsSource, StreamStats, VideoInfo } from '../api/stats-source.js';
import { hostRoot } from '../../host/root.js';
import { readTcpSendQueues } from '../../host/proc-net.js';
import type { ClientTable } from './clients.js';
import type { SourceRegistry } from './registry.js';
import type { LiveSource } from './source.js';
import { RateWindow } from './rate-window.js';

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
  /** the server's 30 s kbps window over its monotonic totals */
  private readonly rates = new RateWindow({ at: this.startedAt, recv: 0, send: 0 });
  /** each live source's 30 s kbps window, by source id */
  private readonly streamRates = new Map<string, RateWindow>();
  /** bytes of the streams that are gone, by vhost (a vhost's totals never go backwards) */
  private readonly departedByVhost = new Map<string, { recv: number; send: number }>();

  constructor(
    private readonly registry: SourceRegistry,
    private readonly table: ClientTable,
  ) {
    registry.onRelease = (s) => {
      const d = this.departedByVhost.get(s.vhost) ?? { recv: 0, send: 0 };
      d.recv += s.recvBytes;
      d.send += s.sendBytes;
      this.departedByVhost.set(s.vhost, d);
      this.streamRates.delete(s.id);
    };
  }

  /**
   * One sample of every counter into its 30 s window: the server's totals, each stream, each
   * client. Called by the server's timer every SAMPLE_INTERVAL_MS (never by the API).
   */
  sample(now = Date.now()): void {
    const t = this.table.totals();
    this.rates.add(now, t.recv, t.send);
    for (const s of this.registry.all()) this.streamRate(s).add(now, s.recvBytes, s.sendBytes);
    this.table.sample(now);
  }

  private streamRate(s: LiveSource): RateWindow {
    let r = this.streamRates.get(s.id);
    if (!r) {
      r = new RateWindow({ at: s.createdAt, recv: 0, send: 0 });
      this.streamRates.set(s.id, r);
    }
    return r;
  }

  summary(): ServerSummary {
    const now = Date.now();
    const t = this.table.totals();
    const r = this.rates.rate(now, t.recv, t.send);
    return {
      pid: process.pid,
      serverId: this.serverId,
      serviceId: this.serviceId,
      startedAt: this.startedAt,
      connections: this.table.connections,
      sendBytes: t.send,
      recvBytes: t.recv,
      recvKbps30s: r.recvKbps,
      sendKbps30s: r.sendKbps,
      clientsTotal: this.table.totalAccepted,
      clientsErrors: this.table.errors,
    };
  }

  /** Bytes of the streams that have gone, by vhost name (added to the vhost's send_bytes/recv_bytes). */
  departedVhostBytes(): Map<string, { sendBytes: number; recvBytes: number }> {
    return new Map([...this.departedByVhost].map(([k, v]) => [k, { sendBytes: v.send, recvBytes: v.recv }]));
  }

  streams(): StreamStats[] {
    const now = Date.now();
    const playersBySource = new Map<string, number>();
    for (const c of this.table.all()) {
      if (c.streamId && c.type !== 'rtmp-publish') playersBySource.set(c.streamId, (playersBySource.get(c.streamId) ?? 0) + 1);
    }
    return this.registry.all().map((s) => {
      const r = this.streamRate(s).rate(now, s.recvBytes, s.sendBytes);
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
