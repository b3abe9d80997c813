/**
 * What SRS 7's `check_normal_config()` + `check_config()` reject, mirrored so `srsx serve -t`
 * gives SRS's verdict: allow-listed root and block children ("illegal directive X"), listen,
 * heartbeat, stats, http/https listen consistency, http_remux count, hls vs http-ts, forward vs
 * kickoff_for_idle, unique ingest ids, asprocess vs daemon, max_connections, `is_full`.
 * Returns the first failure as a located message, or undefined.
 */
import net from 'node:net';
import { arg0, at, atCol, child, children, type Directive } from './directive.js';
import { envValue, type Env } from './env.js';

const set = (s: string) => new Set(s.trim().split(/\s+/));

export const ROOT_ALLOWED = set(`listen pid chunk_size ff_log_dir srs_log_tank srs_log_level srs_log_level_v2 srs_log_file
  max_connections daemon heartbeat tencentcloud_apm http_api stats vhost pithy_print_ms http_server stream_caster rtc_server
  srt_server utc_time work_dir asprocess server_id ff_log_level grace_final_wait force_grace_quit grace_start_wait empty_ip_ok
  disable_daemon_for_docker inotify_auto_reload auto_reload_for_docker tcmalloc_release_rate query_latest_version
  first_wait_for_qlv threads circuit_breaker is_full in_docker tencentcloud_cls exporter`);

/** Root blocks whose (first occurrence's) children SRS allow-lists: name → allowed, and nested lists. */
const ROOT_BLOCKS: Record<string, { allowed: Set<string>; nested?: Record<string, Set<string>>; label?: string }> = {
  http_api: {
    allowed: set('enabled listen crossdomain raw_api auth https'),
    nested: { raw_api: set('enabled allow_reload allow_query allow_update'), auth: set('enabled username password') },
  },
  http_server: { allowed: set('enabled listen dir crossdomain https'), label: 'http_stream' },
  srt_server: {
    allowed: set(`enabled listen maxbw mss latency recvlatency peerlatency connect_timeout peer_idle_timeout sendbuf recvbuf
      payloadsize default_app sei_filter mix_correct tlpktdrop tsbpdmode passphrase pbkeylen`),
  },
  heartbeat: { allowed: set('enabled interval url device_id summaries ports') },
  stats: { allowed: set('enabled network disk') },
  rtc_server: {
    allowed: set(`enabled listen dir candidate ecdsa tcp encrypt reuseport merge_nalus black_hole protocol ip_family
      api_as_candidates resolve_api_domain keep_api_domain use_auto_detect_network_ip
      recvbuf sendbuf`), // recvbuf/sendbuf: srsx's UDP socket buffers (SRS hard-codes 10 MB)
  },
  exporter: { allowed: set('enabled listen label tag') },
};

const STREAM_CASTER = set('enabled caster output listen sip');
const STREAM_CASTER_SIP = set('enabled listen timeout reinvite candidate');

export const VHOST_ALLOWED = set(`enabled chunk_size min_latency tcp_nodelay dvr ingest hls http_hooks refer forward transcode
  bandcheck play publish cluster security http_remux dash http_static hds exec in_ack_size out_ack_size rtc srt`);

