import { hostRoot, type HostRoot } from './root.js';
import { runCommand } from './exec.js';

/** CPU time and memory of one process, from /proc/PID/stat and /proc/PID/status. */
export interface ProcSample {
  at: number; // ms since epoch
  cpuTicks: number; // utime + stime, all threads
  rssBytes: number;
}

let clockTicks: number | undefined;
/** USER_HZ (getconf CLK_TCK), 100 on every mainstream Linux. */
export async function ticksPerSecond(): Promise<number> {
  if (clockTicks === undefined) {
    try {
      const r = await runCommand('getconf', ['CLK_TCK']);
      clockTicks = Number(r.stdout.trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Parses /proc/PID/stat: utime+stime (fields 14 and 15, counted after the parenthesised comm). */
export function parseStatTicks(stat: string): number {
  const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // after[0] is field 3 (state); utime is field 14 → index 11, stime → 12
  return Number(after[11]) + Number(after[12]);
}

export function parseRssBytes(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

export async function sampleProcess(pid: number, root: HostRoot = hostRoot()): Promise<ProcSample | undefined> {
  const [stat, status] = await Promise.all([root.readOptional(`/proc/${pid}/stat`), root.readOptional(`/proc/${pid}/status`)]);
  if (stat === undefined || status === undefined) return undefined;
  return { at: Date.now(), cpuTicks: parseStatTicks(stat), rssBytes: parseRssBytes(status) };
}

/** CPU % of one core between two samples. */
export function cpuPercent(a: ProcSample, b: ProcSample, hz: number): number {
  const wall = (b.at - a.at) / 1000;
  return wall > 0 ? ((b.cpuTicks - a.cpuTicks) / hz / wall) * 100 : 0;
}
