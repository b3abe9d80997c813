/**
 * SRS's edge (vhost cluster { mode remote; origin a b …; token_traverse on; }):
 *
 * - play: the first player of a stream starts ONE upstream RTMP play from an origin; what it
 *   receives is published into the local live source, so every player of the edge (RTMP or
 *   HTTP-FLV) is served from the local GOP cache and sequence headers. When the last player
 *   leaves, the upstream stops after STOP_DELAY_MS (a player that comes back at once reuses it).
 * - publish: a publish on the edge is pushed to an origin (SRS's edge publish); when no origin
 *   takes it, or the origin goes away, the publisher is closed (it reconnects, as with SRS).
 * - failover: origins are tried round robin from the first, per stream (SRS's SrsLbRoundRobin);
 *   a dead or refusing origin is skipped to the next at once, and after a whole round failed the
 *   next round waits (backoff up to MAX_BACKOFF_MS). Players stay connected meanwhile and get the
 *   stream when it resumes.
 * - redirect: an origin of an origin cluster that does not have the stream answers the play with
 *   a redirect (SRS's RTMP 302: an onStatus error whose ex.redirect2 names the origin that has
 *   it); the ingester reconnects there at once, not counted as a failure (as SRS's
 *   SrsEdgeIngester). At most MAX_REDIRECTS in a row without media: then it is a failure.
 * - token_traverse: before the edge serves a play or publish, the client's connect (tcUrl with
 *   its params, pageUrl, swfUrl) is sent to an origin; the origin's refusal refuses the client.
 */
import { RtmpClient, type StatusEvent } from '../../client/rtmp-client.js';
import { decodeAmf0, type Amf0Object } from '../../protocol/amf0.js';
import { MessageType, type RtmpMessage } from '../../protocol/rtmp/message.js';
import type { ClusterOrigin, ServerConfig, VhostConfig } from '../config/types.js';
import type { MediaMessage } from '../live/media.js';
import { redirectTarget } from './coworkers.js';
import { DEFAULT_VHOST, newId, type SourceRegistry } from '../live/registry.js';
import type { LiveSource, SourceTap } from '../live/source.js';
import type { Logger } from '../log.js';

/** after the last player leaves, the upstream is kept this long (SRS's edge retry/cleanup interval, 3 s) */
export const STOP_DELAY_MS = 3000;
/** connect + handshake + play/publish of an upstream must finish within this (SRS_EDGE_INGESTER_TIMEOUT) */
const UPSTREAM_TIMEOUT_MS = 5000;
/** an upstream that sends nothing this long is given up for the next origin (SRS's edge receive timeout, 5 s) */
export const UPSTREAM_IDLE_MS = 5000;
/** the first wait after a whole round of origins failed; doubled per failed round up to MAX_BACKOFF_MS */
const FIRST_BACKOFF_MS = 500;
/** SRS waits SRS_EDGE_INGESTER_CIMS (3 s) between attempts */
const MAX_BACKOFF_MS = 3000;
/** redirects followed in a row (no media between them) before the upstream counts as failed (a loop A → B → A) */
export const MAX_REDIRECTS = 3;
/** bytes an edge publish may queue to the origin before it drops media until the next keyframe */
const MAX_PUSH_BACKLOG = 4 * 1024 * 1024;

/** What the edge knows of a client's request (RTMP connect + play/publish, or an HTTP-FLV GET). */
export interface EdgeRequest {
  vhost: VhostConfig;
  app: string;
  stream: string;
  /** the stream's query (`?token=…`), '' when none */
  param: string;
  tcUrl: string;
  pageUrl?: string;
  swfUrl?: string;
}

export type EdgeStateName = 'connecting' | 'playing' | 'retrying' | 'publishing' | 'stopping';

/** The edge side of one stream, for /api/v1/streams. */
export interface EdgeStatus {
  /** 'play' (pulled from an origin) or 'publish' (pushed to one) */
  kind: 'play' | 'publish';
  state: EdgeStateName;
  /** the origin in use or being tried, host:port */
  upstream: string;
  /** connects made (successful or not) */
  attempts: number;
  /** the last upstream failure, if any */
  lastError?: string;
  /** the origin that redirected the edge to `upstream` (origin cluster), if any */
  redirectedBy?: string;
  /** ms since epoch of the state's start */
  since: number;
}

