import { z } from 'zod';

export const CpuTimesSchema = z.object({
  cpu: z.string(), // 'cpu' (all) or 'cpu0'...
  user: z.number(),
  nice: z.number(),
  system: z.number(),
  idle: z.number(),
  iowait: z.number(),
  irq: z.number(),
  softirq: z.number(),
  steal: z.number(),
});
export type CpuTimes = z.infer<typeof CpuTimesSchema>;

/** The cpu lines of /proc/stat (jiffies). */
export function parseProcStat(text: string): CpuTimes[] {
  return text
    .split('\n')
    .filter((l) => /^cpu\d*\s/.test(l))
    .map((l) => {
      const f = l.trim().split(/\s+/);
      const n = (i: number) => Number(f[i] ?? 0);
      return CpuTimesSchema.parse({ cpu: f[0], user: n(1), nice: n(2), system: n(3), idle: n(4), iowait: n(5), irq: n(6), softirq: n(7), steal: n(8) });
    });
}

/** /proc/softirqs: row name → per-CPU counts. */
export function parseSoftirqs(text: string): { cpus: number; rows: Record<string, number[]> } {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const cpus = (lines[0] ?? '').trim().split(/\s+/).length;
  const rows: Record<string, number[]> = {};
  for (const l of lines.slice(1)) {
    const m = /^\s*([A-Z_]+):\s*(.*)$/.exec(l);
    if (m) rows[m[1]!] = m[2]!.trim().split(/\s+/).map(Number);
  }
  return { cpus, rows };
}

// ---------------------------------------------------------------- threads and the scheduler

export const TaskStatSchema = z.object({
  tid: z.number().int(),
  comm: z.string(),
  state: z.string(),
  /** utime + stime, clock ticks */
  ticks: z.number(),
  /** the CPU it last ran on (field 39) */
  cpu: z.number().int(),
});
export type TaskStat = z.infer<typeof TaskStatSchema>;

/** /proc/PID/task/TID/stat (or /proc/PID/stat): the comm may hold spaces and parentheses. */
export function parseTaskStat(text: string): TaskStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`not a /proc stat line: ${text.slice(0, 40)}`);
  const f = text.slice(close + 2).trim().split(/\s+/); // f[0] is field 3 (state)
  return TaskStatSchema.parse({ tid: Number(text.slice(0, open).trim()), comm: text.slice(open + 1, close), state: f[0], ticks: Number(f[11]) + Number(f[12]), cpu: Number(f[36]) });
}

export const SchedstatSchema = z.object({
  /** time spent on a CPU, ns */
  runNs: z.number(),
  /** time spent runnable, waiting on a run queue for a CPU, ns */
  waitNs: z.number(),
  timeslices: z.number(),
});
export type Schedstat = z.infer<typeof SchedstatSchema>;

/** /proc/PID/task/TID/schedstat: "run-ns wait-ns timeslices". */
export function parseSchedstat(text: string): Schedstat {
  const [run, wait, slices] = text.trim().split(/\s+/).map(Number);
  return SchedstatSchema.parse({ runNs: run, waitNs: wait, timeslices: slices });
}

export interface ThreadSample extends TaskStat, Schedstat {
  pid: number;
}

/** Every thread of every process (or of one pid): stat and schedstat. Threads that exit meanwhile are skipped. */
export async function readThreads(root: { list(p: string): Promise<string[]>; readOptional(p: string): Promise<string | undefined> }, onlyPid?: number): Promise<ThreadSample[]> {
  // a process or thread may exit while it is read (ENOENT, ESRCH): it is skipped
  const gone = <T>(p: Promise<T>) => p.catch(() => undefined);
  const pids = onlyPid !== undefined ? [String(onlyPid)] : (await root.list('/proc')).filter((e) => /^\d+$/.test(e));
  const tasks = (await Promise.all(pids.map(async (pid) => ((await gone(root.list(`/proc/${pid}/task`))) ?? []).map((tid) => [pid, tid] as const)))).flat();
  const read = await Promise.all(tasks.map(async ([pid, tid]): Promise<ThreadSample | undefined> => {
    const [stat, sched] = await Promise.all([gone(root.readOptional(`/proc/${pid}/task/${tid}/stat`)), gone(root.readOptional(`/proc/${pid}/task/${tid}/schedstat`))]);
    if (!stat) return undefined;
    try {
      return { pid: Number(pid), ...parseTaskStat(stat), ...(sched ? parseSchedstat(sched) : { runNs: 0, waitNs: 0, timeslices: 0 }) };
    } catch {
      return undefined; // a thread that exited while being read
    }
  }));
  const out = read.filter((t): t is ThreadSample => t !== undefined);
  return out;
}
