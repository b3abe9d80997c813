/**
 * The StatsSource the API and the exporter read when WebRTC is on: the live server's, plus the
 * WebRTC streams (a stream also published over RTMP shows once, with its WebRTC players added) and
 * the UDP loop's counters in the summary. WebRTC sessions are in the shared ClientTable already, so
 * clients and kicks need nothing here.
 */
import type { ClientStats, ServerSummary, StatsSource, StreamStats } from '../api/stats-source.js';
import type { RtcServer } from './rtc-server.js';

export class CombinedStats implements StatsSource {
  constructor(
    private readonly live: StatsSource,
    private readonly rtc: () => RtcServer | undefined,
  ) {}

  summary(): ServerSummary {
    const s = this.live.summary();
    const rtc = this.rtc();
    if (!rtc?.running) return s;
    void rtc.refreshDrops();
    const c = rtc.counters;
    return { ...s, udp: { port: c.port, recvDrops: c.recvDrops, sendErrors: c.sendErrors, bad: c.bad, recvBufferAsked: c.recvBufferAsked, recvBufferGranted: c.recvBufferGranted, sendBufferAsked: c.sendBufferAsked, sendBufferGranted: c.sendBufferGranted } };
  }

  streams(): StreamStats[] {
    const live = this.live.streams();
    const rtc = this.rtc();
    if (!rtc) return live;
    const players = new Map<string, number>();
    for (const s of rtc.allSessions()) if (s.role === 'play') players.set(s.stream.key, (players.get(s.stream.key) ?? 0) + 1);
    const byKey = new Map(live.map((s) => [`${s.vhost}/${s.app}/${s.name}`, s]));
    const out = [...live];
    for (const r of rtc.streamStats((s) => players.get(s.key) ?? 0)) {
      const same = byKey.get(`${r.vhost}/${r.app}/${r.name}`);
      if (same) {
        same.players += r.players;
        same.sendBytes += r.sendBytes;
        if (same.publisherId === undefined && r.publisherId !== undefined) same.publisherId = r.publisherId;
      } else out.push(r);
    }
    return out;
  }

  clients(): ClientStats[] {
    return this.live.clients();
  }

  async refreshUdp(): Promise<void> {
    const rtc = this.rtc();
    if (rtc?.running) await rtc.refreshDrops();
  }

  refreshSendQueues(): Promise<void> {
    return this.live.refreshSendQueues?.() ?? Promise.resolve();
  }

  departedVhostBytes(): Map<string, { sendBytes: number; recvBytes: number }> {
    return this.live.departedVhostBytes?.() ?? new Map();
  }

  kickClient(id: string): boolean {
    return this.live.kickClient(id);
  }
}
