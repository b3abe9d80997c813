import { z } from 'zod';

export const VerdictSchema = z.object({
  level: z.enum(['ok', 'warn', 'critical']),
  /** what fired, with the threshold, or why all is well */
  reason: z.string(),
  /** the srsx tune command that fixes it */
  fix: z.string().optional(),
});
export type Verdict = z.infer<typeof VerdictSchema>;

/** Every diagnose report: what was looked at, the data, verdicts. Validated before --json prints it. */
export const ReportSchema = z.object({
  kind: z.enum(['udp-drops', 'udp-queue', 'cpu', 'irq', 'process', 'net', 'tcp']),
  title: z.string(),
  intervalS: z.number().optional(),
  data: z.record(z.string(), z.unknown()),
  verdicts: z.array(VerdictSchema).min(1),
});
export type Report = z.infer<typeof ReportSchema>;

export const HostFactsSchema = z.object({
  cpu: z.string(),
  cores: z.number(),
  memoryGiB: z.number(),
  kernel: z.string(),
  os: z.string(),
  /** the hypervisor ('kvm', 'none (bare metal)', …): systemd-detect-virt --vm, else /proc/cpuinfo's hypervisor flag */
  virtualisation: z.string(),
  /** 'docker', 'podman', 'kubernetes', … or 'none': systemd-detect-virt --container, else /.dockerenv, /run/.containerenv, pid 1's cgroup */
  container: z.string(),
  virtualisationSource: z.string(),
});

export const FullReportSchema = z.object({
  host: HostFactsSchema,
  reports: z.array(ReportSchema),
  summary: z.object({ ok: z.number(), warn: z.number(), critical: z.number() }),
});

export const ok = (reason: string): Verdict => ({ level: 'ok', reason });

/** The worst level among verdicts. */
export function worst(verdicts: readonly Verdict[]): Verdict['level'] {
  return verdicts.some((v) => v.level === 'critical') ? 'critical' : verdicts.some((v) => v.level === 'warn') ? 'warn' : 'ok';
}
