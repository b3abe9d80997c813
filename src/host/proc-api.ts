/**
 * What SRS's HTTP API reads from /proc (srs_app_utility.cpp): /proc/self/stat (self_proc_stats),
 * the `cpu` line of /proc/stat (system_proc_stats) and /proc/meminfo (meminfos). Pure parsers,
 * and one synchronous reader (the API answers from the request handler; these files are small
 * and served from memory by the kernel).
 */
import { readFileSync } from 'node:fs';
import type { HostRoot } from './root.js';

/** /proc/PID/stat, fields in proc(5) order, named as SRS's SrsProcSelfStat. */
export const SELF_STAT_FIELDS = [
  'pid', 'comm', 'state', 'ppid', 'pgrp', 'session', 'tty_nr', 'tpgid', 'flags', 'minflt', 'cminflt', 'majflt', 'cmajflt',
  'utime', 'stime', 'cutime', 'cstime', 'priority', 'nice', 'num_threads', 'itrealvalue', 'starttime', 'vsize', 'rss',
  'rsslim', 'startcode', 'endcode', 'startstack', 'kstkesp', 'kstkeip', 'signal', 'blocked', 'sigignore', 'sigcatch',
  'wchan', 'nswap', 'cnswap', 'exit_signal', 'processor', 'rt_priority', 'policy', 'delayacct_blkio_ticks', 'guest_time',
  'cguest_time',
] as const;
export type SelfStat = Record<(typeof SELF_STAT_FIELDS)[number], number | string>;

/** Parses /proc/PID/stat (the comm may hold spaces and parentheses: it ends at the last ')'). */
export function parseSelfStat(text: string): SelfStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error('not a /proc/PID/stat line');
  const rest = text.slice(close + 1).trim().split(/\s+/);
  const out: Record<string, number | string> = { pid: Number(text.slice(0, open).trim()), comm: text.slice(open + 1, close), state: rest[0] ?? '' };
  SELF_STAT_FIELDS.slice(3).forEach((name, i) => {
    out[name] = Number(rest[i + 1] ?? 0) || 0;
  });
  return out as SelfStat;
}

export interface SystemCpu {
  user: number;
  nice: number;
  sys: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
  guest: number;
}

/** The aggregate `cpu` line of /proc/stat (jiffies). */
export function parseSystemCpu(text: string): SystemCpu {
  const line = text.split('\n').find((l) => /^cpu\s/.test(l));
  if (!line) throw new Error('no cpu line in /proc/stat');
  const f = line.trim().split(/\s+/).map(Number);
  const n = (i: number) => (Number.isFinite(f[i]) ? f[i]! : 0);
  return { user: n(1), nice: n(2), sys: n(3), idle: n(4), iowait: n(5), irq: n(6), softirq: n(7), steal: n(8), guest: n(9) };
}

export interface MemInfo {
  MemActive: number;
  RealInUse: number;
  NotInUse: number;
  MemTotal: number;
  MemFree: number;
  Buffers: number;
  Cached: number;
  SwapTotal: number;
  SwapFree: number;
  percent_ram: number;
  percent_swap: number;
}

/** /proc/meminfo (kB) with SRS's derived values: active = total - free, in use = active - buffers - cached. */
export function parseMeminfo(text: string): MemInfo {
  const kv = new Map<string, number>();
  for (const l of text.split('\n')) {
    const m = /^(\w+):\s+(\d+)/.exec(l);
    if (m) kv.set(m[1]!, Number(m[2]));
  }
  const g = (k: string) => kv.get(k) ?? 0;
  const total = g('MemTotal');
  const active = total - g('MemFree');
  const inUse = active - g('Buffers') - g('Cached');
  const swapTotal = g('SwapTotal');
  return {
    MemActive: active,
    RealInUse: inUse,
    NotInUse: total - inUse,
    MemTotal: total,
    MemFree: g('MemFree'),
    Buffers: g('Buffers'),
    Cached: g('Cached'),
    SwapTotal: swapTotal,
    SwapFree: g('SwapFree'),
    percent_ram: total > 0 ? inUse / total : 0,
    percent_swap: swapTotal > 0 ? (swapTotal - g('SwapFree')) / swapTotal : 0,
  };
}

/** Reads a /proc file under the host root, synchronously; undefined when it cannot be read. */
export function readProcSync(root: HostRoot, hostPath: string): string | undefined {
  try {
    return readFileSync(root.resolve(hostPath), 'utf8');
  } catch {
    return undefined;
  }
}
