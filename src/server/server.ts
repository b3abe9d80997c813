import http from 'node:http';
import net from 'node:net';
import { UserError } from '../errors.js';
import { apiSharesHttpServer, handleApi, httpError, serveStatic, type MetricsExporter } from './api/index.js';
import type { ListenAddress, ServerConfig } from './config/types.js';
import { compileMount, type FlvMount } from './http/flv-mount.js';
import { serveFlvPlayer } from './http/flv-player.js';
import { createGuardedHttpServer } from './http/limits.js';
import { guard } from './guard.js';
import { servePlayers } from './http/players.js';
import { ClientTable } from './live/clients.js';
import { newId, SourceRegistry } from './live/registry.js';
import { LiveStats } from './live/stats.js';
import type { Logger } from './log.js';
import { AcceptErrors } from './accept-errors.js';
import { RtmpSession, type SessionContext } from './rtmp/session.js';
import { Forwarder } from './forward.js';
import { MediaOutputs } from './hls/outputs.js';
import { withMediaStatus } from './hls/stats.js';
import { ValgrindApi } from './api/valgrind.js';
import { loadNativeAddon } from '../native/addon.js';
import { handleRtcApi } from './api/rtc-routes.js';
import type { StatsSource } from './api/stats-source.js';
import { RtcServer } from './rtc/rtc-server.js';
import { RtcBridges } from './rtc/bridge/index.js';
import { CombinedStats } from './rtc/stats.js';
import { HttpHooks } from './hooks/http-hooks.js';
import { EdgeCluster } from './cluster/edge.js';
import { withEdgeStatus } from './cluster/stats.js';
import { SummarySampler } from './api/summaries.js';
import { ProcSampler } from './api/system.js';
import { PeriodicStats, statsLogIntervalMs } from './periodic.js';

export interface ServerOptions {
  config: ServerConfig;
  log: Logger;
  /** the id the API and the http hooks report (src/server/server-id.ts); default a random one */
  serverId?: string;
  /** http hooks' timeout (default SRS's 30 s) */
  hookTimeoutMs?: number;
}

/**
 * The running server: RTMP listeners, the HTTP server (HTTP-FLV + files), the HTTP API and
 * the exporter, all over one SourceRegistry. start() binds everything or nothing.
 */
export class LiveServer {
  readonly registry: SourceRegistry;
  readonly clients = new ClientTable();
  readonly stats: LiveStats;
  private config: ServerConfig;
  private readonly log: Logger;
  private readonly servers: Array<net.Server | http.Server> = [];
  private readonly acceptErrors: AcceptErrors;
  private readonly sockets = new Set<net.Socket>();
  /** the Prometheus exporter, loaded (with prom-client) only when `exporter` is enabled */
  private metrics: MetricsExporter | undefined;
  private metricsFactory: ((stats: StatsSource, config: ServerConfig, cpu?: SummarySampler) => MetricsExporter) | undefined;
  /** the WebRTC core (rtc_server { enabled on; }); its hub is what the RTMP bridges use */
  rtc: RtcServer | undefined;
  /** RTMP <-> WebRTC (vhost rtc { rtmp_to_rtc; rtc_to_rtmp; }), with the core */
  bridges: RtcBridges | undefined;
  /** the live stats plus the WebRTC streams (their windows are sampled with the live ones) */
  private readonly combined: CombinedStats;
  /** what the API and the exporter read: the live stats plus WebRTC streams and the UDP loop */
  readonly apiStats: StatsSource;
  private mounts: FlvMount[] = [];
  private forwarder: Forwarder;
  /** HLS, DVR and HTTP-TS/AAC/MP3: one muxer per stream, as source taps */
  readonly media: MediaOutputs;
  private readonly valgrind = new ValgrindApi(loadNativeAddon);
  /** SRS's http_hooks, shared by RTMP sessions and HTTP-FLV players */
  readonly hooks: HttpHooks;
  /** SRS's edge (vhost cluster { mode remote; }): pulls on play, pushes publishes, token traverse */
  readonly edge: EdgeCluster;
  /** CPU times every 5 s: /api/v1/summaries and srs_cpu_percent are over the last 30 s */
  readonly cpu = new SummarySampler();
  /** /proc/PID/stat and /proc/stat every 5 s: /api/v1/self_proc_stats and system_proc_stats are over the last 30 s */
  private readonly procCpu = new ProcSampler();
  /** the statistics' own timer (30 s windows) and the periodic stats line */
  private readonly periodic: PeriodicStats;
  /** actual bound ports by role (useful with port 0 in tests) */
  readonly bound: { rtmp: number[]; http?: number; api?: number; exporter?: number; rtc?: number } = { rtmp: [] };

