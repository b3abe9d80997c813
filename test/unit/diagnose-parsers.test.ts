import { readFileSync } from 'node:fs';
import path from 'node:path';
import { establishedInodes, listeningInodes, parseNetDev, parseNetstatSu, parseProcNetUdp, parseSnmp6Udp, parseSnmpUdp } from '../../src/host/proc-net.js';
import { parseProcStat, parseSoftirqs } from '../../src/host/proc-stat.js';
import { netstatTextReport, udpVerdicts } from '../../src/diagnose/udp.js';
import { ReportSchema } from '../../src/diagnose/report.js';
import { REPO } from '../helpers/env.js';

const fx = (f: string) => readFileSync(path.join(REPO, 'test/fixtures/diagnose', f), 'utf8');

describe('UDP counters', () => {
  it('/proc/net/snmp and netstat -suna from the same moment agree', () => {
    const snmp = parseSnmpUdp(fx('proc-net-snmp.txt'));
    const { counters } = parseNetstatSu(fx('netstat-suna-debian12.txt'));
    expect(snmp.RcvbufErrors).toBe(2999);
    for (const k of ['InDatagrams', 'NoPorts', 'InErrors', 'OutDatagrams', 'RcvbufErrors', 'SndbufErrors'] as const) expect(counters[k]).toBe(snmp[k]);
  });
  it('reads /proc/net/snmp6 Udp6 counters', () => {
    const c = parseSnmp6Udp(fx('proc-net-snmp6.txt'));
    expect(c.InDatagrams).toBeGreaterThanOrEqual(0);
    expect(Object.keys(c)).toContain('RcvbufErrors');
  });
  it('parses the guide\'s example and the older net-tools layout', () => {
    const guide = parseNetstatSu(fx('netstat-su-guide.txt'));
    expect(guide.counters).toMatchObject({ InDatagrams: 224911319, RcvbufErrors: 65731106, OutDatagrams: 123534411, SndbufErrors: 0 });
    const old = parseNetstatSu(fx('netstat-su-nettools-1.60-format.txt'));
    expect(old.counters).toMatchObject({ InDatagrams: 4410032, NoPorts: 12, InErrors: 2210, OutDatagrams: 881201 });
    expect(old.seen).not.toContain('RcvbufErrors');
  });
  it('refuses text that is not netstat output', () => {
    expect(() => parseNetstatSu('hello world\n')).toThrow(/not `netstat -su` output/);
    expect(() => parseNetstatSu(fx('proc-net-snmp.txt'))).toThrow(/not `netstat -su` output/);
  });
  it('judges the guide\'s numbers critical and suggests the 16M buffers', () => {
    const r = ReportSchema.parse(netstatTextReport(parseNetstatSu(fx('netstat-su-guide.txt')).counters, ['InDatagrams']));
    expect(r.verdicts[0]).toMatchObject({ level: 'critical', fix: 'srsx tune --udp 16M' });
    expect(r.verdicts[0]!.reason).toMatch(/22\.6\d% of received/);
  });
  it('names the threshold for small drop rates', () => {
    const base = { InDatagrams: 100000, NoPorts: 0, InErrors: 5, OutDatagrams: 0, RcvbufErrors: 5, SndbufErrors: 0, InCsumErrors: 0, IgnoredMulti: 0 };
    expect(udpVerdicts(base, 212992, 30)[0]).toMatchObject({ level: 'warn', fix: 'srsx tune --udp 16M' });
    expect(udpVerdicts({ ...base, RcvbufErrors: 0, InErrors: 0 }, 212992, 30)[0]!.level).toBe('ok');
  });
});

describe('sockets, CPUs, interfaces', () => {
  it('/proc/net/udp: addresses, queues and the drops column', () => {
    const socks = parseProcNetUdp(fx('proc-net-udp.txt'), 'udp');
    const flooded = socks.find((s) => s.drops === 2999)!;
    expect(flooded.local).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(flooded.rxQueue).toBe(0x900);
    expect(flooded.inode).toBeGreaterThan(0);
  });
  it('formats IPv6 socket addresses', () => {
    const line = '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n' +
      ' 1: 00000000000000000000000001000000:0035 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 7\n';
    expect(parseProcNetUdp(line, 'udp6')[0]).toMatchObject({ local: '[::1]:53', drops: 7, inode: 4242 });
  });
  it('/proc/stat and /proc/softirqs per CPU', () => {
    const cpus = parseProcStat(fx('proc-stat.txt'));
    expect(cpus.map((c) => c.cpu)).toEqual(['cpu', 'cpu0', 'cpu1']);
    const soft = parseSoftirqs(fx('proc-softirqs.txt'));
    expect(soft.cpus).toBe(2);
    expect(soft.rows.NET_RX).toHaveLength(2);
    expect(soft.rows.NET_TX).toHaveLength(2);
  });
  it('/proc/net/dev and ESTABLISHED inodes', () => {
    const ifs = parseNetDev(fx('proc-net-dev.txt'));
    expect(ifs.map((i) => i.name)).toContain('lo');
    const tcp = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n' +
      '   0: 0100007F:0787 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1\n' +
      '   1: 0100007F:0787 0100007F:A000 01 00000000:00000000 00:00000000 00000000     0        0 222 1\n';
    expect(establishedInodes(tcp)).toEqual([222]);
  });
});

describe('TCP listeners', () => {
  it('finds the socket listening on a port in /proc/net/tcp (srsx serve on 1935, 1985, 8080)', () => {
    const text = readFileSync(path.join(REPO, 'test/fixtures/diagnose/proc-net-tcp-srsx-serve.txt'), 'utf8');
    expect(listeningInodes(text, 1935)).toEqual([63755]);
    expect(listeningInodes(text, 8080)).toEqual([63756]);
    expect(listeningInodes(text, 1936)).toEqual([]);
  });
});

