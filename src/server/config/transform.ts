/**
 * Old flat forms rewritten to today's blocks, as SRS's `srs_config_transform_vhost` does before
 * checking (also under -t). Each rewrite yields a `transform:` note naming file:line.
 */
import { at, child, getOrCreate, makeDirective, type Directive } from './directive.js';

const PLAY_SHADOWS = new Set([
  'time_jitter', 'mix_correct', 'atc', 'atc_auto', 'mw_latency', 'gop_cache', 'gop_cache_max_frames',
  'queue_length', 'send_min_interval', 'reduce_sequence_header',
]);
const CLUSTER_SHADOWS = new Set(['mode', 'origin', 'token_traverse', 'vhost', 'debug_srs_upnode']);
const GB_UNUSED = new Set(['tcp_enable', 'rtp_port_min', 'rtp_port_max', 'wait_keyframe', 'rtp_idle_timeout', 'audio_enable', 'auto_create_channel']);
const GB_SIP_UNUSED = new Set(['serial', 'realm', 'ack_timeout', 'keepalive_timeout', 'invite_port_fixed', 'query_catalog_interval', 'auto_play']);

/** Rewrites `root` in place; returns the notes. */
export function transformOldForms(root: Directive[]): string[] {
  const notes: string[] = [];
  for (const dir of root) {
    if (dir.name === 'http_stream') {
      notes.push(`${at(dir.pos)}: transform: http_stream => http_server`);
      dir.name = 'http_server';
      continue;
    }
    if (dir.name === 'rtc_server') {
      dir.children = dir.children.filter((c) => c.name !== 'perf_stat' && c.name !== 'queue_length');
    }
    if (dir.name === 'srt_server') {
      for (const c of dir.children) if (c.name === 'tlpkdrop') c.name = 'tlpktdrop';
    }
    if (dir.name === 'stream_caster') {
      dir.children = dir.children.filter((c) => !GB_UNUSED.has(c.name));
      const sip = child(dir, 'sip');
      if (sip) sip.children = sip.children.filter((c) => !GB_SIP_UNUSED.has(c.name));
      const hosts = dir.children.filter((c) => c.name === 'host');
      dir.children = dir.children.filter((c) => c.name !== 'host');
      for (const h of hosts) {
        notes.push(`${at(h.pos)}: transform: stream_caster.host => stream_caster.sip.candidate`);
        getOrCreate(dir, 'sip', h.pos).children.push(makeDirective('candidate', h.args, h.pos));
      }
    }
    if (dir.name === 'vhost') transformVhost(dir, notes);
  }
  return notes;
}

function transformVhost(vhost: Directive, notes: string[]): void {
  const of = vhost.args[0] ?? '';
  const list = vhost.children;
  for (let i = 0; i < list.length; ) {
    const conf = list[i]!;
    const n = conf.name;
    const note = (what: string) => notes.push(`${at(conf.pos)}: transform: ${what} of ${of}`);

    if (n === 'http') {
      conf.name = 'http_static';
      note('vhost.http => vhost.http_static');
      i++;
      continue;
    }
    if (n === 'http_remux') {
      conf.children = conf.children.filter((c) => c.name !== 'hstrs');
    }
    if ((n === 'refer' && conf.children.length === 0 && !conf.block) || n === 'refer_play' || n === 'refer_publish') {
      list.splice(i, 1);
      const refer = getOrCreate(vhost, 'refer', conf.pos);
      if (!child(refer, 'enabled')) refer.children.push(makeDirective('enabled', ['on'], conf.pos));
      const sub = n === 'refer' ? 'all' : n === 'refer_play' ? 'play' : 'publish';
      getOrCreate(refer, sub, conf.pos).args = conf.args;
      note(`vhost.${n} => vhost.refer.${sub}`);
      continue;
    }
    if (n === 'mr') {
      list.splice(i, 1);
      const publish = getOrCreate(vhost, 'publish', conf.pos);
      const enabled = child(conf, 'enabled');
      if (enabled) getOrCreate(publish, 'mr', enabled.pos).args = enabled.args;
      const latency = child(conf, 'latency');
      if (latency) getOrCreate(publish, 'mr_latency', latency.pos).args = latency.args;
      note('vhost.mr => vhost.publish.mr, mr_latency');
      continue;
    }
    if (n === 'publish_1stpkt_timeout' || n === 'publish_normal_timeout') {
      list.splice(i, 1);
      const sub = n === 'publish_1stpkt_timeout' ? 'firstpkt_timeout' : 'normal_timeout';
      getOrCreate(getOrCreate(vhost, 'publish', conf.pos), sub, conf.pos).args = conf.args;
      note(`vhost.${n} => vhost.publish.${sub}`);
      continue;
    }
    if (PLAY_SHADOWS.has(n)) {
      list.splice(i, 1);
      getOrCreate(getOrCreate(vhost, 'play', conf.pos), n, conf.pos).args = conf.args;
      note(`vhost.${n} => vhost.play.${n}`);
      continue;
    }
    if (n === 'forward' && conf.children.length === 0 && conf.args.length > 0) {
      const enabled = getOrCreate(conf, 'enabled', conf.pos);
      enabled.args = ['on'];
      getOrCreate(conf, 'destination', conf.pos).args = conf.args;
      conf.args = [];
      note('vhost.forward => vhost.forward { enabled on; destination ...; }');
      i++;
      continue;
    }
    if (CLUSTER_SHADOWS.has(n)) {
      list.splice(i, 1);
      getOrCreate(getOrCreate(vhost, 'cluster', conf.pos), n, conf.pos).args = conf.args;
      note(`vhost.${n} => vhost.cluster.${n}`);
      continue;
    }
    if (n === 'nack' || n === 'twcc') {
      list.splice(i, 1);
      const rtc = getOrCreate(vhost, 'rtc', conf.pos);
      const enabled = child(conf, 'enabled');
      if (enabled) getOrCreate(rtc, n, enabled.pos).args = enabled.args;
      const noCopy = n === 'nack' ? child(conf, 'no_copy') : undefined;
      if (noCopy) getOrCreate(rtc, 'nack_no_copy', noCopy.pos).args = noCopy.args;
      note(`vhost.${n} => vhost.rtc.${n}`);
      continue;
    }
    if (n === 'rtc') {
      const aac = child(conf, 'aac');
      if (aac) {
        const v = aac.args[0] === 'transcode' ? 'on' : 'off';
        conf.children = conf.children.filter((c) => c !== aac);
        getOrCreate(conf, 'rtmp_to_rtc', aac.pos).args = [v];
        notes.push(`${at(aac.pos)}: transform: vhost.rtc.aac => vhost.rtc.rtmp_to_rtc ${v} of ${of}`);
      }
      const bframe = child(conf, 'bframe');
      if (bframe) {
        const v = bframe.args[0] === 'keep' ? 'on' : 'off';
        conf.children = conf.children.filter((c) => c !== bframe);
        getOrCreate(conf, 'keep_bframe', bframe.pos).args = [v];
        notes.push(`${at(bframe.pos)}: transform: vhost.rtc.bframe => vhost.rtc.keep_bframe ${v} of ${of}`);
      }
    }
    i++;
  }
}