  constructor(opts: ServerOptions) {
    this.config = opts.config;
    this.log = opts.log;
    this.acceptErrors = new AcceptErrors(this.log);
    this.registry = new SourceRegistry(this.config);
    this.stats = new LiveStats(this.registry, this.clients);
    if (opts.serverId) this.stats.serverId = opts.serverId;
    this.hooks = new HttpHooks(() => ({ serverId: this.stats.serverId, serviceId: this.stats.serviceId }), this.log, opts.hookTimeoutMs);
    this.edge = new EdgeCluster(this.registry, this.log);
    this.combined = new CombinedStats(this.stats, () => this.rtc);
    this.apiStats = withMediaStatus(withEdgeStatus(this.combined, this.edge), () => this.media);
    this.mounts = this.compileMounts();
    this.forwarder = new Forwarder(this.registry, this.log);
    this.media = new MediaOutputs(this.registry, this.clients, this.log);
    this.media.useHooks(this.hooks);
    this.periodic = new PeriodicStats({
      sample: (now) => {
        this.stats.sample(now);
        this.combined.sampleRtc(now);
        this.procCpu.tick();
      },
      cpu: this.cpu,
      summary: () => this.apiStats.summary(),
      clients: () => this.clients.size,
      streams: () => this.apiStats.streams().filter((s) => s.publisherId !== undefined).length,
    }, this.log, statsLogIntervalMs(process.env, (m) => this.log.warn(m)));
  }

  private compileMounts(): FlvMount[] {
    return this.config.vhosts.filter((v) => v.enabled).map(compileMount).filter((m): m is FlvMount => m !== undefined);
  }

  private sessionContext(): SessionContext {
    return {
      registry: this.registry,
      clients: this.clients,
      log: this.log,
      maxMessageSize: 16 * 1024 * 1024,
      handshakeTimeoutMs: 10_000,
      publishIdleTimeoutMs: 30_000,
      hooks: this.hooks,
      edge: this.edge,
    };
  }