export const VHOST_BLOCKS: Record<string, Set<string>> = {
  dvr: set('enabled dvr_apply dvr_path dvr_plan dvr_duration dvr_wait_keyframe time_jitter'),
  refer: set('enabled all publish play'),
  exec: set('enabled publish'),
  play: set(`time_jitter mix_correct atc atc_auto mw_latency gop_cache gop_cache_max_frames queue_length send_min_interval
    reduce_sequence_header mw_msgs`),
  cluster: set('mode origin token_traverse vhost debug_srs_upnode coworkers origin_cluster protocol follow_client'),
  publish: set('mr mr_latency firstpkt_timeout normal_timeout parse_sps try_annexb_first kickoff_for_idle'),
  ingest: set('enabled input ffmpeg engine'),
  http_static: set('enabled mount dir'),
  http_remux: set('enabled mount fast_cache drop_if_not_match has_audio has_video guess_has_av'),
  dash: set('enabled dash_fragment dash_update_period dash_timeshift dash_path dash_mpd_file dash_window_size dash_dispose dash_cleanup'),
  hls: set(`enabled hls_entry_prefix hls_path hls_fragment hls_window hls_on_error hls_storage hls_mount hls_td_ratio
    hls_aof_ratio hls_acodec hls_vcodec hls_m3u8_file hls_ts_file hls_ts_floor hls_cleanup hls_nb_notify hls_wait_keyframe
    hls_dispose hls_keys hls_fragments_per_key hls_key_file hls_key_file_path hls_key_url hls_dts_directly hls_ctx hls_ts_ctx`),
  http_hooks: set('enabled on_connect on_close on_publish on_unpublish on_play on_stop on_dvr on_hls on_hls_notify'),
  forward: set('enabled destination backend'),
  security: set('enabled deny allow'),
  transcode: set('enabled ffmpeg engine'),
  rtc: set(`enabled nack twcc nack_no_copy bframe aac stun_timeout stun_strict_check dtls_role dtls_version drop_for_pt
    rtc_to_rtmp pli_for_rtmp rtmp_to_rtc keep_bframe opus_bitrate aac_bitrate keep_avc_nalu_sei`),
  srt: set('enabled srt_to_rtmp'),
};
const TRANSCODE_ENGINE = set(`enabled vfilter vcodec vbitrate vfps vwidth vheight vthreads vprofile vpreset vparams acodec
  abitrate asample_rate achannels aparams output perfile iformat oformat`);

export interface CheckContext {
  env: Env;
  /** the config file's name, for the full.conf refusal */
  file: string;
  /** refuse `is_full on` as SRS does; srsx accepts full.conf when false */
  refuseFull: boolean;
}

/** SRS's srs_parse_endpoint: `port`, `ip:port` or `[v6]:port`. */
export function parseEndpoint(s: string): { host: string; port: number } {
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    const host = end > 0 ? s.slice(1, end) : '';
    const rest = end > 0 ? s.slice(end + 1) : '';
    return { host, port: atoi(rest.startsWith(':') ? rest.slice(1) : rest) };
  }
  const colon = s.lastIndexOf(':');
  if (colon >= 0) return { host: s.slice(0, colon), port: atoi(s.slice(colon + 1)) };
  return { host: '0.0.0.0', port: atoi(s) };
}

/** C's atoi: leading integer, 0 when none. */
export function atoi(s: string): number {
  const m = /^\s*([+-]?\d+)/.exec(s);
  return m ? Number.parseInt(m[1]!, 10) : 0;
}

/** Edit distance, for "did you mean" on an illegal directive name. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

function suggest(name: string, allowed: Set<string> | undefined): string {
  if (!allowed) return '';
  let best = '';
  let bestD = 3; // only close matches
  for (const a of allowed) {
    const d = distance(name, a);
    if (d < bestD) {
      bestD = d;
      best = a;
    }
  }
  return best ? ` (did you mean ${best}?)` : '';
}

function illegal(d: Directive, what: string, allowed?: Set<string>): string {
  return `${atCol(d.pos)}: illegal ${what}${suggest(d.name, allowed)}`;
}

/** SRS prefer-false boolean: on only when the value is "on". */
const preferFalse = (v: string) => v === 'on';
const preferTrue = (v: string) => v !== 'off';

