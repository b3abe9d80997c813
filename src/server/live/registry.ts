import { randomBytes } from 'node:crypto';
import type { ServerConfig, VhostConfig } from '../config/types.js';
import { LiveSource, type SourceOptions } from './source.js';

export const DEFAULT_VHOST = '__defaultVhost__';
const SIGNATURE = 'srsx/0.1';

export function newId(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** All live sources of the server, by vhost/app/stream. */
export class SourceRegistry {
  private readonly sources = new Map<string, LiveSource>();
  /** called whenever a source starts publishing */
  onPublish: ((source: LiveSource) => void) | undefined;
  /** called when an idle source is dropped (the stats keep its bytes in the vhost's totals) */
  onRelease: ((source: LiveSource) => void) | undefined;

  constructor(private config: ServerConfig) {}

  /** The vhost a client asked for, or the default vhost when it is not configured. */
  resolveVhost(name: string | undefined): VhostConfig | undefined {
    const vhosts = this.config.vhosts.filter((v) => v.enabled);
    return vhosts.find((v) => v.name === name) ?? vhosts.find((v) => v.name === DEFAULT_VHOST);
  }

  sourceOptions(vhost: VhostConfig): SourceOptions {
    return {
      gopCache: vhost.play.gopCache,
      mwLatencyMs: vhost.minLatency ? 0 : vhost.play.mwLatencyMs,
      mwMsgs: vhost.play.mwMsgs,
      gopMaxFrames: 2500,
      serverSignature: SIGNATURE,
      timeJitter: vhost.play.timeJitter,
    };
  }

  getOrCreate(vhost: VhostConfig, app: string, stream: string): LiveSource {
    const key = `${vhost.name}/${app}/${stream}`;
    let s = this.sources.get(key);
    if (!s) {
      s = new LiveSource(vhost.name, app, stream, newId('vid'), this.sourceOptions(vhost));
      s.onPublish = (src) => this.onPublish?.(src);
      this.sources.set(key, s);
    }
    return s;
  }

  find(vhost: string, app: string, stream: string): LiveSource | undefined {
    return this.sources.get(`${vhost}/${app}/${stream}`);
  }

  /** Drops a source nobody publishes or plays. */
  release(source: LiveSource): void {
    if (source.idle) {
      source.dispose();
      const known = this.sources.get(source.key) === source;
      this.sources.delete(source.key);
      if (known) this.onRelease?.(source);
    }
  }

  all(): LiveSource[] {
    return [...this.sources.values()];
  }

  /** SIGHUP: new play settings for every source; players stay connected. */
  reload(config: ServerConfig): void {
    this.config = config;
    for (const s of this.sources.values()) {
      const vhost = this.resolveVhost(s.vhost);
      if (vhost) s.reconfigure(this.sourceOptions(vhost));
    }
  }

  get serverConfig(): ServerConfig {
    return this.config;
  }
}
