import { jest } from '@jest/globals';
import { ClientTable, type ClientRecord } from '../../src/server/live/clients.js';
import { RateWindow, RATE_WINDOW_MS } from '../../src/server/live/rate-window.js';
import { AcceptErrors } from '../../src/server/accept-errors.js';
import { PeriodicStats } from '../../src/server/periodic.js';
import { SummarySampler } from '../../src/server/api/summaries.js';
import type { Logger } from '../../src/server/log.js';

function client(id: string, bytes: { r: number; w: number }): ClientRecord {
  return { id, type: 'rtmp-play', ip: '127.0.0.1', port: 1, connectedAt: 0, vhost: 'v', app: 'a', bytesRead: () => bytes.r, bytesWritten: () => bytes.w, kick: () => {} };
}

function memLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const add = (level: string) => (m: string) => void lines.push(`${level} ${m}`);
  return { lines, verbose: add('verbose'), info: add('info'), trace: add('trace'), warn: add('warn'), error: add('error'), enabled: () => true, reopen: () => {}, close: async () => {} };
}

describe('30 s rate windows', () => {
  it('a rate is over the window the timer sampled, and reading it changes nothing', () => {
    const w = new RateWindow({ at: 0, recv: 0, send: 0 });
    // 1,000 bytes/s in, 2,000 out, sampled every 5 s for a minute
    for (let t = 5000; t <= 60_000; t += 5000) w.add(t, t, 2 * t);
    const r1 = w.rate(62_000, 62_000, 124_000);
    expect(r1).toEqual({ recvKbps: 8, sendKbps: 16 });
    // any number of readers, any time: the same answer
    for (let i = 0; i < 5; i++) expect(w.rate(62_000, 62_000, 124_000)).toEqual(r1);
    // a burst older than the window no longer counts
    const b = new RateWindow({ at: 0, recv: 0, send: 0 });
    b.add(5000, 10_000_000, 0);
    for (let t = 10_000; t <= 5000 + RATE_WINDOW_MS + 5000; t += 5000) b.add(t, 10_000_000, 0);
    expect(b.rate(5000 + RATE_WINDOW_MS + 6000, 10_000_000, 0).recvKbps).toBe(0);
  });

  it('before any sample a client shows its rate since it connected (not 0 "since the previous call")', () => {
    const w = new RateWindow({ at: 1000, recv: 0, send: 0 });
    expect(w.rate(3000, 0, 250_000).sendKbps).toBe(1000);
  });

  it("the server's totals keep the bytes of clients that left", () => {
    const t = new ClientTable();
    const a = { r: 100, w: 1000 };
    t.add(client('a', a));
    t.add(client('b', { r: 5, w: 50 }));
    expect(t.totals()).toEqual({ recv: 105, send: 1050 });
    a.r = 200;
    a.w = 3000;
    t.remove('a');
    t.remove('a'); // twice: counted once
    expect(t.totals()).toEqual({ recv: 205, send: 3050 });
    t.remove('b');
    expect(t.totals()).toEqual({ recv: 205, send: 3050 });
  });
});

describe('CPU over the last 30 s', () => {
  it('reading does not restart the window: two pollers see the same figure', () => {
    let now = 0;
    const s = new SummarySampler(() => now);
    const spin = () => {
      const end = Date.now() + 150;
      while (Date.now() < end) { /* CPU work for the process */ }
    };
    spin();
    now = 5000;
    s.tick();
    const a = s.selfCpu();
    const b = s.selfCpu();
    expect(a).toBeGreaterThan(0);
    expect(Math.abs(a - b)).toBeLessThan(0.01);
  });
});