export interface TraverseResult {
  ok: boolean;
  reason?: string;
}

/** What the RTMP session and the HTTP-FLV player call (SessionContext.edge). */
export interface EdgeHooks {
  /**
   * token_traverse: a promise of the origin's verdict, or undefined when the vhost does not traverse.
   * `kind` 'play' also plays the stream on the origin (then leaves at once), so an origin that decides
   * only once a client plays (SRS 7 calls on_connect after play/publish) decides too.
   */
  traverse(req: EdgeRequest, kind?: 'play' | 'publish'): Promise<TraverseResult> | undefined;
  /** a player joined `source` (after addConsumer): pulls from an origin when the vhost is an edge */
  played(source: LiveSource, req: EdgeRequest): void;
  /** a player left `source` (after removeConsumer) */
  stopped(source: LiveSource): void;
  /** a publish started on `source`: pushed to an origin when the vhost is an edge; `close` ends the publisher */
  published(source: LiveSource, req: EdgeRequest, close: (reason: string) => void): void;
}

export function isEdge(vhost: VhostConfig | undefined): boolean {
  return vhost?.cluster.mode === 'remote' && vhost.cluster.origins.length > 0;
}

const hostPort = (o: ClusterOrigin) => (o.host.includes(':') ? `[${o.host}]:${o.port}` : `${o.host}:${o.port}`);

/**
 * The upstream URL of a stream on `origin`: rtmp://origin/app/stream, the vhost asked of the
 * origin (cluster.vhost, '[vhost]' for the client's) as `?vhost=` when it is not the default,
 * and the client's param (a token) after it, as SRS's srs_generate_rtmp_url.
 */
export function upstreamUrl(origin: ClusterOrigin, req: Pick<EdgeRequest, 'vhost' | 'app' | 'stream' | 'param'>): string {
  const vhost = req.vhost.cluster.upstreamVhost.replace('[vhost]', req.vhost.name);
  const query = new URLSearchParams(req.param.replace(/^\?/, ''));
  if (vhost !== DEFAULT_VHOST && !query.has('vhost')) query.set('vhost', vhost);
  const q = query.toString();
  const app = req.app.split('/').map(encodeURIComponent).join('/');
  return `rtmp://${hostPort(origin)}/${app}/${encodeURIComponent(req.stream)}${q ? `?${q}` : ''}`;
}

/** SRS's SrsLbRoundRobin: each select() takes the next server, from the first. */
class RoundRobin {
  private count = 0;
  select(origins: ClusterOrigin[]): ClusterOrigin {
    return origins[this.count++ % origins.length]!;
  }
}

/** Audio/video/onMetaData of an upstream message into a local source (as a publisher's would go). */
function feed(source: LiveSource, m: RtmpMessage): void {
  if (m.type === MessageType.Video) source.onVideo(m.timestamp, m.payload);
  else if (m.type === MessageType.Audio) source.onAudio(m.timestamp, m.payload);
  else if (m.type === MessageType.DataAmf0) {
    let values: unknown[];
    try {
      values = decodeAmf0(m.payload);
    } catch {
      return;
    }
    let i = 0;
    if (values[i] === '@setDataFrame') i++;
    if (values[i] !== 'onMetaData') return;
    const meta = values[i + 1];
    source.onMetadata(meta !== null && typeof meta === 'object' && !Array.isArray(meta) && !(meta instanceof Date) ? (meta as Amf0Object) : {}, m.timestamp);
  }
}

/**
 * One stream pulled from the origins (SRS's SrsPlayEdge + SrsEdgeIngester): connects round robin,
 * plays, publishes what it gets into the local source; reconnects (next origin, backoff) until
 * stopped.
 */
