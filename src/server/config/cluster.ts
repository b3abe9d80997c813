/**
 * A vhost's `cluster { }` block (SRS's edge/origin cluster), read as SRS's getters do: env
 * override first (`SRS_VHOST_CLUSTER_MODE`, `SRS_VHOST_CLUSTER_ORIGIN` with the origins separated
 * by spaces, `SRS_VHOST_CLUSTER_TOKEN_TRAVERSE`, `SRS_VHOST_CLUSTER_VHOST`,
 * `SRS_VHOST_CLUSTER_ORIGIN_CLUSTER`, `SRS_VHOST_CLUSTER_COWORKERS` with the coworkers separated by
 * spaces), then the file, then SRS's default (mode local, token_traverse off, vhost [vhost],
 * origin_cluster off, no coworkers).
 *
 * `mode remote` makes the vhost an edge: players pull the stream from an origin (one upstream
 * connection per stream), publishers are pushed to one; see src/server/cluster/edge.ts.
 * `origin_cluster on; coworkers a b;` makes an origin ask the other origins' HTTP APIs where a
 * stream it does not have is, and redirect the player there; see src/server/cluster/coworkers.ts.
 */
import { z } from 'zod';
import { UserError } from '../../errors.js';
import { atCol, child, type Directive } from './directive.js';
import { envName, envValue, type Env } from './env.js';

export interface ClusterOrigin {
  host: string;
  port: number;
}

export interface ClusterConfig {
  /** 'local' (origin, SRS's default) or 'remote' (edge) */
  mode: 'local' | 'remote';
  /** the upstream origins of an edge, in the config's order (round robin, as SRS) */
  origins: ClusterOrigin[];
  /** an edge checks each client's connect against the origin before serving it */
  tokenTraverse: boolean;
  /** the vhost asked of the origin; '[vhost]' (default) is the client's vhost */
  upstreamVhost: string;
  /** origin_cluster: a player of a stream not published here is redirected to the coworker that has it */
  originCluster: boolean;
  /** the other origins' HTTP API addresses (host:port), asked in this order */
  coworkers: string[];
}

/** cluster directives srsx implements (the rest SRS knows — protocol, follow_client, … — get one warning each). */
export const CLUSTER_IMPLEMENTED = new Set(['mode', 'origin', 'token_traverse', 'vhost', 'debug_srs_upnode', 'origin_cluster', 'coworkers']);

/** a coworker: `host[:port]` or `[v6][:port]` (group 2: the port) */
const COWORKER_PATTERN = /^(\[[0-9a-fA-F:.]+\]|[^\s/:?#[\]@]+)(?::(\d{1,5}))?$/;

/** A cluster block with SRS's defaults but for `mode` and `origins` (what --workers gives its origin and workers). */
export function plainCluster(mode: 'local' | 'remote', origins: ClusterOrigin[] = []): ClusterConfig {
  return { mode, origins, tokenTraverse: false, upstreamVhost: '[vhost]', originCluster: false, coworkers: [] };
}

export const ClusterConfigSchema = z.object({
  mode: z.enum(['local', 'remote']),
  origins: z.array(z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65535) })),
  tokenTraverse: z.boolean(),
  upstreamVhost: z.string().min(1),
  originCluster: z.boolean(),
  coworkers: z.array(z.string().regex(COWORKER_PATTERN)),
}) satisfies z.ZodType<ClusterConfig>;

/** `host[:port]` or `[v6]:port` (SRS's srs_parse_hostport; port 1935 when absent). */
export function parseOrigin(text: string, where: string): ClusterOrigin {
  let host = text;
  let portText = '';
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    host = end > 0 ? text.slice(1, end) : '';
    portText = end > 0 && text[end + 1] === ':' ? text.slice(end + 2) : '';
  } else if (text.split(':').length === 2) {
    [host, portText] = text.split(':') as [string, string];
  }
  const port = portText === '' ? 1935 : Number(portText);
  if (host === '' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UserError(`${where}: '${text}' is not an origin (host[:port])`, { hint: 'write e.g. "origin 127.0.0.1:19350 127.0.0.1:19351;"' });
  }
  return { host, port };
}

/**
 * A coworker: the HTTP API address of another origin, `host[:port]` or `[v6]:port`, asked as
 * http://<coworker>/api/v1/clusters (port 80 when absent, as a URL).
 */
export function parseCoworker(text: string, where: string): string {
  const m = COWORKER_PATTERN.exec(text);
  const port = m?.[2] === undefined ? 80 : Number(m[2]);
  if (!m || port < 1 || port > 65535) {
    throw new UserError(`${where}: '${text}' is not a coworker (the HTTP API address of another origin, host:port)`, {
      hint: 'write e.g. "coworkers 127.0.0.1:1985 127.0.0.1:1986;" (each origin\'s http_api listen)',
    });
  }
  return text;
}

export function buildCluster(vhost: Directive, env: Env): ClusterConfig {
  const block = child(vhost, 'cluster');
  const read = (name: string): { value: string; where: string } | undefined => {
    const e = envValue(env, `srs.vhost.cluster.${name}`);
    if (e) return { value: e, where: `env ${envName(`srs.vhost.cluster.${name}`)}` };
    const d = child(block, name);
    if (d && d.args.length > 0) return { value: d.args.join(' '), where: `${atCol(d.pos)}: cluster.${name}` };
    return undefined;
  };
  const modeSrc = read('mode');
  const mode = modeSrc?.value === 'remote' ? 'remote' : 'local';
  const originSrc = read('origin');
  const origins = (originSrc?.value.split(/\s+/).filter(Boolean) ?? []).map((t) => parseOrigin(t, originSrc!.where));
  if (mode === 'remote' && origins.length === 0) {
    throw new UserError(`${modeSrc!.where}: an edge (mode remote) needs an origin`, { hint: 'add e.g. "origin 127.0.0.1:19350;" to the cluster block' });
  }
  const coworkersSrc = read('coworkers');
  return {
    mode,
    origins,
    tokenTraverse: read('token_traverse')?.value === 'on',
    upstreamVhost: read('vhost')?.value ?? '[vhost]',
    // SRS's SRS_CONF_PREFER_FALSE: only "on" is on
    originCluster: read('origin_cluster')?.value === 'on',
    coworkers: coworkersSrc?.value.split(/\s+/).filter(Boolean).map((t) => parseCoworker(t, coworkersSrc.where)) ?? [],
  };
}
