import { UserError } from '../errors.js';
import { parseNetDev, type IfaceCounters } from '../host/proc-net.js';
import type { HostRoot } from '../host/root.js';
import { ok, type Report, type Verdict } from './report.js';

export interface NetSample {
  at: number;
  ifaces: IfaceCounters[];
}

export async function sampleNet(root: HostRoot): Promise<NetSample> {
  return { at: Date.now(), ifaces: parseNetDev(await root.read('/proc/net/dev')) };
}

/** Per-interface throughput over the interval (the guide's `dstat -N lo`). */
export function netReport(a: NetSample, b: NetSample, only?: string): Report {
  const intervalS = Math.max(0.001, (b.at - a.at) / 1000);
  if (only && !b.ifaces.some((i) => i.name === only)) throw new UserError(`no interface ${only}`, { hint: `interfaces: ${b.ifaces.map((i) => i.name).join(', ')}` });
  const rows = b.ifaces
    .filter((i) => !only || i.name === only)
    .map((i) => {
      const p = a.ifaces.find((x) => x.name === i.name) ?? i;
      const mbps = (bytes: number) => Math.round(((bytes * 8) / intervalS / 1e6) * 10) / 10;
      return { iface: i.name, rxMbps: mbps(i.rxBytes - p.rxBytes), txMbps: mbps(i.txBytes - p.txBytes), rxPps: Math.round((i.rxPackets - p.rxPackets) / intervalS), txPps: Math.round((i.txPackets - p.txPackets) / intervalS), rxDrop: i.rxDrop - p.rxDrop, txDrop: i.txDrop - p.txDrop };
    });
  const v: Verdict[] = rows.filter((r) => r.rxDrop > 0 || r.txDrop > 0).map((r) => ({ level: 'warn' as const, reason: `${r.iface} dropped ${r.rxDrop} received and ${r.txDrop} sent packets in ${intervalS.toFixed(1)}s (threshold: any)`, fix: 'srsx tune --profile low-latency   (raises netdev_max_backlog)' }));
  if (v.length === 0) v.push(ok('no interface drops'));
  return { kind: 'net', title: `network interfaces over ${intervalS.toFixed(1)}s (dstat -N)`, intervalS, data: { interfaces: rows }, verdicts: v };
}
