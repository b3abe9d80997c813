/** zod schema of ServerConfig (types.ts): the last gate before the server sees a config. */
import { z } from 'zod';
import type { ServerConfig } from './types.js';
import { DvrConfigSchema, HlsConfigSchema } from './media.js';
import { RtcServerConfigSchema, VhostRtcConfigSchema } from './rtc.js';
import { HttpHooksConfigSchema } from './hooks.js';
import { ClusterConfigSchema } from './cluster.js';

const port = z.number().int().min(1).max(65535);
export const ListenAddressSchema = z.object({ host: z.string().min(1), port });

export const VhostConfigSchema = z.object({
  name: z.string().min(1),
  enabled: z.boolean(),
  minLatency: z.boolean(),
  tcpNodelay: z.boolean(),
  play: z.object({
    gopCache: z.boolean(),
    queueLength: z.number().min(0),
    mwLatencyMs: z.number().int().min(0),
    mwMsgs: z.number().int().min(0).max(128),
    timeJitter: z.enum(['full', 'zero', 'off']),
  }),
  publish: z.object({ firstPktTimeoutMs: z.number().int().min(0), normalTimeoutMs: z.number().int().min(0) }),
  forward: z.object({ enabled: z.boolean(), destinations: z.array(z.string().min(1)) }),
  httpRemux: z.object({ enabled: z.boolean(), mount: z.string().min(1) }),
  chunkSize: z.number().int().positive().optional(),
  hls: HlsConfigSchema,
  dvr: DvrConfigSchema,
  rtc: VhostRtcConfigSchema,
  httpHooks: HttpHooksConfigSchema,
  cluster: ClusterConfigSchema,
});

export const ServerConfigSchema = z.object({
  source: z.string(),
  listen: z.array(ListenAddressSchema).min(1),
  maxConnections: z.number().int().positive(),
  chunkSize: z.number().int().positive(),
  pidFile: z.string(),
  log: z.object({
    tank: z.enum(['console', 'file']),
    level: z.enum(['verbose', 'info', 'trace', 'warn', 'error']),
    file: z.string(),
  }),
  daemon: z.boolean(),
  daemonSet: z.boolean(),
  httpApi: z.object({
    enabled: z.boolean(),
    listen: ListenAddressSchema,
    crossdomain: z.boolean(),
    auth: z.object({ enabled: z.boolean(), username: z.string(), password: z.string() }),
  }),
  httpServer: z.object({ enabled: z.boolean(), listen: ListenAddressSchema, dir: z.string(), crossdomain: z.boolean() }),
  exporter: z.object({ enabled: z.boolean(), listen: ListenAddressSchema, label: z.string(), tag: z.string() }),
  rtcServer: RtcServerConfigSchema,
  vhosts: z.array(VhostConfigSchema),
  serverId: z.string().min(1).optional(),
  workDir: z.string().min(1).optional(),
  warnings: z.array(z.string()),
}) satisfies z.ZodType<ServerConfig>;
