/**
 * The `hls { }` and `dvr { }` blocks of a vhost, read as SRS's getters do (env override
 * `SRS_VHOST_HLS_*` / `SRS_VHOST_DVR_*` first, then the file, then SRS's default), and the
 * directives of those blocks srsx parses but does not implement (one warning each).
 */
import { z } from 'zod';
import { at, child, type Directive } from './directive.js';
import { envValue, type Env } from './env.js';
import { badSetting as bad, readSetting as read, type Setting as Src } from './setting.js';

export interface HlsConfig {
  enabled: boolean;
  /** seconds */
  fragment: number;
  tdRatio: number;
  aofRatio: number;
  /** seconds */
  window: number;
  path: string;
  m3u8File: string;
  tsFile: string;
  tsFloor: boolean;
  entryPrefix: string;
  cleanup: boolean;
  /** seconds; 0 keeps the files after the publisher leaves */
  dispose: number;
  waitKeyframe: boolean;
  dtsDirectly: boolean;
  /** AES-128 segments (hls_keys): a new random key every fragmentsPerKey segments */
  keys: boolean;
  fragmentsPerKey: number;
  /** key file name template ([vhost] [app] [stream] [seq]) under keyFilePath */
  keyFile: string;
  keyFilePath: string;
  /** prefix of the key URI in the playlist; '' names the key relative to the playlist */
  keyUrl: string;
  /** bytes read of each segment by http_hooks.on_hls_notify */
  nbNotify: number;
  /** hls_acodec: 'an' leaves audio out of HLS; aac/mp3 only name SRS's default (the stream's own codec is used) */
  acodec: 'aac' | 'mp3' | 'an';
  /** hls_vcodec: 'vn' leaves video out of HLS (an audio-only playlist); h264/h265 as acodec */
  vcodec: 'h264' | 'h265' | 'vn';
}

export interface DvrConfig {
  enabled: boolean;
  /** 'all' or a list of app/stream */
  apply: string[];
  plan: 'session' | 'segment';
  path: string;
  /** seconds (segment plan) */
  duration: number;
  waitKeyframe: boolean;
  timeJitter: 'full' | 'zero' | 'off';
}

export const HlsConfigSchema = z.object({
  enabled: z.boolean(),
  fragment: z.number().positive(),
  tdRatio: z.number().positive(),
  aofRatio: z.number().positive(),
  window: z.number().positive(),
  path: z.string().min(1),
  m3u8File: z.string().min(1),
  tsFile: z.string().min(1),
  tsFloor: z.boolean(),
  entryPrefix: z.string(),
  cleanup: z.boolean(),
  dispose: z.number().min(0),
  waitKeyframe: z.boolean(),
  dtsDirectly: z.boolean(),
  keys: z.boolean(),
  fragmentsPerKey: z.number().int().positive(),
  keyFile: z.string().min(1),
  keyFilePath: z.string().min(1),
  keyUrl: z.string(),
  nbNotify: z.number().int().min(0),
  acodec: z.enum(['aac', 'mp3', 'an']),
  vcodec: z.enum(['h264', 'h265', 'vn']),
}) satisfies z.ZodType<HlsConfig>;

export const DvrConfigSchema = z.object({
  enabled: z.boolean(),
  apply: z.array(z.string()),
  plan: z.enum(['session', 'segment']),
  path: z.string().min(1),
  duration: z.number().positive(),
  waitKeyframe: z.boolean(),
  timeJitter: z.enum(['full', 'zero', 'off']),
}) satisfies z.ZodType<DvrConfig>;

/** hls/dvr directives srsx implements (the rest SRS knows get one warning each). */
export const HLS_IMPLEMENTED = new Set([
  'enabled', 'hls_fragment', 'hls_td_ratio', 'hls_aof_ratio', 'hls_window', 'hls_path', 'hls_m3u8_file', 'hls_ts_file',
  'hls_ts_floor', 'hls_entry_prefix', 'hls_cleanup', 'hls_dispose', 'hls_wait_keyframe', 'hls_dts_directly',
  'hls_keys', 'hls_fragments_per_key', 'hls_key_file', 'hls_key_file_path', 'hls_key_url', 'hls_nb_notify',
  'hls_acodec', 'hls_vcodec',
]);
export const DVR_IMPLEMENTED = new Set(['enabled', 'dvr_apply', 'dvr_plan', 'dvr_path', 'dvr_duration', 'dvr_wait_keyframe', 'time_jitter']);

function number(src: Src | undefined, dflt: number, opts: { min?: number; positive?: boolean } = {}): number {
  if (!src) return dflt;
  if (!/^\d+(\.\d+)?$/.test(src.value)) bad(src, 'expected a number');
  const n = Number(src.value);
  if (opts.positive && n <= 0) bad(src, 'expected a number above 0');
  return n;
}