export function checkSrsRules(root: Directive[], ctx: CheckContext): string | undefined {
  const env = ctx.env;
  const top: Directive = { name: '', args: [], children: root, block: true, pos: { file: ctx.file, line: 1, column: 1 } };
  if (root.length === 0) return `${ctx.file}: conf is empty`;

  for (const d of root) if (!ROOT_ALLOWED.has(d.name)) return illegal(d, `directive ${d.name}`, ROOT_ALLOWED);

  for (const [name, rule] of Object.entries(ROOT_BLOCKS)) {
    const conf = child(top, name);
    for (const c of conf?.children ?? []) {
      if (!rule.allowed.has(c.name)) return illegal(c, `${rule.label ?? name}.${c.name}`, rule.allowed);
      const nested = rule.nested?.[c.name];
      for (const m of nested ? c.children : []) {
        if (!nested!.has(m.name)) return illegal(m, `${name}.${c.name}.${m.name}`, nested);
      }
    }
  }

  // listen (RTMP)
  const envListen = envValue(env, 'srs.listen');
  const listenDir = child(top, 'listen');
  const listens = envListen ? envListen.split(' ').filter((x) => x !== '') : (listenDir?.args ?? []);
  const listenAt = listenDir ? `${at(listenDir.pos)}: ` : `${ctx.file}: `;
  if (listens.length === 0) return `${listenAt}listen requires params`;
  for (const l of listens) {
    const { host, port } = parseEndpoint(l);
    if (net.isIP(host) === 0) return `${listenAt}listen.ip=${host} is invalid`;
    if (port <= 0) return `${listenAt}listen.port=${port} is invalid`;
  }

  // heartbeat, stats
  const hb = child(top, 'heartbeat');
  const hbEnv = envValue(env, 'srs.heartbeat.interval');
  const hbInterval = hbEnv ? atoi(hbEnv) : arg0(child(hb, 'interval')) ? atoi(arg0(child(hb, 'interval'))) : 10;
  if (hbInterval <= 0) return `${at((child(hb, 'interval') ?? hb ?? top).pos)}: invalid heartbeat.interval=${hbInterval}`;
  const netIdx = child(child(top, 'stats'), 'network');
  if (netIdx && arg0(netIdx) && atoi(arg0(netIdx)) < 0) return `${at(netIdx.pos)}: invalid stats.network=${atoi(arg0(netIdx))}`;

  // stream_caster
  for (const sc of children(top, 'stream_caster')) {
    for (const c of sc.children) {
      if (!STREAM_CASTER.has(c.name)) return illegal(c, `stream_caster.${c.name}`, STREAM_CASTER);
      if (c.name === 'sip') for (const m of c.children) if (!STREAM_CASTER_SIP.has(m.name)) return illegal(m, `stream_caster.sip.${m.name}`, STREAM_CASTER_SIP);
    }
  }

  // http / https consistency
  const httpApi = child(top, 'http_api');
  const httpServer = child(top, 'http_server');
  const str = (key: string, d: Directive | undefined, dflt: string, emptyIsDefault = true) => {
    const e = envValue(env, key);
    if (e) return e;
    if (!d) return dflt;
    const v = arg0(d);
    return v === '' && emptyIsDefault ? dflt : v;
  };
  const api = str('srs.http_api.listen', child(httpApi, 'listen'), '1985');
  const server = str('srs.http_server.listen', child(httpServer, 'listen'), '8080');
  const httpsStream = child(httpServer, 'https');
  const servers = str('srs.http_server.https.listen', child(httpsStream, 'listen'), '8088', false);
  const httpsApi = child(httpApi, 'https');
  const apis = str('srs.http_api.https.listen', child(httpsApi, 'listen'), api === server ? servers : '1990', false);
  if (api === server && apis !== servers) return `${at((httpApi ?? top).pos)}: for same http, https api(${apis}) != server(${servers})`;
  if (apis === servers && api !== server) return `${at((httpApi ?? top).pos)}: for same https, http api(${api}) != server(${server})`;
  const flag = (key: string, d: Directive | undefined, prefer: (v: string) => boolean, dflt: boolean) => {
    const e = envValue(env, key);
    if (e) return prefer(e);
    return d ? prefer(arg0(d)) : dflt;
  };
  if (flag('srs.http_api.https.enabled', child(httpsApi, 'enabled'), preferFalse, false) &&
      !flag('srs.http_api.enabled', child(httpApi, 'enabled'), preferFalse, false)) {
    return `${at((httpsApi ?? top).pos)}: https api depends on http`;
  }
  if (flag('srs.http_server.https.enabled', child(httpsStream, 'enabled'), preferFalse, false) &&
      !flag('srs.http_server.enabled', child(httpServer, 'enabled'), preferFalse, false)) {
    return `${at((httpsStream ?? top).pos)}: https stream depends on http`;
  }

  // vhosts
  const vhosts = children(top, 'vhost');
  for (const vhost of vhosts) {
    const of = ` of ${arg0(vhost)}`;
    for (const c of vhost.children) {
      if (!VHOST_ALLOWED.has(c.name)) return illegal(c, `vhost.${c.name}`, VHOST_ALLOWED);
      const allowed = VHOST_BLOCKS[c.name];
      if (!allowed) continue;
      for (const m of c.children) {
        if (!allowed.has(m.name)) return illegal(m, `vhost.${c.name}.${m.name}${of}`, allowed);
        if (c.name === 'transcode' && m.name === 'engine') {
          for (const e of m.children) if (!TRANSCODE_ENGINE.has(e.name)) return illegal(e, `vhost.transcode.engine.${e.name}${of}`, TRANSCODE_ENGINE);
        }
      }
    }
  }
  for (const vhost of vhosts) {
    let hls = false;
    let remuxTs = false;
    const remuxes = children(vhost, 'http_remux');
    for (const r of remuxes) {
      let enabled = false;
      for (const m of r.children) {
        if (m.name === 'enabled' && arg0(m) === 'on') enabled = true;
        if (enabled && m.name === 'mount' && arg0(m).endsWith('.ts')) remuxTs = true;
      }
    }
    for (const h of children(vhost, 'hls')) for (const m of h.children) if (m.name === 'enabled' && arg0(m) === 'on') hls = true;
    if (remuxes.length > 1) return `${at(remuxes[1]!.pos)}: vhost.http_remux only one but count=${remuxes.length} of ${arg0(vhost)}`;
    if (hls && remuxTs) return `${at(vhost.pos)}: vhost.hls conflict with vhost.http-ts of ${arg0(vhost)}`;
  }
  for (const vhost of vhosts) {
    const fwdEnabled = preferFalse(arg0(child(child(vhost, 'forward'), 'enabled')));
    const kickEnv = envValue(env, 'srs.vhost.publish.kickoff_for_idle');
    const kick = kickEnv ? Number.parseFloat(kickEnv) : Number.parseFloat(arg0(child(child(vhost, 'publish'), 'kickoff_for_idle')) || '0');
    if (fwdEnabled && kick > 0) return `${at(vhost.pos)}: vhost.forward conflicts with vhost.publish.kickoff_for_idle`;
  }
  for (const vhost of vhosts) {
    const ids = new Set<string>();
    for (const ing of children(vhost, 'ingest')) {
      if (ids.has(arg0(ing))) return `${at(ing.pos)}: ingest id=${arg0(ing)} exists for ${arg0(vhost)}`;
      ids.add(arg0(ing));
    }
  }

  const asprocess = flag('srs.asprocess', child(top, 'asprocess'), preferFalse, false);
  const daemon = flag('srs.daemon', child(top, 'daemon'), preferTrue, true);
  if (asprocess && daemon) return `${at((child(top, 'asprocess') ?? top).pos)}: daemon conflicts with asprocess`;

  // check_number_connections (the fd-limit part is a runtime matter; see loadConfig)
  const maxEnv = envValue(env, 'srs.max_connections');
  const maxDir = child(top, 'max_connections');
  const maxText = maxEnv || arg0(maxDir) || '1000';
  const max = atoi(maxText);
  // a non-numeric value is reported by the builder, with what was expected
  if (max <= 0 && /^\s*[+-]?\d/.test(maxText)) return `${maxDir ? at(maxDir.pos) : ctx.file}: max_connections=${max} is invalid`;

  const full = child(top, 'is_full');
  if (ctx.refuseFull && full && preferFalse(arg0(full))) return `${at(full.pos)}: never use full.conf(${ctx.file})`;
  return undefined;
}