class EdgeIngester {
  readonly id = newId('edge');
  private readonly lb = new RoundRobin();
  private client: RtmpClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** a delayed stop after the last player left */
  private stopTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failuresInRound = 0;
  private failedRounds = 0;
  /** the origin an origin cluster redirected to: the next start connects there */
  private redirect: { origin: ClusterOrigin; by: string } | undefined;
  /** redirects followed since media last came */
  private redirects = 0;
  readonly status: EdgeStatus;

  constructor(
    readonly source: LiveSource,
    private readonly req: EdgeRequest,
    private readonly log: Logger,
    private readonly registry: SourceRegistry,
    private readonly onDone: (i: EdgeIngester) => void,
  ) {
    this.status = { kind: 'play', state: 'connecting', upstream: '', attempts: 0, since: Date.now() };
  }

  private origins(): ClusterOrigin[] {
    // the vhost as configured now (a reload may change the origins)
    const v = this.registry.resolveVhost(this.req.vhost.name);
    return isEdge(v) ? v!.cluster.origins : this.req.vhost.cluster.origins;
  }

  private setState(state: EdgeStateName): void {
    this.status.state = state;
    this.status.since = Date.now();
  }

  start(): void {
    if (this.stopped) return;
    const redirect = this.redirect;
    this.redirect = undefined;
    const origin = redirect?.origin ?? this.lb.select(this.origins());
    const url = upstreamUrl(origin, this.req);
    this.status.upstream = hostPort(origin);
    this.status.redirectedBy = redirect?.by;
    this.status.attempts++;
    this.setState('connecting');
    const client = new RtmpClient(url, { timeoutMs: UPSTREAM_TIMEOUT_MS, flashVer: 'WIN 15,0,0,239' });
    this.client = client;
    let playing = false;
    let gotMedia = false;
    let connectError: string | undefined;
    let redirectTo: ClusterOrigin | undefined;
    let lastDataAt = Date.now();
    // Play.Start comes in the same read as the origin's first media (metadata, sequence headers,
    // the GOP): take the stream on the status event, synchronously, not when play() resolves
    client.on('status', (st: StatusEvent) => {
      if (this.client !== client) return;
      lastDataAt = Date.now();
      if (st.code === 'NetStream.Play.Start' && !playing) playing = this.onPlaying(url);
      else if (st.level === 'error' && !redirectTo && (redirectTo = redirectTarget(st.ex))) client.close();
    });
    // a frozen origin (or a stream idle there) sends nothing: give it up after UPSTREAM_IDLE_MS, as SRS's receive
    // timeout does, so the edge moves on (next origin, backoff) instead of waiting on it for ever
    const idle = setInterval(() => {
      if (this.client !== client || Date.now() - lastDataAt < UPSTREAM_IDLE_MS) return;
      connectError = `no data from the origin in ${UPSTREAM_IDLE_MS / 1000} s`;
      playing = false;
      client.close();
    }, 1000);
    idle.unref?.();
    client.on('media', (m: RtmpMessage) => {
      lastDataAt = Date.now();
      if (this.client !== client || !playing) return;
      if (!gotMedia) gotMedia = true, this.redirects = 0;
      feed(this.source, m);
    });
    client.on('close', (reason: string) => {
      clearInterval(idle);
      if (this.client !== client) return;
      this.client = undefined;
      if (this.source.publisherId === this.id) this.source.stopPublish();
      if (this.stopped) return;
      if (redirectTo) return this.redirected(redirectTo);
      this.failed(`${this.status.upstream}: ${playing ? `upstream ended: ${reason}` : (connectError ?? reason)}`);
    });
    client
      .connect()
      .then(() => client.play())
      .then(() => undefined)
      .catch((err: Error) => {
        if (this.client !== client) return;
        connectError = err.message;
        client.close(); // 'close' moves on to the next origin
      });
  }