function integer(src: Src | undefined, dflt: number, min: number): number {
  if (!src) return dflt;
  if (!/^\d+$/.test(src.value) || Number(src.value) < min) bad(src, `expected a whole number of at least ${min}`);
  return Number(src.value);
}

const on = (s: Src | undefined, dflt: boolean) => (s ? s.value === 'on' : dflt);
const notOff = (s: Src | undefined, dflt: boolean) => (s ? s.value !== 'off' : dflt);

export function buildHls(vhost: Directive, env: Env): HlsConfig {
  const h = child(vhost, 'hls');
  const get = (name: string) => read(env, `srs.vhost.hls.${name}`, child(h, name));
  const hlsPath = get('hls_path')?.value ?? './objs/nginx/html';
  return {
    enabled: on(read(env, 'srs.vhost.hls.enabled', child(h, 'enabled')), false),
    fragment: number(get('hls_fragment'), 10, { positive: true }),
    tdRatio: number(get('hls_td_ratio'), 1.0, { positive: true }),
    aofRatio: number(get('hls_aof_ratio'), 2.1, { positive: true }),
    window: number(get('hls_window'), 60, { positive: true }),
    path: hlsPath,
    m3u8File: get('hls_m3u8_file')?.value ?? '[app]/[stream].m3u8',
    tsFile: get('hls_ts_file')?.value ?? '[app]/[stream]-[seq].ts',
    tsFloor: on(get('hls_ts_floor'), false),
    entryPrefix: get('hls_entry_prefix')?.value ?? '',
    cleanup: notOff(get('hls_cleanup'), true),
    dispose: number(get('hls_dispose'), 120),
    waitKeyframe: notOff(get('hls_wait_keyframe'), true),
    dtsDirectly: notOff(get('hls_dts_directly'), true),
    keys: on(get('hls_keys'), false),
    fragmentsPerKey: integer(get('hls_fragments_per_key'), 5, 1),
    keyFile: get('hls_key_file')?.value ?? '[app]/[stream]-[seq].key',
    keyFilePath: get('hls_key_file_path')?.value ?? hlsPath,
    keyUrl: get('hls_key_url')?.value ?? '',
    nbNotify: integer(get('hls_nb_notify'), 64, 0),
    acodec: oneOf(get('hls_acodec'), ['aac', 'mp3', 'an'] as const, 'aac'),
    vcodec: oneOf(get('hls_vcodec'), ['h264', 'h265', 'vn'] as const, 'h264'),
  };
}

function oneOf<T extends string>(src: Src | undefined, values: readonly T[], dflt: T): T {
  if (!src) return dflt;
  if (!(values as readonly string[]).includes(src.value)) bad(src, `expected ${values.join('|')}`);
  return src.value as T;
}

export function buildDvr(vhost: Directive, env: Env): DvrConfig {
  const d = child(vhost, 'dvr');
  const get = (name: string) => read(env, `srs.vhost.dvr.${name}`, child(d, name));
  const plan = get('dvr_plan');
  if (plan && plan.value !== 'session' && plan.value !== 'segment') bad(plan, 'expected session|segment (append was removed in SRS 3)');
  const jitter = get('time_jitter');
  if (jitter && !['full', 'zero', 'off'].includes(jitter.value)) bad(jitter, 'expected full|zero|off');
  const applyDir = child(d, 'dvr_apply');
  const applyEnv = envValue(env, 'srs.vhost.dvr.dvr_apply');
  const apply = applyEnv ? applyEnv.split(/\s+/).filter(Boolean) : applyDir && applyDir.args.length > 0 ? applyDir.args : ['all'];
  return {
    enabled: on(read(env, 'srs.vhost.dvr.enabled', child(d, 'enabled')), false),
    apply,
    plan: (plan?.value as 'session' | 'segment' | undefined) ?? 'session',
    path: get('dvr_path')?.value ?? './objs/nginx/html/[app]/[stream].[timestamp].flv',
    duration: number(get('dvr_duration'), 30, { positive: true }),
    waitKeyframe: notOff(get('dvr_wait_keyframe'), true),
    timeJitter: (jitter?.value as 'full' | 'zero' | 'off' | undefined) ?? 'full',
  };
}

/** One warning per hls/dvr directive srsx does not implement, as `file:line: ...`. */
export function mediaWarnings(vhost: Directive): string[] {
  const out: string[] = [];
  for (const [block, implemented] of [['hls', HLS_IMPLEMENTED], ['dvr', DVR_IMPLEMENTED]] as const) {
    const b = child(vhost, block);
    if (!b) continue;
    for (const c of b.children) {
      if (!implemented.has(c.name)) out.push(`${at(c.pos)}: vhost.${block}.${c.name} is not implemented by srsx (ignored)`);
    }
  }
  return out;
}
