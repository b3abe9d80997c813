import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerConfig } from '../config/types.js';
import type { ClientTable } from '../live/clients.js';
import type { SourceRegistry } from '../live/registry.js';
import type { LiveSource } from '../live/source.js';
import type { Logger } from '../log.js';
import { DvrManager } from '../dvr/dvr.js';
import { compileTsMounts, serveTsPlayer, type TsMount } from '../http/ts-mount.js';
import { HlsManager } from './hls.js';

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
