import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { HostRoot } from '../../src/host/root.js';
import path from 'node:path';
import { establishedInodes, listeningInodes, parseNetDev, parseNetstatSamples, parseNetstatSu, parseProcNetstatIpExt, parseProcNetUdp, parseSnmp6Udp, parseSnmpUdp } from '../../src/host/proc-net.js';
import { parseSs } from '../../src/host/sock-diag.js';
import { tcpVerdicts } from '../../src/diagnose/tcp.js';
import { parseProcStat, parseSchedstat, parseSoftirqs, parseTaskStat } from '../../src/host/proc-stat.js';
import { cpuVerdicts, irqVerdicts, serverArg, serverPidfile, type CpuFacts, type CpuRow, type IrqRow } from '../../src/diagnose/cpu.js';
import { bufferOrigin, netstatTextReport, udpBufferSize, udpRates, udpVerdicts, type SocketFinding } from '../../src/diagnose/udp.js';
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
    expect(() => parseNetstatSamples('hello world\n')).toThrow(/not `netstat -su` output/);
    expect(parseProcNetstatIpExt(fx('proc-net-snmp.txt'))).toBeUndefined();
    expect(() => parseNetstatSu('hello world\n')).toThrow(/not `netstat -su` output/);
    expect(() => parseNetstatSu(fx('proc-net-snmp.txt'))).toThrow(/not `netstat -su` output/);
  });
  it('one sample (the guide\'s example): critical since boot, and asks for two samples instead of guessing a size', () => {
    const r = ReportSchema.parse(netstatTextReport(parseNetstatSamples(fx('netstat-su-guide.txt'))));
    expect(r.verdicts[0]!.level).toBe('critical');
    expect(r.verdicts[0]!.reason).toMatch(/22\.6\d% of received/);
    expect(r.verdicts[0]!.fix).toMatch(/netstat -suna && sleep 30 && netstat -suna/);
  });
  it('two samples (netstat -suna && sleep 30 && netstat -suna): deltas and rates of the first and last, checksum and closed-port verdicts', () => {
    const samples = parseNetstatSamples(fx('netstat-suna-sleep30-twice-debian12.txt'));
    expect(samples).toHaveLength(2);
    expect(samples[0]!.counters).toMatchObject({ InDatagrams: 108, RcvbufErrors: 3492, NoPorts: 180, InCsumErrors: 36 });
    expect(samples[1]!.ipIn).toEqual({ inOctets: 33681794, inPackets: 35853 });
    const r = ReportSchema.parse(netstatTextReport(samples, 30));
    expect(r.intervalS).toBe(30);
    const rows = r.data.counters as Array<{ counter: string; total: number; delta: number; perSecond: number }>;
    expect(rows.find((x) => x.counter === 'RcvbufErrors')).toEqual({ counter: 'RcvbufErrors', total: 31331, delta: 27839, perSecond: 928 });
    const [drops, csum, noports] = r.verdicts;
    expect(drops!.level).toBe('critical');
    expect(drops!.reason).toMatch(/^27839 received datagrams dropped in 30s \(first and last of 2 samples\)/);
    // 28700 arrivals / 30 s × 939-byte packets (IpExt) × 0.2 s × 2 = 360 KB → 1M
    expect(drops!.reason).toMatch(/956\.7 datagrams\/s × 939 bytes/);
    expect(drops!.fix).toBe('srsx tune --udp 1M');
    expect(csum!.reason).toMatch(/^287 datagrams arrived with a bad UDP checksum/);
    expect(csum!.fix).toMatch(/ethtool/);
    expect(noports!.reason).toMatch(/^1435 datagrams \(47\.8\/s\) arrived for a port nothing listens on/);
    expect(r.verdicts).toHaveLength(3);
  });
  it('buffer size from the rate: 200 ms of bytes as the kernel charges them, a power of two MiB, never below the current ceiling', () => {
    expect(udpBufferSize(100_000).text).toBe('1M');
    expect(udpBufferSize(10 * 1024 * 1024).text).toBe('4M'); // 10 MiB/s × 0.2 × 2 = 4 MiB
    expect(udpBufferSize(11 * 1024 * 1024).text).toBe('8M');
    expect(udpBufferSize(100_000, 4194304).text).toBe('4M');
    expect(udpBufferSize(100_000, 5000000).text).toBe('5000000');
  });
  it('whose buffer: the default, the ceiling, or the application\'s SO_RCVBUF', () => {
    expect(bufferOrigin(212992, 212992, 4194304)).toBe('default');
    expect(bufferOrigin(8192, 212992, 4194304)).toBe('application');
    expect(bufferOrigin(8388608, 212992, 4194304)).toBe('ceiling');
    expect(bufferOrigin(8192, undefined, undefined)).toBe('unknown');
  });
  it('a dropping socket with its own small SO_RCVBUF: the fix is in the application, not srsx tune', () => {
    const delta = { InDatagrams: 100000, NoPorts: 0, InErrors: 5000, OutDatagrams: 0, RcvbufErrors: 5000, SndbufErrors: 0, InCsumErrors: 0, IgnoredMulti: 0 };
    const rates = udpRates(delta, 10, { inOctets: 105000 * 1000, inPackets: 105000 });
    const sock: SocketFinding = { local: '127.0.0.1:8000', remote: '0.0.0.0:*', inode: 1, rxQueue: 6912, txQueue: 0, rcvbuf: 8192, sndbuf: 212992, drops: 5000, dropsDelta: 5000, pid: 42, program: 'srs' };
    const sys = { rmemDefault: 212992, rmemMax: 212992, wmemDefault: 212992, wmemMax: 212992 };
    const [v] = udpVerdicts(delta, rates, sys, [sock], [], { where: 'in 10s', sockDiag: true });
    expect(v!.level).toBe('critical');
    expect(v!.reason).toMatch(/^127\.0\.0\.1:8000 \(srs pid 42\) dropped 5000 received datagrams in 10s/);
    expect(v!.reason).toMatch(/application set SO_RCVBUF=4096/);
    // 10,500 datagrams/s × 1,000 bytes × 0.2 s × 2 (truesize) = 4.2 MB → 8M for the socket, asked as SO_RCVBUF 4M
    expect(v!.fix).toMatch(/^in srs \(pid 42\): set SO_RCVBUF to 4194304 bytes or more \(the kernel doubles it to 8M/);
    expect(v!.fix).toMatch(/rmem_max=212992, raise that ceiling first: srsx tune --udp 4M$/);
    // the same socket on the default buffer: srsx tune is the fix
    const [d] = udpVerdicts(delta, rates, sys, [{ ...sock, rcvbuf: 212992 }], [], { where: 'in 10s', sockDiag: true });
    expect(d!.fix).toBe('srsx tune --udp 8M');
    expect(d!.reason).toMatch(/the default net\.core\.rmem_default=212992/);
    // few drops: warn; none: ok
    const few = { ...delta, RcvbufErrors: 5, InErrors: 5 };
    expect(udpVerdicts(few, udpRates(few, 30), {}, [], [], { where: 'in 30s', sockDiag: true })[0]!.level).toBe('warn');
    expect(udpVerdicts({ ...delta, RcvbufErrors: 0, InErrors: 0 }, rates, sys, [], [], { where: 'in 10s', sockDiag: true })[0]!.level).toBe('ok');
  });
  it('send buffer errors speak of sent datagrams and name the full send queue', () => {
    const delta = { InDatagrams: 0, NoPorts: 0, InErrors: 0, OutDatagrams: 900, RcvbufErrors: 0, SndbufErrors: 100, InCsumErrors: 0, IgnoredMulti: 0 };
    const full = { local: '127.0.0.1:5000', remote: '127.0.0.1:6000', inode: 1, rxQueue: 0, txQueue: 8000, rcvbuf: 212992, sndbuf: 9216, drops: 0, pid: 7, program: 'blaster' };
    const [v] = udpVerdicts(delta, udpRates(delta, 2), { wmemDefault: 212992, wmemMax: 212992 }, [], [full], { where: 'in 2s', sockDiag: true });
    expect(v!.reason).toMatch(/^100 datagrams could not be sent in 2s/);
    expect(v!.reason).not.toMatch(/received/);
    expect(v!.reason).toMatch(/127\.0\.0\.1:5000 \(blaster pid 7\) Send-Q 8000 of its 9216-byte send buffer \(SO_SNDBUF set by the application\)/);
    expect(v!.fix).toMatch(/^in blaster \(pid 7\): set SO_SNDBUF/);
  });
});

