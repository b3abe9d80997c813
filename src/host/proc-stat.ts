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
