import { z } from 'zod';

export const VerdictSchema = z.object({
  level: z.enum(['ok', 'warn', 'critical']),
  /** what fired, with the threshold, or why all is well */
  reason: z.string(),
  /** the srsx tune command that fixes it */
  fix: z.string().optional(),
});
export type Verdict = z.infer<typeof VerdictSchema>;

const n = z.number();
const nn = z.number().nullable();
/** A socket as udp-drops/udp-queue show it (sock_diag skmem: rcvbuf/sndbuf are null without it). */
const UdpSockSchema = z.object({ local: z.string(), remote: z.string(), inode: nn, rxQueue: n, txQueue: n, rcvbuf: nn, sndbuf: nn, drops: n, pid: nn, program: z.string().nullable() }).passthrough();
const Origin = z.enum(['default', 'ceiling', 'application', 'unknown']).nullable();
/** udp-drops' data.server: the server's own UDP counters (its API's rtc_udp) beside the kernel's drops on its socket. */
export const ServerUdpViewSchema = z.object({
  pid: nn,
  /** the summaries URL read, or null (see note) */
  api: z.string().nullable(),
  note: z.string().optional(),
  port: n.optional(),
  /** its socket as sock_diag shows it (local address), null when not seen */
  socket: z.string().nullable().optional(),
  counters: z.object({ recvDrops: n, sendErrors: n, bad: n, rcvbufAsked: n, rcvbufGranted: n, sndbufAsked: n, sndbufGranted: n }).optional(),
  delta: z.object({ recvDrops: n, sendErrors: n, bad: n, kernelDrops: nn }).optional(),
});
/** The facts each report's --json carries (reports not listed: any record). */
export const ReportDataSchemas: Record<string, z.ZodTypeAny> = {
  'udp-drops': z.object({
    counters: z.array(z.object({ counter: z.string(), total: n, delta: n.optional(), perSecond: n.optional() })),
    dropRatio: n,
    rates: z.object({ intervalS: n, arrivalsPerS: n, datagramBytes: n, datagramBytesMeasured: z.boolean(), bytesPerS: n }).optional(),
    sockets: z.array(UdpSockSchema.extend({ dropsDelta: n, bufferOrigin: Origin, server: z.boolean().optional() })),
    sendQueueFull: z.array(UdpSockSchema.extend({ bufferOrigin: Origin })).optional(),
    server: ServerUdpViewSchema.optional(),
  }).passthrough(),
  'udp-queue': z.object({ sockets: z.array(UdpSockSchema), rmemDefault: n, sockDiag: z.boolean() }).passthrough(),
  cpu: z.object({
    cpus: z.array(z.object({ cpu: n, soft: n, idle: n, netRxPerS: n }).passthrough()),
    rxPacketsPerS: z.object({ nic: n, lo: n }),
    server: z.object({ pid: n, cpusAllowed: z.array(n), runMs: n, waitMs: n, threads: z.array(z.object({ tid: n, comm: z.string(), percent: n, cpu: n })) }).passthrough().nullable(),
    busyProcesses: z.array(z.object({ pid: n, comm: z.string(), percent: n, cpus: z.array(n) })),
  }).passthrough(),
  irq: z.object({ irqs: z.array(z.object({ irq: n, nic: z.string(), name: z.string(), perCpu: z.array(n), delta: z.array(n), affinity: z.string(), effective: z.string().nullable() })) }).passthrough(),
  tcp: z.object({
    pid: nn,
    connections: z.array(z.object({ local: z.string(), peer: z.string(), sendQ: n, sendQBefore: n, notsent: n, ackedBytes: n, retrans: n, segsOut: n, lastSndMs: nn, rwndLimitedMs: nn, stalled: z.boolean() })),
    stalled: n.optional(),
  }).passthrough(),
};

/** Every diagnose report: what was looked at, the data, verdicts. Validated before --json prints it. */
export const ReportSchema = z.object({
  kind: z.enum(['udp-drops', 'udp-queue', 'cpu', 'irq', 'process', 'net', 'tcp']),
  title: z.string(),
  intervalS: z.number().optional(),
  data: z.record(z.string(), z.unknown()),
  verdicts: z.array(VerdictSchema).min(1),
}).superRefine((r, ctx) => {
  const schema = ReportDataSchemas[r.kind];
  const res = schema?.safeParse(r.data);
  if (res && !res.success) for (const issue of res.error.issues) ctx.addIssue({ ...issue, path: ['data', ...issue.path] } as z.IssueData);
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
