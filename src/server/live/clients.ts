import type { ClientStats, ClientType } from '../api/stats-source.js';
import { RateWindow } from './rate-window.js';

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
  /** bytes srsx has queued for this client that the kernel has not taken yet (socket.writableLength) */
  queued?: () => number;
  kick: () => void;
}

/** A kernel send queue at least this big that does not shrink marks a stalled player (as diagnose tcp does). */
const STALL_QUEUE_BYTES = 64 * 1024;

/** Connected clients, for the API (list, kick) and the max_connections limit. */
export class ClientTable {
  private readonly clients = new Map<string, ClientRecord>();
  /** each client's 30 s kbps window, fed by sample() (the server's timer) */
  private readonly rates = new Map<string, RateWindow>();
  /** bytes of the clients that have left, so the server's totals never go backwards */
  departedRecv = 0;
  departedSend = 0;
  /** every TCP connection (RTMP, HTTP) currently open */
  connections = 0;
  /** kernel Send-Q per client id, from the last refreshSendQueues(); with when it started to grow */
  private readonly sendQueues = new Map<string, { bytes: number; growingSince?: number }>();
  totalAccepted = 0;
  /** connections that ended in an error (protocol error, timeout, refused publish or play, …): srs_clients_errs_total */
  errors = 0;

  add(c: ClientRecord): void {
    this.clients.set(c.id, c);
  }

  remove(id: string): void {
    const c = this.clients.get(id);
    if (c) {
      this.departedRecv += c.bytesRead();
      this.departedSend += c.bytesWritten();
    }
    this.clients.delete(id);
    this.rates.delete(id);
    this.sendQueues.delete(id);
  }

  /**
   * Takes the kernel's send queue of every client from `queues` (remote 'ip:port' → bytes, read from
   * /proc/net/tcp by the caller). A queue of 64 KiB or more that has not shrunk since the previous
   * look marks the client as stalled since the first such look.
   */
  updateSendQueues(queues: Map<string, number>, now = Date.now()): void {
    for (const c of this.clients.values()) {
      const ip = c.ip.startsWith('::ffff:') ? c.ip.slice(7) : c.ip;
      const bytes = queues.get(`${ip}:${c.port}`);
      if (bytes === undefined) continue;
      const prev = this.sendQueues.get(c.id);
      const growing = bytes >= STALL_QUEUE_BYTES && (prev === undefined || bytes >= prev.bytes);
      this.sendQueues.set(c.id, { bytes, growingSince: growing ? (prev?.growingSince ?? now) : undefined });
    }
  }

  /** Bytes received and sent since the process started: connected clients plus those that left (monotonic). */
  totals(): { recv: number; send: number } {
    let recv = this.departedRecv;
    let send = this.departedSend;
    for (const c of this.clients.values()) {
      recv += c.bytesRead();
      send += c.bytesWritten();
    }
    return { recv, send };
  }

  /** One sample of every client's byte counters into its 30 s window (the server's timer calls it). */
  sample(now = Date.now()): void {
    for (const c of this.clients.values()) this.window(c).add(now, c.bytesRead(), c.bytesWritten());
  }

  private window(c: ClientRecord): RateWindow {
    let w = this.rates.get(c.id);
    if (!w) {
      w = new RateWindow({ at: c.connectedAt, recv: 0, send: 0 });
      this.rates.set(c.id, w);
    }
    return w;
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
      const r = this.window(c).rate(now, recv, send);
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
        sendQueueBytes: this.sendQueues.get(c.id)?.bytes,
        serverQueueBytes: c.queued?.(),
        stalledMs: stalledFor(this.sendQueues.get(c.id)?.growingSince, now),
      };
    });
  }
}

function stalledFor(since: number | undefined, now: number): number {
  return since === undefined ? 0 : Math.max(0, now - since);
}
