import { RtmpClient } from '../client/rtmp-client.js';
import { MessageType } from '../protocol/rtmp/message.js';
import type { ServerConfig } from './config/types.js';
import type { MediaMessage } from './live/media.js';
import type { SourceRegistry } from './live/registry.js';
import type { LiveSource, SourceTap } from './live/source.js';
import type { Logger } from './log.js';

/** Bytes a forward may queue before it drops media until the next keyframe. */
const MAX_FORWARD_BACKLOG = 4 * 1024 * 1024;
const RETRY_MS = [1000, 2000, 3000, 5000];

/**
 * `forward { enabled on; destination host:port; }`: republishes every stream of the vhost to
 * other RTMP servers (rtmp://dest/app/stream), and reconnects when they go away.
 */
export class Forwarder {
  private config: ServerConfig | undefined;
  private readonly active = new Set<ForwardTarget>();

  constructor(
    registry: SourceRegistry,
    private readonly log: Logger,
  ) {
    registry.onPublish = (source) => this.start(source);
  }

  configure(config: ServerConfig): void {
    this.config = config;
  }

  private start(source: LiveSource): void {
    const vhost = this.config?.vhosts.find((v) => v.name === source.vhost);
    if (!vhost?.forward.enabled) return;
    for (const dest of vhost.forward.destinations) {
      const t = new ForwardTarget(source, dest, this.log, () => this.active.delete(t));
      this.active.add(t);
      t.connect();
    }
  }

  stop(): void {
    for (const t of this.active) t.stop();
    this.active.clear();
  }
}

class ForwardTarget implements SourceTap {
  private client: RtmpClient | undefined;
  private ready = false;
  private stopped = false;
  private attempt = 0;
  private waitingKeyframe = true;
  private retry: NodeJS.Timeout | undefined;
  private readonly url: string;

  constructor(
    private readonly source: LiveSource,
    dest: string,
    private readonly log: Logger,
    private readonly onDone: () => void,
  ) {
    const hostPort = dest.includes(':') ? dest : `${dest}:1935`;
    this.url = `rtmp://${hostPort}/${source.app}/${source.name}`;
    source.taps.add(this);
  }

  connect(): void {
    if (this.stopped) return;
    const client = new RtmpClient(this.url, { timeoutMs: 5000 });
    this.client = client;
    client.on('close', (reason: string) => {
      this.ready = false;
      if (this.stopped) return;
      const wait = RETRY_MS[Math.min(this.attempt++, RETRY_MS.length - 1)]!;
      this.log.warn(`forward ${this.source.key} → ${this.url}: ${reason}; retry in ${wait} ms`);
      this.retry = setTimeout(() => this.connect(), wait);
      this.retry.unref?.();
    });
    client
      .connect()
      .then(() => client.publish())
      .then(() => {
        this.attempt = 0;
        this.ready = true;
        // headers and audio go at once; video from the first keyframe (the GOP's, or the next one)
        this.waitingKeyframe = true;
        this.log.trace(`forward ${this.source.key} → ${this.url} started`);
        for (const m of this.source.cachedMessages()) this.send(m);
      })
      .catch(() => client.close()); // 'close' schedules the retry
  }

  onMessage(m: MediaMessage): void {
    if (this.ready) this.send(m);
  }

  private send(m: MediaMessage): void {
    const client = this.client!;
    if (client.writableLength > MAX_FORWARD_BACKLOG) {
      this.waitingKeyframe = true;
      return;
    }
    if (this.waitingKeyframe && m.type === MessageType.Video && !m.sequenceHeader) {
      if (!m.keyframe) return;
      this.waitingKeyframe = false;
    }
    client.sendMedia(m.type, m.timestamp, m.payload);
  }

  onUnpublish(): void {
    this.stop();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retry);
    this.source.taps.delete(this);
    this.client?.close();
    this.onDone();
  }
}
