import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerConfig } from '../config/types.js';
import type { ClientTable } from '../live/clients.js';
import type { SourceRegistry } from '../live/registry.js';
import type { LiveSource } from '../live/source.js';
import type { Logger } from '../log.js';
import { DvrManager } from '../dvr/dvr.js';
import { compileTsMounts, serveTsPlayer, type TsMount } from '../http/ts-mount.js';
import { HlsManager } from './hls.js';
import path from 'node:path';
import type { HookClient, HttpHooks } from '../hooks/http-hooks.js';

/**
 * What the server makes of a published stream besides relaying it: HLS, DVR and the
 * HTTP-TS/AAC/MP3 remuxes. Each runs once per stream as a source tap.
 */
export class MediaOutputs {
  readonly hls: HlsManager;
  readonly dvr: DvrManager;
  private config: ServerConfig;
  private tsMounts: TsMount[] = [];

  constructor(
    private readonly registry: SourceRegistry,
    private readonly clients: ClientTable,
    private readonly log: Logger,
  ) {
    this.config = registry.serverConfig;
    this.hls = new HlsManager(log);
    this.dvr = new DvrManager(log);
    // after the forwarder: both taps see every publish
    const before = registry.onPublish;
    registry.onPublish = (source) => {
      before?.(source);
      this.onPublish(source);
    };
    this.configure(this.config);
  }

  /**
   * SRS's on_dvr (each finished file) and on_hls (each segment) http hooks, from the vhost's
   * http_hooks as configured now; paths as SRS gives them (relative to the working directory).
   */
  useHooks(hooks: HttpHooks): void {
    const hooksOf = (vhost: string) => this.config.vhosts.find((v) => v.name === vhost)?.httpHooks;
    const rel = (p: string) => {
      const r = path.relative(process.cwd(), p);
      return r.startsWith('..') ? p : `./${r}`;
    };
    this.dvr.onFile = (source, file) => hooks.notifyFile(hooksOf(source.vhost), 'on_dvr', source, { cwd: process.cwd(), file: rel(file) });
    // the publisher as it was when the segment was cut (it may have left once the files are written)
    this.hls.capture = (source) => hooks.publisherOf(source.id);
    this.hls.onSegment = (stream, seg, source, captured) => {
      if (!source) return;
      const publisher = captured as HookClient | undefined;
      hooks.notifyHls(hooksOf(source.vhost), source, seg.uri, stream.config.nbNotify, publisher);
      const m3u8Url = stream.m3u8Rel;
      const dir = m3u8Url.includes('/') ? m3u8Url.slice(0, m3u8Url.lastIndexOf('/') + 1) : '';
      hooks.notifyFile(hooksOf(source.vhost), 'on_hls', source, {
        duration: seg.durationMs / 1000,
        cwd: process.cwd(),
        file: rel(seg.file),
        url: seg.uri.includes('://') ? seg.uri : `${dir}${seg.uri}`,
        m3u8: rel(stream.m3u8File),
        m3u8_url: m3u8Url,
        seq_no: seg.seq,
      }, publisher);
    };
  }

  configure(config: ServerConfig): void {
    this.config = config;
    this.tsMounts = compileTsMounts(config.vhosts.filter((v) => v.enabled));
  }

  private onPublish(source: LiveSource): void {
    const vhost = this.config.vhosts.find((v) => v.name === source.vhost);
    if (!vhost) return;
    this.hls.onPublish(source, vhost.hls);
    this.dvr.onPublish(source, vhost.dvr);
  }

  /** Serves an HTTP-TS/AAC/MP3 player when the path matches a mount; false otherwise. */
  handleHttp(req: IncomingMessage, res: ServerResponse, pathname: string): boolean {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    for (const mount of this.tsMounts) {
      const m = mount.match(pathname);
      if (m && m.stream) {
        serveTsPlayer(req, res, { mount, ...m }, { registry: this.registry, clients: this.clients, log: this.log, crossdomain: this.config.httpServer.crossdomain });
        return true;
      }
    }
    return false;
  }

  stop(): void {
    this.hls.stop();
    this.dvr.stop();
  }
}
