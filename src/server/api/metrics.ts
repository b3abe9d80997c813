/**
 * Prometheus exporter for SRS's `exporter { enabled on; listen 9972; label ...; tag ...; }`, with
 * SRS's metric names (SrsGoApiMetrics): srs_node_uname_info, srs_build_info, srs_cpu_percent,
 * srs_memory, srs_send_bytes_total, srs_receive_bytes_total, srs_streams, srs_clients,
 * srs_clients_total, srs_clients_errs_total. Values are read from the StatsSource at scrape time:
 * the byte and client counters count clients that have left too (they never go backwards while the
 * process runs), srs_cpu_percent is over the last 30 s (the server's sampler).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pathOf } from '../http/url.js';
import os from 'node:os';
import { Counter, Gauge, Registry } from 'prom-client';
import type { ServerConfig } from '../config/types.js';
import { VERSION } from '../../version.js';
import { httpError } from './respond.js';
import type { StatsSource } from './stats-source.js';
import { SummarySampler } from './summaries.js';

export class MetricsExporter {
  readonly registry = new Registry();
  private readonly sampler: SummarySampler;

  constructor(
    private readonly stats: StatsSource,
    config: Pick<ServerConfig, 'exporter'>,
    /** the server's CPU sampler (ticked by its timer), shared with /api/v1/summaries */
    cpu?: SummarySampler,
  ) {
    this.sampler = cpu ?? new SummarySampler();
    const reg = [this.registry];
    const { stats: src, sampler } = this;

    const uname = new Gauge({
      name: 'srs_node_uname_info',
      help: 'Labeled system information as provided by the uname system call.',
      labelNames: ['sysname', 'nodename', 'release', 'version', 'machine'],
      registers: reg,
    });
    uname.set({ sysname: os.type(), nodename: os.hostname(), release: os.release(), version: os.version(), machine: os.machine() }, 1);

    const { label, tag } = config.exporter;
    const buildLabels = ['server', 'service', 'pid', 'build_date', 'major', 'version', 'code'];
    if (label) buildLabels.push('label');
    if (tag) buildLabels.push('tag');
    new Gauge({
      name: 'srs_build_info',
      help: "A metric with a constant '1' value labeled by build_date, version from which SRS was built.",
      labelNames: buildLabels,
      registers: reg,
      collect() {
        const s = src.summary();
        const labels: Record<string, string> = {
          server: s.serverId,
          service: s.serviceId,
          pid: String(s.pid),
          build_date: '',
          major: VERSION.split('.')[0]!,
          version: VERSION,
          code: 'srsx',
        };
        if (label) labels.label = label;
        if (tag) labels.tag = tag;
        this.reset();
        this.set(labels, 1);
      },
    });
    new Gauge({
      name: 'srs_cpu_percent',
      help: 'SRS cpu used percent.',
      registers: reg,
      collect() {
        this.set(sampler.selfCpu() * 100);
      },
    });
    new Gauge({
      name: 'srs_memory',
      help: 'SRS memory used.',
      registers: reg,
      collect() {
        this.set(Math.round(process.memoryUsage.rss() / 1024));
      },
    });
    const counter = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers: reg,
        collect() {
          this.reset();
          this.inc(Math.max(0, read()));
        },
      });
    counter('srs_send_bytes_total', 'SRS total sent bytes.', () => src.summary().sendBytes);
    counter('srs_receive_bytes_total', 'SRS total received bytes.', () => src.summary().recvBytes);
    new Gauge({
      name: 'srs_streams',
      help: 'The number of SRS concurrent streams.',
      registers: reg,
      collect() {
        this.set(src.streams().filter((s) => s.publisherId !== undefined).length);
      },
    });
    new Gauge({
      name: 'srs_clients',
      help: 'The number of SRS concurrent clients.',
      registers: reg,
      collect() {
        this.set(src.clients().length);
      },
    });
    counter('srs_clients_total', 'The total counts of SRS clients.', () => src.summary().clientsTotal ?? 0);
    counter('srs_clients_errs_total', 'The total errors of SRS clients.', () => src.summary().clientsErrors ?? 0);
    // srsx: the WebRTC UDP loop (only with rtc_server on): SRS's loss=(r:,s:) as counters
    counter('srs_rtc_udp_recv_drops_total', 'Datagrams the kernel dropped on the WebRTC UDP socket (receive buffer full).', () => src.summary().udp?.recvDrops ?? 0);
    counter('srs_rtc_udp_send_errors_total', 'Datagrams the WebRTC UDP socket failed to send.', () => src.summary().udp?.sendErrors ?? 0);
    // srsx: HLS and DVR disk work (only with a media-output server)
    counter('srs_hls_segments_total', 'HLS segments written and named in a playlist.', () => src.summary().media?.hlsSegments ?? 0);
    counter('srs_hls_segment_errors_total', 'HLS segments not published because a file (segment, key or playlist) could not be written.', () => src.summary().media?.hlsSegmentErrors ?? 0);
    counter('srs_hls_segments_dropped_total', 'HLS segments dropped because the disk was too far behind.', () => src.summary().media?.hlsSegmentsDropped ?? 0);
    counter('srs_dvr_files_total', 'DVR files finished under their final name.', () => src.summary().media?.dvrFiles ?? 0);
    counter('srs_dvr_errors_total', 'DVR disk operations that failed (open, write, close, rename).', () => src.summary().media?.dvrErrors ?? 0);
    counter('srs_dvr_dropped_total', 'DVR recordings dropped (a disk too slow, or a file that could not be opened).', () => src.summary().media?.dvrDropped ?? 0);
    counter('srs_rtc_udp_bad_total', 'Datagrams received on the WebRTC UDP port that could not be used (malformed, unknown peer, bad SRTP tag).', () => src.summary().udp?.bad ?? 0);
    counter('srs_rtc_udp_replayed_total', 'Authentic SRTP/SRTCP packets dropped as replays (seen before, or older than the replay window).', () => src.summary().udp?.replayed ?? 0);
  }

  /** The exposition text. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /** Writes the metrics to `res` (any path; the caller routed it). */
  serve(req: IncomingMessage, res: ServerResponse): void {
    this.metrics().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': this.registry.contentType, 'Content-Length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: Error) => httpError(res, 500, `metrics: ${err.message}`),
    );
  }

  /**
   * For the exporter's own listener (exporter.listen): answers GET /metrics; returns false for
   * other paths (SRS serves the whole API there too: mount handleApi next to it).
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    // the path as sent (a target like `//[` is no URL relative to any base: new URL threw)
    const pathname = pathOf(req.url);
    if (pathname !== '/metrics') return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      httpError(res, 405);
      return true;
    }
    this.serve(req, res);
    return true;
  }
}

export function createMetricsExporter(stats: StatsSource, config: Pick<ServerConfig, 'exporter'>, sampler?: SummarySampler): MetricsExporter {
  return new MetricsExporter(stats, config, sampler);
}