  /** The upstream plays: the local source is published by this ingester (false when it must not). */
  private onPlaying(url: string): boolean {
    if (this.stopped) return false;
    // the players may all have left while this connected (the source then is gone)
    if (this.registry.find(this.source.vhost, this.source.app, this.source.name) !== this.source) {
      this.stop('the stream was released while the upstream connected');
      return false;
    }
    if (this.source.isPublishing) {
      this.stop(`${this.source.key} got a local publisher`);
      return false;
    }
    this.failuresInRound = this.failedRounds = 0;
    this.status.lastError = undefined;
    this.setState('playing');
    this.source.startPublish(this.id);
    this.log.trace(`edge pull ${this.source.key} from ${this.status.upstream} (${url})`, this.id);
    return true;
  }

  /** An origin cluster sent the edge elsewhere: there at once, unless that makes too many redirects in a row. */
  private redirected(to: ClusterOrigin): void {
    const from = this.status.upstream;
    if (++this.redirects > MAX_REDIRECTS) {
      this.redirects = 0;
      this.failed(`${from}: more than ${MAX_REDIRECTS} redirects in a row (last to ${hostPort(to)}): an origin cluster that sends the edge round in a loop?`);
      return;
    }
    this.log.trace(`edge pull ${this.source.key}: origin ${from} redirects to ${hostPort(to)} (origin cluster), following`, this.id);
    this.redirect = { origin: to, by: from };
    this.setState('connecting');
    this.timer = setTimeout(() => this.start(), 0);
    this.timer.unref?.();
  }

  /** The next origin now; after a whole round of failures, the next round after a backoff. */
  private failed(why: string): void {
    this.status.lastError = why;
    this.failuresInRound++;
    let wait = 0;
    if (this.failuresInRound >= this.origins().length) {
      this.failuresInRound = 0;
      wait = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** this.failedRounds++);
    }
    this.setState('retrying');
    this.log.warn(`edge pull ${this.source.key}: ${why}; ${wait === 0 ? 'trying the next origin' : `every origin failed, next round in ${wait} ms`}`, this.id);
    this.timer = setTimeout(() => this.start(), wait);
    this.timer.unref?.();
  }

  /** A player joined: a pending stop is cancelled. */
  keep(): void {
    if (this.stopTimer) clearTimeout(this.stopTimer);
    this.stopTimer = undefined;
    if (this.status.state === 'stopping') this.setState(this.client && this.source.publisherId === this.id ? 'playing' : 'connecting');
  }

  /** The last player left: stop after STOP_DELAY_MS unless one comes back. */
  stopLater(): void {
    if (this.stopTimer || this.stopped) return;
    this.setState('stopping');
    this.stopTimer = setTimeout(() => {
      this.stopTimer = undefined;
      if (this.source.consumers.size === 0) this.stop('no players left');
    }, STOP_DELAY_MS);
    this.stopTimer.unref?.();
  }

  stop(why: string): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.stopTimer);
    const client = this.client;
    this.client = undefined;
    client?.close();
    if (this.source.publisherId === this.id) this.source.stopPublish();
    // release drops the registry's entry by key: only when it is still this source (a player that
    // came after the source was released has a new one under the same key)
    if (this.registry.find(this.source.vhost, this.source.app, this.source.name) === this.source) this.registry.release(this.source);
    this.log.trace(`edge pull ${this.source.key} stopped: ${why}`, this.id);
    this.onDone(this);
  }
}

/**
 * A publish on the edge pushed to an origin (SRS's SrsPublishEdge + SrsEdgeForwarder): the origins
 * are tried round robin once each; when none takes it, or the one that did goes away, the edge's
 * publisher is closed.
 */
class EdgePush implements SourceTap {
  private readonly lb = new RoundRobin();
  private client: RtmpClient | undefined;
  private ready = false;
  private stopped = false;
  private tried = 0;
  private waitingKeyframe = true;
  readonly status: EdgeStatus;

  constructor(
    private readonly source: LiveSource,
    private readonly req: EdgeRequest,
    private readonly log: Logger,
    private readonly closePublisher: (reason: string) => void,
    private readonly onDone: (p: EdgePush) => void,
  ) {
    this.status = { kind: 'publish', state: 'connecting', upstream: '', attempts: 0, since: Date.now() };
    source.taps.add(this);
  }

