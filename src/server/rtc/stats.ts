/**
 * The StatsSource the API and the exporter read when WebRTC is on: the live server's, plus the
 * WebRTC streams (a stream also published over RTMP shows once, with its WebRTC players added) and
 * the UDP loop's counters in the summary. WebRTC sessions are in the shared ClientTable already, so
 * clients and kicks need nothing here.
 */
import type { ClientStats, ServerSummary, StatsSource, StreamStats } from '../api/stats-source.js';
import type { RtcServer } from './rtc-server.js';
import type { RtcStream } from './stream.js';
import { RateWindow } from '../live/rate-window.js';

export class CombinedStats implements StatsSource {
  /** each WebRTC stream's 30 s kbps window, by stream id (sampled with the live ones) */
  private readonly rtcRates = new Map<string, RateWindow>();
  /** bytes of the WebRTC streams that are gone, by vhost */
  private readonly rtcGone = new Map<string, { sendBytes: number; recvBytes: number }>();
  private hooked: RtcServer | undefined;
  /** WebRTC streams shown merged into a live (RTMP) one: only their sent bytes count there (the live side counts what came in) */
  private readonly merged = new Set<string>();

  constructor(
    private readonly live: StatsSource,
    private readonly rtc: () => RtcServer | undefined,
  ) {}

  /** the WebRTC core, once it runs: its dropped streams' bytes are kept (hooked once) */
  private core(): RtcServer | undefined {
    const rtc = this.rtc();
    if (rtc && this.hooked !== rtc) {
      this.hooked = rtc;
      rtc.onStreamGone = (s: RtcStream) => {
        const d = this.rtcGone.get(s.vhost) ?? { sendBytes: 0, recvBytes: 0 };
        d.sendBytes += s.sendBytes;
        if (!this.merged.has(s.id)) d.recvBytes += s.recvBytes;
        this.rtcGone.set(s.vhost, d);
        this.rtcRates.delete(s.id);
        this.merged.delete(s.id);
      };
    }
    return rtc;
  }

  private rtcRate(id: string, createdAt: number): RateWindow {
    let w = this.rtcRates.get(id);
    if (!w) {
      w = new RateWindow({ at: createdAt, recv: 0, send: 0 });
      this.rtcRates.set(id, w);
    }
    return w;
  }

  /** The server's timer: one sample of every WebRTC stream's bytes (the live side samples its own). */
  sampleRtc(now: number): void {
    const rtc = this.core();
    if (!rtc) return;
    const live = new Set(this.live.streams().map((s) => `${s.vhost}/${s.app}/${s.name}`));
    for (const s of rtc.streamStats(() => 0)) {
      this.rtcRate(s.id, s.createdAt).add(now, s.recvBytes, s.sendBytes);
      if (live.has(`${s.vhost}/${s.app}/${s.name}`)) this.merged.add(s.id);
    }
  }

  summary(): ServerSummary {
    const s = this.live.summary();
    const rtc = this.rtc();
    if (!rtc?.running) return s;
    void rtc.refreshDrops();
    const c = rtc.counters;
    return { ...s, udp: { port: c.port, recvDrops: c.recvDrops, sendErrors: c.sendErrors, bad: c.bad, replayed: c.replayed, recvBufferAsked: c.recvBufferAsked, recvBufferGranted: c.recvBufferGranted, sendBufferAsked: c.sendBufferAsked, sendBufferGranted: c.sendBufferGranted } };
  }

  streams(): StreamStats[] {
    const live = this.live.streams();
    const rtc = this.core();
    const now = Date.now();
    if (!rtc) return live;
    const players = new Map<string, number>();
    for (const s of rtc.allSessions()) if (s.role === 'play') players.set(s.stream.key, (players.get(s.stream.key) ?? 0) + 1);
    const byKey = new Map(live.map((s) => [`${s.vhost}/${s.app}/${s.name}`, s]));
    const out = [...live];
    for (const r of rtc.streamStats((s) => players.get(s.key) ?? 0)) {
      const k = this.rtcRate(r.id, r.createdAt).rate(now, r.recvBytes, r.sendBytes);
      r.recvKbps30s = k.recvKbps;
      r.sendKbps30s = k.sendKbps;
      const same = byKey.get(`${r.vhost}/${r.app}/${r.name}`);
      if (same) {
        this.merged.add(r.id);
        same.players += r.players;
        same.sendBytes += r.sendBytes;
        same.sendKbps30s += r.sendKbps30s;
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
    const out = new Map(this.live.departedVhostBytes?.() ?? []);
    for (const [vhost, g] of this.rtcGone) {
      const d = out.get(vhost) ?? { sendBytes: 0, recvBytes: 0 };
      out.set(vhost, { sendBytes: d.sendBytes + g.sendBytes, recvBytes: d.recvBytes + g.recvBytes });
    }
    return out;
  }

  kickClient(id: string): boolean {
    return this.live.kickClient(id);
  }
}
