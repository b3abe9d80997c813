import { z } from 'zod';
import type { HostRoot } from './root.js';
import { explainWriteError } from './sysctl.js';

export const InterruptLineSchema = z.object({
  irq: z.string(), // '38' or 'NMI', 'LOC', ...
  perCpu: z.array(z.number().int().nonnegative()),
  chip: z.string(),
  name: z.string(), // device/action names, e.g. 'virtio2-input.0'
});
export type InterruptLine = z.infer<typeof InterruptLineSchema>;

/** Parses /proc/interrupts into one record per line (numbered IRQs and the named counters). */
export function parseInterrupts(text: string): { cpus: number; lines: InterruptLine[] } {
  const rows = text.split('\n').filter((l) => l.trim() !== '');
  const header = rows.shift() ?? '';
  const cpus = header.trim().split(/\s+/).filter((c) => /^CPU\d+$/.test(c)).length;
  const lines: InterruptLine[] = [];
  for (const row of rows) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(row);
    if (!m) continue;
    const fields = m[2]!.trim().split(/\s+/);
    const perCpu: number[] = [];
    while (perCpu.length < cpus && fields.length > 0 && /^\d+$/.test(fields[0]!)) perCpu.push(Number(fields.shift()));
    const rest = fields.join(' ');
    // numbered IRQs: "<chip> <hwirq-edge|level> <names>"; named counters: a description
    let chip = '';
    let name = rest;
    if (/^\d+$/.test(m[1]!)) {
      const cm = /^(\S+(?:\s+\S+)?)\s+(\S*-(?:edge|level|fasteoi)|\S+-edge|edge|level|fasteoi)\s+(.*)$/.exec(rest);
      if (cm) {
        chip = cm[1]!;
        name = cm[3]!.trim();
      } else {
        const parts = rest.split(/\s+/);
        name = parts.at(-1) ?? '';
        chip = parts.slice(0, -1).join(' ');
      }
    }
    lines.push(InterruptLineSchema.parse({ irq: m[1], perCpu, chip, name }));
  }
  return { cpus, lines };
}

export interface NicIrq {
  irq: number;
  nic: string;
  name: string;
  perCpu: number[];
}

/** Network interfaces backed by a device (not lo, bridges, veth, ifb...). */
export async function physicalNics(root: HostRoot): Promise<string[]> {
  const out: string[] = [];
  for (const nic of await root.list('/sys/class/net')) {
    if (await root.exists(`/sys/class/net/${nic}/device`)) out.push(nic);
  }
  return out;
}

/**
 * Queue IRQs of NICs: a PCI NIC's MSI/MSI-X vectors (/sys/class/net/NIC/device/msi_irqs),
 * a virtio NIC's virtioN-input/output vectors, and /proc/interrupts lines naming the NIC.
 * Config/control vectors (no packets) are left out.
 */
export async function nicIrqs(root: HostRoot, only?: string): Promise<NicIrq[]> {
  const { lines } = parseInterrupts((await root.readOptional('/proc/interrupts')) ?? '');
  const numbered = lines.filter((l) => /^\d+$/.test(l.irq));
  const found = new Map<number, NicIrq>();
  for (const nic of await physicalNics(root)) {
    if (only && nic !== only) continue;
    const dev = `/sys/class/net/${nic}/device`;
    const msi = new Set((await root.list(`${dev}/msi_irqs`)).map(Number));
    const link = await root.readLink(dev);
    const virtio = link ? /(virtio\d+)$/.exec(link)?.[1] : undefined;
    if (virtio) for (const n of await root.list(`${dev}/../msi_irqs`)) msi.add(Number(n));
    for (const l of numbered) {
      const irq = Number(l.irq);
      const names = l.name.split(/,\s*/);
      const byName = names.some((n) => n === nic || n.startsWith(`${nic}-`) || (virtio !== undefined && n.startsWith(`${virtio}-`)));
      if (!(msi.has(irq) || byName)) continue;
      if (/-config$|-control$|-event$/.test(l.name)) continue;
      found.set(irq, { irq, nic, name: l.name, perCpu: l.perCpu });
    }
  }
  return [...found.values()].sort((a, b) => a.irq - b.irq);
}

export async function readIrqAffinity(root: HostRoot, irq: number): Promise<string | undefined> {
  return (await root.readOptional(`/proc/irq/${irq}/smp_affinity_list`))?.trim();
}

/**
 * The CPUs the interrupt is actually delivered to (/proc/irq/N/effective_affinity_list, kernel
 * ≥ 4.15): on x86 one CPU even when smp_affinity allows several. undefined when the kernel has no
 * such file.
 */
export async function readIrqEffectiveAffinity(root: HostRoot, irq: number): Promise<string | undefined> {
  const text = (await root.readOptional(`/proc/irq/${irq}/effective_affinity_list`))?.trim();
  return text === '' ? undefined : text;
}

export async function writeIrqAffinity(root: HostRoot, irq: number, cpus: string, inContainer: boolean): Promise<void> {
  const p = `/proc/irq/${irq}/smp_affinity_list`;
  try {
    await root.write(p, cpus + '\n');
  } catch (err) {
    throw explainWriteError(p, err as NodeJS.ErrnoException, inContainer);
  }
}