  /**
   * Counts a connection against max_connections; false (and the socket closed, logged at most once
   * a second with the count) when over. Logs one line for the connection's open; an HTTP
   * connection's close is logged here too (an RTMP session logs its own, with the reason).
   */
  private admit(socket: net.Socket, what: 'RTMP' | 'HTTP', id: string): boolean {
    const from = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    if (this.clients.connections >= this.config.maxConnections) {
      this.acceptErrors.refused(what, socket.remoteAddress ?? '?', this.config.maxConnections);
      socket.destroy();
      return false;
    }
    this.clients.connections++;
    this.clients.totalAccepted++;
    this.sockets.add(socket);
    this.log.trace(`${what} connection from ${from}, conns=${this.clients.connections}`, id);
    const at = Date.now();
    let error: string | undefined;
    let peerEnded = false;
    if (what === 'HTTP') {
      socket.once('end', () => (peerEnded = true));
      socket.once('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    }
    socket.once('close', () => {
      this.clients.connections--;
      this.sockets.delete(socket);
      if (what === 'HTTP') {
        const gone = error === 'EPIPE' || error === 'ECONNRESET';
        const why = error ? (gone ? `peer closed (${error})` : `socket error ${error}`) : peerEnded ? 'peer closed' : 'closed by the server';
        this.log.trace(`HTTP close: ${why}, ${((Date.now() - at) / 1000).toFixed(1)} s, recv ${socket.bytesRead} bytes, sent ${socket.bytesWritten} bytes`, id);
      }
    });
    return true;
  }

  async start(): Promise<void> {
    if (this.config.exporter.enabled) {
      const { createMetricsExporter } = await import('./api/metrics.js');
      this.metricsFactory = createMetricsExporter;
      this.metrics = createMetricsExporter(this.apiStats, this.config, this.cpu);
    }
    try {
      if (this.config.rtcServer.enabled) {
        this.rtc = new RtcServer(this.config, this.log, this.clients, (v) => this.registry.resolveVhost(v));
        await this.rtc.start();
        this.bound.rtc = this.rtc.port;
        this.bridges = new RtcBridges(this.registry, this.rtc, this.log);
      }
      const ctx = this.sessionContext();
      for (const addr of this.config.listen) {
        const srv = net.createServer({ noDelay: false }, (socket) => {
          const id = newId('rtmp');
          if (!this.admit(socket, 'RTMP', id)) return;
          guard(this.log, id, () => socket.destroy(), () => new RtmpSession(socket, ctx, id))();
        });
        this.bound.rtmp.push(await listen(srv, addr, 'RTMP (listen)'));
        this.servers.push(srv);
      }
      const cfg = this.config;
      const shared = apiSharesHttpServer(cfg);
      if (cfg.httpServer.enabled) {
        const srv = createGuardedHttpServer('http_server', this.log, (req, res) => this.onHttpServer(req, res, shared));
        srv.on('connection', (s: net.Socket) => this.admit(s, 'HTTP', newId('http')));
        this.bound.http = await listen(srv, cfg.httpServer.listen, 'http_server');
        this.servers.push(srv);
      }
      if (cfg.httpApi.enabled && !shared) {
        const srv = createGuardedHttpServer('http_api', this.log, (req, res) => {
          if (!handleRtcApi(req, res, this.rtcApiContext()) && !handleApi(req, res, this.apiContext())) httpError(res, 404);
        });
        this.bound.api = await listen(srv, cfg.httpApi.listen, 'http_api');
        this.servers.push(srv);
      }
      if (cfg.exporter.enabled) {
        const srv = createGuardedHttpServer('exporter', this.log, (req, res) => {
          if (!this.metrics?.handle(req, res) && !handleApi(req, res, this.apiContext())) httpError(res, 404);
        });
        this.bound.exporter = await listen(srv, cfg.exporter.listen, 'exporter');
        this.servers.push(srv);
      }
      this.forwarder.configure(cfg);
      // EMFILE at accept (and other accept errors): logged once a second with the count, never fatal
      for (const s of this.servers) this.acceptErrors.attach(s, `port ${(s.address() as net.AddressInfo | null)?.port ?? '?'}`);
      this.acceptErrors.watch(() => this.sockets.size);
      this.periodic.start();
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  private apiContext(serveRoot = true) {
    return { stats: this.apiStats, config: this.config, metrics: this.metrics, serveRoot, valgrind: this.valgrind, sampler: this.cpu, procSampler: this.procCpu };
  }

  private rtcApiContext() {
    return { rtc: this.rtc, crossdomain: this.config.httpApi.crossdomain, summary: () => this.stats.summary() };
  }

  private onHttpServer(req: http.IncomingMessage, res: http.ServerResponse, shared: boolean): void {
    const pathname = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'GET' || req.method === 'HEAD') {
      for (const mount of this.mounts) {
        const m = mount.match(pathname);
        if (m && m.stream) {
          serveFlvPlayer(req, res, { mount, ...m }, { registry: this.registry, clients: this.clients, log: this.log, crossdomain: this.config.httpServer.crossdomain, hooks: this.hooks, edge: this.edge });
          return;
        }
      }
    }
    if (this.media.handleHttp(req, res, pathname)) return;
    if (shared && (handleRtcApi(req, res, this.rtcApiContext()) || handleApi(req, res, this.apiContext(false)))) return;
    if (servePlayers(req, res)) return;
    serveStatic(req, res, { dir: this.config.httpServer.dir, crossdomain: this.config.httpServer.crossdomain }).catch((err) => {
      this.log.warn(`static file ${pathname}: ${(err as Error).message}`);
      if (!res.headersSent) httpError(res, 500);
      else res.destroy();
    });
  }

  /** SIGHUP: new vhost settings (play, forward, http_remux) without dropping anyone. */
  reload(config: ServerConfig): string[] {
    const notes: string[] = [];
    const same = (a: ListenAddress[], b: ListenAddress[]) => JSON.stringify(a) === JSON.stringify(b);
    if (!same(config.listen, this.config.listen) || config.httpServer.listen.port !== this.config.httpServer.listen.port || config.httpApi.listen.port !== this.config.httpApi.listen.port) {
      notes.push('listen addresses changed: restart srsx serve to apply them');
    }
    this.config = config;
    this.registry.reload(config);
    this.mounts = this.compileMounts();
    if (!config.exporter.enabled) this.metrics = undefined;
    else if (this.metricsFactory) this.metrics = this.metricsFactory(this.apiStats, config, this.cpu);
    else notes.push('exporter turned on: restart srsx serve to start it');
    this.forwarder.configure(config);
    this.edge.configure(config);
    this.media.configure(config);
    this.rtc?.reload(config);
    this.bridges?.configure(config);
    return notes;
  }

  /** Stops listening and ends every connection. */
  async stop(): Promise<void> {
    this.acceptErrors.stop();
    this.periodic.stop();
    this.forwarder.stop();
    this.edge.stop();
    this.media.stop();
    this.bridges?.stop();
    await this.rtc?.stop();
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.servers.length = 0;
    for (const s of this.registry.all()) s.dispose();
  }
}

function listen(server: net.Server, addr: ListenAddress, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const where = `${addr.host}:${addr.port}`;
      if (err.code === 'EADDRINUSE') reject(new UserError(`${what}: ${where} is already in use`, { hint: `stop what listens there (ss -ltnp 'sport = :${addr.port}') or change the port in the config` }));
      else if (err.code === 'EACCES') reject(new UserError(`${what}: no permission to listen on ${where}`, { hint: 'ports below 1024 need root or CAP_NET_BIND_SERVICE' }));
      else reject(new UserError(`${what}: cannot listen on ${where}: ${err.message}`));
    };
    server.once('error', onError);
    server.listen({ port: addr.port, host: addr.host, backlog: 4096 }, () => {
      server.off('error', onError);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}