  start(): void {
    if (this.stopped) return;
    const origins = this.req.vhost.cluster.origins;
    const origin = this.lb.select(origins);
    this.tried++;
    this.status.upstream = hostPort(origin);
    this.status.attempts++;
    const url = upstreamUrl(origin, this.req);
    const client = new RtmpClient(url, { timeoutMs: UPSTREAM_TIMEOUT_MS });
    this.client = client;
    let connectError: string | undefined;
    client.on('close', (closed: string) => {
      if (this.client !== client || this.stopped) return;
      this.client = undefined;
      const reason = connectError ?? closed;
      if (this.ready) {
        this.ready = false;
        this.fail(`origin ${this.status.upstream} ended the edge publish: ${reason}`);
      } else if (this.tried < origins.length) {
        this.log.warn(`edge publish ${this.source.key}: ${this.status.upstream}: ${reason}; trying the next origin`);
        this.status.lastError = reason;
        this.start();
      } else {
        this.fail(`no origin takes the publish (last: ${this.status.upstream}: ${reason})`);
      }
    });
    client
      .connect()
      .then(() => client.publish())
      .then(() => {
        if (this.client !== client || this.stopped) return;
        this.ready = true;
        this.waitingKeyframe = true;
        this.status.state = 'publishing';
        this.status.since = Date.now();
        this.log.trace(`edge publish ${this.source.key} to ${this.status.upstream} (${url})`);
        for (const m of this.source.cachedMessages()) this.send(m);
      })
      .catch((err: Error) => {
        if (this.client !== client) return;
        connectError = err.message;
        client.close();
      });
  }

  private fail(why: string): void {
    this.status.lastError = why;
    this.log.warn(`edge publish ${this.source.key}: ${why}: closing the publisher`);
    this.stop();
    this.closePublisher(`edge publish: ${why}`);
  }

  onMessage(m: MediaMessage): void {
    if (this.ready) this.send(m);
  }

  private send(m: MediaMessage): void {
    const client = this.client;
    if (!client) return;
    if (client.writableLength > MAX_PUSH_BACKLOG) {
      this.waitingKeyframe = true;
      return;
    }
    if (this.waitingKeyframe && m.type === MessageType.Video && !m.sequenceHeader) {
      if (!m.keyframe) return;
      this.waitingKeyframe = false;
    }
    if (m.type === MessageType.DataAmf0) {
      // the source keeps onMetaData; the origin takes it as @setDataFrame, as from an encoder
      const values = decodeAmf0(m.payload);
      const meta = values[1];
      if (values[0] === 'onMetaData' && meta && typeof meta === 'object') client.writeMetadata(meta as Amf0Object, m.timestamp);
      return;
    }
    client.sendMedia(m.type, m.timestamp, m.payload);
  }

  onUnpublish(): void {
    this.stop();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.status.state = 'stopping';
    this.source.taps.delete(this);
    const c = this.client;
    this.client = undefined;
    c?.close();
    this.onDone(this);
  }
}

/**
 * Ask one origin after another (in the config's order, as SRS) until one answers: the client's
 * connect, as SRS sends it; for a player also a play of the stream (closed once the origin starts
 * it): SRS 7 runs its on_connect hook only when a client plays or publishes, so a connect alone
 * would pass any token. A publisher's traverse is the connect alone (a publish would take the stream).
 */