describe('sock_diag (ss) output captured on this VM', () => {
  it('UDP: each socket\'s own buffers (skmem rb/tb), queue, drops, owner and inode', () => {
    const socks = parseSs(fx('ss-uHOnapme-debian12.txt'));
    expect(socks).toHaveLength(4);
    const tiny = socks.find((s) => s.local === '127.0.0.1:40001')!;
    expect(tiny).toMatchObject({ state: 'UNCONN', recvQ: 6912, users: [{ program: 'python3', fd: 3 }] });
    expect(tiny.skmem).toMatchObject({ r: 6912, rb: 8192, t: 0, tb: 212992, d: 297 });
    expect(tiny.inode).toBeGreaterThan(0);
    expect(socks.find((s) => s.local === '127.0.0.1:40002')!.skmem).toMatchObject({ rb: 212992, d: 208 });
    expect(socks.find((s) => s.local === '[::1]:40003')!.peer).toBe('[::]:*');
    expect(tiny.tcp).toBeNull();
  });
  it('TCP: Send-Q, not-sent bytes, acked bytes and receive-window-limited time of a player that stopped reading', () => {
    const socks = parseSs(fx('ss-tHOnpmei-stalled-debian12.txt'));
    const stalled = socks.find((s) => s.local === '127.0.0.1:1935' && s.sendQ > 0)!;
    expect(stalled.sendQ).toBe(2805760);
    expect(stalled.tcp).toMatchObject({ bytesAcked: 4096, notsent: 2805760, rwndLimitedMs: 2424, busyMs: 2424, lastSndMs: 2424, retrans: 0 });
    const healthy = socks.find((s) => s.local === '127.0.0.1:1935' && s.sendQ === 0)!;
    expect(healthy.tcp).toMatchObject({ bytesAcked: 47000, rwndLimitedMs: null });
    expect(parseSs('ESTAB 0 0 1.2.3.4:5 6.7.8.9:10 users:(("npm install x",pid=1,fd=2)) retrans:0/5 rto:200 segs_out:9')[0]!.tcp).toMatchObject({ retrans: 5, segsOut: 9 });
    expect(parseSs('ESTAB 0 0 1.2.3.4:5 6.7.8.9:10 users:(("npm install x",pid=1,fd=2))')[0]!.users).toEqual([{ program: 'npm install x', pid: 1, fd: 2 }]);
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


describe('threads, scheduler, CPU and IRQ verdicts', () => {
  it('/proc/PID/task/TID/stat and schedstat captured from a node process on this VM', () => {
    const stats = fx('proc-task-stat-node.txt').trim().split('\n').map(parseTaskStat);
    expect(stats[0]).toMatchObject({ comm: 'node', state: 'S', ticks: 28, cpu: 0 });
    expect(stats[0]!.tid).toBeGreaterThan(0);
    expect(parseTaskStat('42 (my (odd) name) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 3 0')).toMatchObject({ tid: 42, comm: 'my (odd) name', ticks: 23, cpu: 3 });
    const sched = fx('proc-task-schedstat-node.txt').trim().split('\n').map(parseSchedstat);
    expect(sched[0]).toEqual({ runNs: 286319209, waitNs: 542522589, timeslices: 109 });
  });

  const row = (cpu: number, o: Partial<CpuRow> = {}): CpuRow => ({ cpu, usr: 10, nice: 0, sys: 5, iowait: 0, irq: 0, soft: 2, steal: 0, idle: 83, netRxPerS: 0, netTxPerS: 0, ...o });
  const base = (o: Partial<CpuFacts> = {}): CpuFacts => ({ intervalS: 3, rows: [row(0), row(1)], nicRxPps: 0, loRxPps: 0, competitors: [], serverArg: '--pidfile /srv/objs/srs.pid', ...o });
  const server = (o: Partial<NonNullable<CpuFacts['server']>> = {}) => ({ pid: 100, allowed: [0, 1], percentByCpu: { 0: 60 }, runMs: 1800, waitMs: 20, threads: [{ tid: 100, comm: 'node', percent: 60, cpu: 0 }], ...o });

  it('NIC NET_RX on the server\'s CPU: an IRQ move, with the server\'s real pid file', () => {
    const f = base({ rows: [row(0, { netRxPerS: 9000, idle: 5 }), row(1, { netRxPerS: 100 })], nicRxPps: 20000, loRxPps: 10, server: server() });
    const [v] = cpuVerdicts(f);
    expect(v).toMatchObject({ level: 'critical', fix: 'srsx tune --softirq-cpu 0 --pidfile /srv/objs/srs.pid   (NIC IRQs on CPU 0, the server on 1)' });
    expect(v!.reason).toMatch(/NIC packets \(NICs 20000 packets\/s, lo 10 packets\/s\) and the server compete/);
  });
  it('loopback NET_RX: no IRQ move, an ok note (contention shows as run-queue wait instead)', () => {
    const rows = [row(0, { netRxPerS: 9000, idle: 5 }), row(1, { netRxPerS: 100 })];
    const v = cpuVerdicts(base({ rows, nicRxPps: 3, loRxPps: 9000, server: server(), competitors: [{ pid: 555, comm: 'ffmpeg', percent: 40, cpus: [0] }] }));
    expect(v.every((x) => x.level === 'ok')).toBe(true);
    expect(v[0]!.reason).toMatch(/loopback traffic \(NICs 3 packets\/s, lo 9000 packets\/s\).*IRQ placement does not apply/);
    expect(v.some((x) => /--softirq-cpu|--irq-cpus/.test(x.fix ?? ''))).toBe(false);
  });
  it('starvation: run-queue wait against run time, naming the processes on the server\'s CPUs', () => {
    const f = base({ server: server({ allowed: [1], runMs: 1400, waitMs: 1500 }), competitors: [{ pid: 777, comm: 'burner', percent: 50, cpus: [1] }, { pid: 778, comm: 'elsewhere', percent: 90, cpus: [0] }] });
    const v = cpuVerdicts(f).find((x) => /starved/.test(x.reason))!;
    expect(v.level).toBe('critical');
    expect(v.reason).toMatch(/^the server \(pid 100\) waited 1500 ms for a CPU while running 1400 ms in 3s \(run-queue wait 52%/);
    expect(v.reason).toMatch(/competing on its CPUs \(1\): burner \(pid 777\) 50%$/);
    expect(v.fix).toMatch(/^srsx tune --nice -10 --pidfile \/srv\/objs\/srs\.pid/);
    // a short wait is not starvation
    expect(cpuVerdicts(base({ server: server({ runMs: 100, waitMs: 100 }) })).some((x) => /starved/.test(x.reason))).toBe(false);
    // an idle server's wake-ups (13 ms of work, 400 ms of waiting in 3 s) are not starvation
    expect(cpuVerdicts(base({ server: server({ runMs: 13, waitMs: 400, threads: [] }) })).some((x) => /starved/.test(x.reason))).toBe(false);
  });
  it('a saturated server thread is named; the ok text lists only what was checked', () => {
    const v = cpuVerdicts(base({ server: server({ threads: [{ tid: 101, comm: 'node', percent: 97, cpu: 1 }] }) }));
    expect(v[0]!.reason).toMatch(/^server thread 101 \(node\) of pid 100 used 97% of a CPU/);
    const none = cpuVerdicts(base());
    expect(none).toHaveLength(1);
    expect(none[0]!.reason).toMatch(/^checked softirq share per CPU: nothing over its threshold; no server process: NET_RX placement, run-queue wait and thread load not checked$/);
  });
  it('IRQs: no warning for one effective CPU or an idle NIC; a warning for an active IRQ delivered to several CPUs', () => {
    const irq = (o: Partial<IrqRow>): IrqRow => ({ irq: 38, nic: 'eth0', name: 'virtio2-input.0', perCpu: [0, 7951], delta: [0, 40], affinity: '0-1', effective: '1', ...o });
    expect(irqVerdicts([irq({})], 2, '--pid 1')[0]!.level).toBe('ok');
    expect(irqVerdicts([irq({ effective: '0-1', delta: [0, 0] })], 2, '--pid 1')[0]!.level).toBe('ok');
    const w = irqVerdicts([irq({ effective: '0-1', delta: [30, 40] })], 2, '--pidfile /run/srs.pid')[0]!;
    expect(w.level).toBe('warn');
    expect(w.fix).toBe('srsx tune --irq-cpus 0   (or keep them away from the server: srsx tune --softirq-cpu 0 --pidfile /run/srs.pid)');
    expect(w.fix).not.toMatch(/objs\/srs\.pid/);
    // no effective_affinity_list: judged by where it fired
    expect(irqVerdicts([irq({ effective: null, delta: [0, 40] })], 2, '--pid 1')[0]!.level).toBe('ok');
    expect(irqVerdicts([irq({ effective: null, delta: [5, 40] })], 2, '--pid 1')[0]!.level).toBe('warn');
  });
});

describe('TCP players', () => {
  it('a server connection whose Send-Q grows with nothing acknowledged is a stalled player; retransmits get their own verdict', () => {
    const b = parseSs(fx('ss-tHOnpmei-stalled-debian12.txt')).filter((s) => s.local === '127.0.0.1:1935');
    const a = b.map((s) => (s.sendQ > 0 ? { ...s, sendQ: s.sendQ - 500000 } : { ...s, tcp: { ...s.tcp!, bytesAcked: s.tcp!.bytesAcked - 20000 } }));
    const { rows, verdicts } = tcpVerdicts(a, b, 2, 13034, '--pid 13034');
    expect(rows.filter((r) => r.stalled).map((r) => r.peer)).toEqual(['127.0.0.1:54616']);
    expect(verdicts).toHaveLength(1);
    expect(verdicts[0]!.reason).toBe("stalled player 127.0.0.1:54616 (server 127.0.0.1:1935, pid 13034): its kernel send queue grew from 2305760 to 2805760 bytes in 2.0s with 0 bytes acknowledged — nothing sent to it for 2.4s; limited by the player's receive window for 2.4s of its life (threshold: Send-Q ≥ 64 KiB and growing or unacknowledged): the player reads slower than the stream");
    // a healthy player with 5% retransmits
    const healthy = b.find((s) => s.sendQ === 0)!;
    const lossy = tcpVerdicts([{ ...healthy, tcp: { ...healthy.tcp!, retrans: 0, segsOut: 0 } }], [{ ...healthy, tcp: { ...healthy.tcp!, retrans: 50, segsOut: 1000 } }], 2, 1, '--pid 1');
    expect(lossy.verdicts[0]!.reason).toMatch(/^player 127\.0\.0\.1:54618 .*: 50 of 1000 segments retransmitted in 2\.0s \(5\.0%/);
    expect(tcpVerdicts(b, b, 2, 1, '--pid 1').verdicts.filter((v) => v.level !== 'ok')).toHaveLength(1); // stuck: unacknowledged
  });
});

describe('--json schema', () => {
  it('validates each report\'s facts by kind (a tcp report without its connections fails)', () => {
    const good = { kind: 'tcp', title: 't', data: { pid: 1, connections: [] }, verdicts: [{ level: 'ok', reason: 'x' }] };
    expect(ReportSchema.parse(good).kind).toBe('tcp');
    expect(() => ReportSchema.parse({ ...good, data: { pid: 1 } })).toThrow(/connections/);
    expect(() => ReportSchema.parse({ ...good, kind: 'irq', data: { irqs: [{ irq: 38 }] } })).toThrow();
  });
});

describe('the server\'s real pid file in fix texts', () => {
  it('from the -c config\'s pid directive relative to the server\'s cwd, only when the file names that pid', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'srsx-pidfile-'));
    mkdirSync(path.join(dir, 'proc/123'), { recursive: true });
    mkdirSync(path.join(dir, 'srv/run'), { recursive: true });
    writeFileSync(path.join(dir, 'proc/123/cmdline'), ['node', '/opt/srsx/bin/srsx', 'serve', '-c', 'conf/edge.conf', ''].join('\0'));
    symlinkSync('/srv', path.join(dir, 'proc/123/cwd'));
    mkdirSync(path.join(dir, 'srv/conf'));
    writeFileSync(path.join(dir, 'srv/conf/edge.conf'), 'listen 1935;\npid ./run/edge.pid;\n');
    writeFileSync(path.join(dir, 'srv/run/edge.pid'), '123\n');
    const root = new HostRoot(dir);
    expect(await serverPidfile(root, 123)).toBe('/srv/run/edge.pid');
    expect(serverArg({ pid: 123, pidfile: await serverPidfile(root, 123) })).toBe('--pidfile /srv/run/edge.pid');
    writeFileSync(path.join(dir, 'srv/run/edge.pid'), '999\n'); // another server's
    expect(await serverPidfile(root, 123)).toBeUndefined();
    expect(serverArg({ pid: 123 })).toBe('--pid 123');
    expect(await serverPidfile(root, 123, '/given.pid')).toBe('/given.pid');
  });
});
