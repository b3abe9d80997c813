/**
 * `rtc_server { }` and each vhost's `rtc { }`, read as SRS's getters do (env override
 * `SRS_RTC_SERVER_*` / `SRS_VHOST_RTC_*` first, then the file, then SRS's default), and the directives
 * of those blocks srsx parses but does not implement (one warning each).
 *
 * `candidate $CANDIDATE` reads env CANDIDATE, `*` when unset (SRS); `*` means this host's interface
 * addresses (resolved when the server starts). `recvbuf`/`sendbuf` (bytes) are srsx's: the UDP socket
 * buffers SRS hard-codes to 10 MB (SrsUdpMuxListener::set_socket_buffer).
 */
import { z } from 'zod';
import { child, type Directive } from './directive.js';
import { expandDollar, type Env } from './env.js';
import { badSetting as bad, readSetting as read, type Setting as Src } from './setting.js';

export interface RtcServerConfig {
  enabled: boolean;
  /** UDP port */
  listen: number;
  /** an IP, a host name, or '*' (the interface addresses) */
  candidate: string;
  /** SO_RCVBUF / SO_SNDBUF asked for, bytes (default 10 MB, as SRS) */
  recvbuf: number;
  sendbuf: number;
}

export interface VhostRtcConfig {
  enabled: boolean;
  rtmpToRtc: boolean;
  rtcToRtmp: boolean;
  nack: boolean;
  /** seconds between PLIs the RTC->RTMP bridge asks for (SRS default 6) */
  pliForRtmp: number;
  /** seconds without STUN or media before a session ends (SRS default 30) */
  stunTimeout: number;
}

export const RtcServerConfigSchema = z.object({
  enabled: z.boolean(),
  listen: z.number().int().min(0).max(65535),
  candidate: z.string().min(1),
  recvbuf: z.number().int().positive(),
  sendbuf: z.number().int().positive(),
}) satisfies z.ZodType<RtcServerConfig>;

export const VhostRtcConfigSchema = z.object({
  enabled: z.boolean(),
  rtmpToRtc: z.boolean(),
  rtcToRtmp: z.boolean(),
  nack: z.boolean(),
  pliForRtmp: z.number().positive(),
  stunTimeout: z.number().positive(),
}) satisfies z.ZodType<VhostRtcConfig>;

export const RTC_SERVER_IMPLEMENTED = new Set(['enabled', 'listen', 'candidate', 'recvbuf', 'sendbuf']);
export const VHOST_RTC_IMPLEMENTED = new Set(['enabled', 'rtmp_to_rtc', 'rtc_to_rtmp', 'nack', 'pli_for_rtmp', 'stun_timeout']);

export const DEFAULT_UDP_BUFFER = 10 * 1024 * 1024;

function number(src: Src | undefined, dflt: number, opts: { integer?: boolean; min?: number; max?: number } = {}): number {
  if (!src) return dflt;
  if (!(opts.integer ? /^\d+$/ : /^\d+(\.\d+)?$/).test(src.value)) bad(src, opts.integer ? 'expected a whole number' : 'expected a number');
  const n = Number(src.value);
  if ((opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) bad(src, `expected a value in [${opts.min ?? 0}, ${opts.max ?? 'inf'}]`);
  return n;
}

const on = (s: Src | undefined, dflt: boolean) => (s ? s.value === 'on' : dflt);
const notOff = (s: Src | undefined, dflt: boolean) => (s ? s.value !== 'off' : dflt);

export function buildRtcServer(root: Directive[], env: Env): RtcServerConfig {
  const top: Directive = { name: '', args: [], children: root, block: true, pos: { file: '', line: 1, column: 1 } };
  const r = child(top, 'rtc_server');
  const get = (name: string) => read(env, `srs.rtc_server.${name}`, child(r, name));
  const cand = get('candidate');
  return {
    enabled: on(get('enabled'), false),
    listen: number(get('listen'), 8000, { integer: true, min: 0, max: 65535 }),
    candidate: cand ? expandDollar(cand.value, env, '*') : '*',
    recvbuf: number(get('recvbuf'), DEFAULT_UDP_BUFFER, { integer: true, min: 1024, max: 2 ** 31 - 1 }),
    sendbuf: number(get('sendbuf'), DEFAULT_UDP_BUFFER, { integer: true, min: 1024, max: 2 ** 31 - 1 }),
  };
}

export function buildVhostRtc(vhost: Directive, env: Env): VhostRtcConfig {
  const r = child(vhost, 'rtc');
  const get = (name: string) => read(env, `srs.vhost.rtc.${name}`, child(r, name));
  return {
    enabled: on(get('enabled'), false),
    rtmpToRtc: on(get('rtmp_to_rtc'), false),
    rtcToRtmp: on(get('rtc_to_rtmp'), false),
    nack: notOff(get('nack'), true),
    pliForRtmp: number(get('pli_for_rtmp'), 6, { min: 0.5, max: 30 }),
    stunTimeout: number(get('stun_timeout'), 30, { min: 1 }),
  };
}