async function traverseOnce(req: EdgeRequest, kind: 'play' | 'publish', log: Logger): Promise<TraverseResult> {
  const tcUrl = req.tcUrl.includes('?') || !req.param ? req.tcUrl : `${req.tcUrl}${req.param}`;
  const reasons: string[] = [];
  for (const origin of req.vhost.cluster.origins) {
    const client = new RtmpClient(upstreamUrl(origin, req), {
      timeoutMs: UPSTREAM_TIMEOUT_MS,
      flashVer: 'WIN 15,0,0,239',
      connectFields: { tcUrl, pageUrl: req.pageUrl ?? '', swfUrl: req.swfUrl ?? '' },
    });
    client.on('error', () => undefined);
    // an origin of an origin cluster that does not have the stream redirects the play: it took the
    // connect (and its hooks the play) first, so the token passed
    let redirected = false;
    client.on('status', (st: StatusEvent) => {
      if (st.level === 'error' && redirectTarget(st.ex)) redirected = true;
    });
    try {
      await client.connect();
      if (kind === 'play') await client.play();
      client.close();
      log.trace(`edge token traverse (${kind}) ok at ${hostPort(origin)}: tcUrl=${tcUrl}`);
      return { ok: true };
    } catch (err) {
      client.close();
      if (redirected) {
        log.trace(`edge token traverse (${kind}) ok at ${hostPort(origin)} (it redirects the play): tcUrl=${tcUrl}`);
        return { ok: true };
      }
      const msg = (err as Error).message;
      if (/^connect refused|^NetStream\.|connection closed by the server|ECONNRESET/.test(msg)) {
        // the origin answered: it refuses this client (SRS stops at the first origin that connects)
        return { ok: false, reason: `origin ${hostPort(origin)} refused the token: ${msg}` };
      }
      reasons.push(`${hostPort(origin)}: ${msg}`);
    }
  }
  return { ok: false, reason: `token traverse: no origin reachable (${reasons.join('; ')})` };
}

/** The edge of the whole server: one ingester per pulled stream, one push per edge publish. */
export class EdgeCluster implements EdgeHooks {
  private readonly ingesters = new Map<string, EdgeIngester>();
  private readonly pushes = new Map<string, EdgePush>();

  constructor(
    private readonly registry: SourceRegistry,
    private readonly log: Logger,
  ) {}

  traverse(req: EdgeRequest, kind: 'play' | 'publish' = 'play'): Promise<TraverseResult> | undefined {
    if (!isEdge(req.vhost) || !req.vhost.cluster.tokenTraverse) return undefined;
    return traverseOnce(req, kind, this.log).catch((err: Error) => ({ ok: false, reason: `token traverse failed: ${err.message}` }));
  }

  played(source: LiveSource, req: EdgeRequest): void {
    if (!isEdge(req.vhost)) return;
    const have = this.ingesters.get(source.key);
    if (have && have.source === source) {
      have.keep();
      return;
    }
    have?.stop('the stream was recreated');
    if (source.isPublishing) return; // published on this edge (or pulled already): served locally
    const ing = new EdgeIngester(source, req, this.log, this.registry, (i) => {
      if (this.ingesters.get(i.source.key) === i) this.ingesters.delete(i.source.key);
    });
    this.ingesters.set(source.key, ing);
    ing.start();
  }

  stopped(source: LiveSource): void {
    const ing = this.ingesters.get(source.key);
    if (ing && ing.source === source && source.consumers.size === 0) ing.stopLater();
  }

  published(source: LiveSource, req: EdgeRequest, close: (reason: string) => void): void {
    if (!isEdge(req.vhost)) return;
    const push = new EdgePush(source, req, this.log, close, (p) => {
      if (this.pushes.get(source.id) === p) this.pushes.delete(source.id);
    });
    this.pushes.set(source.id, push);
    push.start();
  }

  /** The edge side of a stream (by source id) for /api/v1/streams. */
  statusOf(sourceId: string): EdgeStatus | undefined {
    for (const i of this.ingesters.values()) if (i.source.id === sourceId) return { ...i.status };
    const p = this.pushes.get(sourceId);
    return p ? { ...p.status } : undefined;
  }

  /** SIGHUP: a vhost that is no longer an edge stops pulling (its players then wait for a publisher). */
  configure(config: ServerConfig): void {
    for (const i of [...this.ingesters.values()]) {
      const v = config.vhosts.find((x) => x.name === i.source.vhost);
      if (!isEdge(v)) i.stop('the vhost is no longer an edge (reload)');
    }
  }

  stop(): void {
    for (const i of [...this.ingesters.values()]) i.stop('server stopping');
    for (const p of [...this.pushes.values()]) p.stop();
  }
}