describe('refusals and the stats line', () => {
  it('max_connections refusals: one line at once, then one a second with the count', () => {
    jest.useFakeTimers();
    try {
      const log = memLog();
      const e = new AcceptErrors(log);
      for (let i = 0; i < 25; i++) e.refused('RTMP', `10.0.0.${i}`, 100);
      expect(log.lines).toEqual(['warn refuse RTMP connection from 10.0.0.0: max_connections 100 reached; raise max_connections (and the open-files limit) or add servers']);
      jest.advanceTimersByTime(1000);
      expect(log.lines[1]).toBe('warn refuse RTMP connections: 24 in the last second, the last from 10.0.0.24: max_connections 100 reached; raise max_connections (and the open-files limit) or add servers');
      jest.advanceTimersByTime(5000);
      expect(log.lines).toHaveLength(2);
      e.stop();
    } finally {
      jest.useRealTimers();
    }
  });

  it('the stats line: connections, clients, streams, kbps, and UDP loss since the previous line', () => {
    const log = memLog();
    let udp = { recvDrops: 3, sendErrors: 0 };
    const p = new PeriodicStats({
      sample: () => {},
      cpu: new SummarySampler(),
      summary: () => ({ pid: 1, serverId: 's', serviceId: 'x', startedAt: 0, connections: 4, sendBytes: 0, recvBytes: 0, recvKbps30s: 1200, sendKbps30s: 3600,
        udp: { port: 8000, ...udp, bad: 0, recvBufferAsked: 0, recvBufferGranted: 0, sendBufferAsked: 0, sendBufferGranted: 0 } }),
      clients: () => 3,
      streams: () => 1,
    }, log);
    expect(p.line()).toMatch(/^Hybrid cpu=\d+\.\d\d%,\d+MB, conns=4, clients=3, streams=1, kbps=\(in:1200,out:3600\), loss=\(r:3,s:0\)$/);
    udp = { recvDrops: 10, sendErrors: 2 };
    expect(p.line()).toMatch(/loss=\(r:7,s:2\)$/);
  });
});

describe('WebRTC streams in the API', () => {
  it('have 30 s rates, and a vhost keeps the bytes of its WebRTC streams that are gone', async () => {
    const { CombinedStats } = await import('../../src/server/rtc/stats.js');
    type Rtc = ConstructorParameters<typeof CombinedStats>[1] extends () => infer R ? NonNullable<R> : never;
    const stream = { id: 'vid-rtc1', vhost: 'v', app: 'live', name: 's', createdAt: Date.now() - 60_000, recvBytes: 0, sendBytes: 0 };
    let streams = [stream];
    const fake = {
      running: false,
      onStreamGone: undefined as undefined | ((s: unknown) => void),
      allSessions: () => [],
      streamStats: () => streams.map((s) => ({ ...s, tcUrl: '', players: 0, frames: 0, recvKbps30s: 0, sendKbps30s: 0 })),
    };
    const live = { summary: () => { throw new Error('unused'); }, streams: () => [], clients: () => [], kickClient: () => false };
    const c = new CombinedStats(live, () => fake as unknown as Rtc);
    c.sampleRtc(Date.now() - 5000);
    stream.recvBytes = 125_000; // 1 Mbit in the last 5 s
    stream.sendBytes = 250_000;
    const s = c.streams().find((x) => x.id === 'vid-rtc1')!;
    expect(s.recvKbps30s).toBeGreaterThan(150);
    expect(s.sendKbps30s).toBeGreaterThan(300);
    // the stream is dropped: its bytes stay in the vhost's totals
    streams = [];
    fake.onStreamGone!(stream);
    expect(c.departedVhostBytes().get('v')).toEqual({ sendBytes: 250_000, recvBytes: 125_000 });
  });
});

describe('the first seconds of a window', () => {
  it('a tick just before a read does not shorten the window to the time since that tick', () => {
    const w = new RateWindow({ at: 0, recv: 0, send: 0 });
    // 1,000 bytes/s; a sample at 4.9 s, reads at 4.8 s and 5.0 s see the same 8 kbps
    expect(w.rate(4800, 4800, 0).recvKbps).toBe(8);
    w.add(4900, 4900, 0);
    expect(w.rate(5000, 5000, 0).recvKbps).toBe(8);
  });
});
