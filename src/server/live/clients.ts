import type { ClientStats, ClientType } from '../api/stats-source.js';

/** What the stats need to know of one connection; sessions keep these fields current. */
export interface ClientRecord {
  id: string;
  type: ClientType;
  ip: string;
  port: number;
  connectedAt: number;
  vhost: string;
  app: string;
  streamName?: string;
  streamId?: string;
  tcUrl?: string;
  pageUrl?: string;
  swfUrl?: string;
  bytesRead: () => number;
  bytesWritten: () => number;
  kick: () => void;
}

/** Connected clients, for the API (list, kick) and the max_connections limit. */
export class ClientTable {
  private readonly clients = new Map<string, ClientRecord>();
  private readonly rates = new Map<string, { at: number; recv: number; send: number; recvKbps: number; sendKbps: number }>();
  /** every TCP connection (RTMP, HTTP) currently open */
  connections = 0;
  totalAccepted = 0;
  errors = 0;

  add(c: ClientRecord): void {
    this.clients.set(c.id, c);
  }

  remove(id: string): void {
    this.clients.delete(id);
    this.rates.delete(id);
  }

  get(id: string): ClientRecord | undefined {
    return this.clients.get(id);
  }

  all(): ClientRecord[] {
    return [...this.clients.values()];
  }

  get size(): number {
    return this.clients.size;
  }

  toStats(now = Date.now()): ClientStats[] {
    return this.all().map((c) => {
      const recv = c.bytesRead();
      const send = c.bytesWritten();
      const r = this.rate(c.id, now, recv, send);
      return {
        id: c.id,
        vhost: c.vhost,
        app: c.app,
        streamId: c.streamId,
        streamName: c.streamName,
        ip: c.ip,
        port: c.port,
        tcUrl: c.tcUrl,
        pageUrl: c.pageUrl,
        swfUrl: c.swfUrl,
        type: c.type,
        publish: c.type === 'rtmp-publish' || c.type === 'rtc-publish',
        connectedAt: c.connectedAt,
        sendBytes: send,
        recvBytes: recv,
        recvKbps30s: r.recvKbps,
        sendKbps30s: r.sendKbps,
      };
    });
  }

  /** kbps since the previous look at this client (API calls are the samples). */
  private rate(id: string, now: number, recv: number, send: number) {
    const prev = this.rates.get(id);
    if (!prev) {
      const first = { at: now, recv, send, recvKbps: 0, sendKbps: 0 };
      this.rates.set(id, first);
      return first;
    }
    const dt = now - prev.at;
    if (dt >= 1000) {
      prev.recvKbps = Math.round(((recv - prev.recv) * 8) / dt);
      prev.sendKbps = Math.round(((send - prev.send) * 8) / dt);
      prev.at = now;
      prev.recv = recv;
      prev.send = send;
    }
    return prev;
  }
}
