import { UserError } from '../errors.js';

/** Parses a CPU list like '0-3,6' (as taskset -c and smp_affinity_list use) into sorted CPUs. */
export function parseCpuList(text: string, what = 'CPU list'): number[] {
  const set = new Set<number>();
  const t = text.trim();
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(t)) throw new UserError(`${what} '${text}' is not a CPU list`, { hint: 'use e.g. 0, 1-3 or 0,2-3' });
  for (const part of t.split(',')) {
    const [a, b] = part.split('-').map(Number) as [number, number | undefined];
    const end = b ?? a;
    if (end < a) throw new UserError(`${what} '${text}': range ${part} goes backwards`, { hint: 'write ranges low-high, e.g. 1-3' });
    for (let i = a; i <= end; i++) set.add(i);
  }
  return [...set].sort((x, y) => x - y);
}

/** Formats CPUs back as a compact list: [0,1,2,5] → '0-2,5'. */
export function formatCpuList(cpus: readonly number[]): string {
  const s = [...new Set(cpus)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j]! + 1) j++;
    out.push(i === j ? `${s[i]}` : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return out.join(',');
}

/** Same CPUs, whatever the notation. */
export function sameCpus(a: string, b: string): boolean {
  try {
    return formatCpuList(parseCpuList(a)) === formatCpuList(parseCpuList(b));
  } catch {
    return a.trim() === b.trim();
  }
}
