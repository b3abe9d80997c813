import { ReportDataSchemas } from '../../src/diagnose/report.js';
import { apiUrl, serverConfigArgs, serverUdpLine, serverUdpView, type ServerUdpSample, type ServerUdpTarget } from '../../src/diagnose/server-udp.js';
import { udpRates, udpVerdicts, type SocketFinding } from '../../src/diagnose/udp.js';
import { parseEnviron } from '../../src/host/server-api.js';
import type { UdpCounters } from '../../src/host/proc-net.js';

const rtcUdp = (r: number, s: number, bad: number) => ({ port: 8000, loss: { r, s }, bad, rcvbuf: { asked: 1048576, granted: 16384 }, sndbuf: { asked: 1048576, granted: 2097152 } });
const target: ServerUdpTarget = { pid: 42, url: 'http://127.0.0.1:1985/api/v1/summaries' };
const sock = (drops: number) => ({ local: '0.0.0.0:8000', remote: '0.0.0.0:*', inode: 7, pid: 42, drops });

describe('the server\'s own UDP counters in udp-drops', () => {
  it('finds the config on a srsx serve / srs command line (after serve, never node\'s own flags)', () => {
    expect(serverConfigArgs(['node', '--max-old-space-size=512', '/x/bin/srsx', 'serve', '-c', 'conf/rtc.conf'])).toEqual({ file: 'conf/rtc.conf', envOnly: false });
    expect(serverConfigArgs(['node', '-c', '/x/bin/srsx', 'serve'])).toEqual({ file: undefined, envOnly: false });
    expect(serverConfigArgs(['srsx', 'serve', '--config=/etc/srs.conf'])).toEqual({ file: '/etc/srs.conf', envOnly: false });
    expect(serverConfigArgs(['./objs/srs', '-e'])).toEqual({ file: undefined, envOnly: true });
    expect(serverConfigArgs(['./objs/srs', '-cconf/srs.conf'])).toEqual({ file: 'conf/srs.conf', envOnly: false });
  });

  it('reads /proc/PID/environ and reaches a wildcard API on loopback', () => {
    expect(parseEnviron('A=1\0SRS_HTTP_API_LISTEN=1986\0B=x=y\0')).toEqual({ A: '1', SRS_HTTP_API_LISTEN: '1986', B: 'x=y' });
    expect(apiUrl({ host: '0.0.0.0', port: 1985 })).toBe('http://127.0.0.1:1985/api/v1/summaries');
    expect(apiUrl({ host: '::', port: 1985 })).toBe('http://[::1]:1985/api/v1/summaries');
    expect(apiUrl({ host: '10.0.0.5', port: 1985 })).toBe('http://10.0.0.5:1985/api/v1/summaries');
  });

  it('puts the server\'s loss deltas beside the kernel\'s drops on its socket', () => {
    const a: ServerUdpSample = { at: 0, udp: rtcUdp(10, 0, 5) };
    const b: ServerUdpSample = { at: 2000, udp: rtcUdp(310, 0, 105) };
    const v = serverUdpView(target, a, b, [sock(10)], [sock(310)]);
    expect(v).toEqual({
      pid: 42, api: target.url, port: 8000, socket: '0.0.0.0:8000',
      counters: { recvDrops: 310, sendErrors: 0, bad: 105, rcvbufAsked: 1048576, rcvbufGranted: 16384, sndbufAsked: 1048576, sndbufGranted: 2097152 },
      delta: { recvDrops: 300, sendErrors: 0, bad: 100, kernelDrops: 300 },
    });
    expect(ReportDataSchemas['udp-drops']!.safeParse({ counters: [], dropRatio: 0, sockets: [], server: v }).success).toBe(true);
    expect(serverUdpLine(v)).toBe("server pid 42 (srsx serve), WebRTC UDP 0.0.0.0:8000: server loss=(r:+300,s:+0) bad +100 in the interval (totals r:310,s:0; r is the kernel's count as the server last read it); kernel drops on its socket +300; SO_RCVBUF asked 1048576, granted 16384; from http://127.0.0.1:1985/api/v1/summaries");
  });

  it('says why there are no counters: API unreachable, WebRTC off, no server', () => {
    expect(serverUdpView(target, { at: 0, error: 'cannot reach x: ECONNREFUSED' }, { at: 1, error: 'cannot reach x: ECONNREFUSED' }, [], []).note).toMatch(/could not be read: cannot reach x: ECONNREFUSED/);
    expect(serverUdpView(target, { at: 0, noRtc: true }, { at: 1, noRtc: true }, [], []).note).toMatch(/rtc_server\) is off/);
    const none = serverUdpView({ pid: null, url: null, note: 'no server process found' }, undefined, undefined, [], []);
    expect(none).toEqual({ pid: null, api: null, note: 'no server process found' });
    expect(serverUdpLine(none)).toBe('server: no server process found');
  });

  it('names the dropping socket as srsx serve with its pid, what it asked and its own count; tune when rmem_max capped it', () => {
    const zero: UdpCounters = { InDatagrams: 0, NoPorts: 0, InErrors: 0, OutDatagrams: 0, RcvbufErrors: 0, SndbufErrors: 0, InCsumErrors: 0, IgnoredMulti: 0 };
    const delta = { ...zero, InDatagrams: 100, RcvbufErrors: 300, InErrors: 300 };
    const s: SocketFinding = { local: '0.0.0.0:8000', remote: '0.0.0.0:*', inode: 7, rxQueue: 0, txQueue: 0, rcvbuf: 16384, sndbuf: 2097152, drops: 300, pid: 42, program: 'node', dropsDelta: 300 };
    const server = { pid: 42, port: 8000, asked: 1048576, lossDelta: { r: 300, s: 0 } };
    const [v] = udpVerdicts(delta, udpRates(delta, 2), { rmemDefault: 212992, rmemMax: 8192 }, [s], [], { where: 'in 2s', sockDiag: true, server });
    expect(v!.reason).toMatch(/^0\.0\.0\.0:8000 \(srsx serve pid 42, its WebRTC UDP port\) dropped 300 received datagrams in 2s/);
    expect(v!.reason).toContain('the application asked for more (SO_RCVBUF 1048576: rtc_server recvbuf) but net.core.rmem_max=8192 capped its SO_RCVBUF');
    expect(v!.reason).toContain("the server's own counters: loss=(r:300,s:0) in the interval");
    expect(v!.fix).toBe('srsx tune --udp 1M');
    // its own small recvbuf (below the default): the fix is in its config
    const [app] = udpVerdicts(delta, udpRates(delta, 2), { rmemDefault: 212992, rmemMax: 4194304 }, [{ ...s, rcvbuf: 4096 }], [], { where: 'in 2s', sockDiag: true, server });
    expect(app!.fix).toMatch(/^in srsx serve \(pid 42\): set rtc_server \{ recvbuf \d+; \} in its config and restart it/);
    // another program's socket keeps its own name
    const [other] = udpVerdicts(delta, udpRates(delta, 2), { rmemDefault: 212992, rmemMax: 8192 }, [{ ...s, pid: 7 }], [], { where: 'in 2s', sockDiag: true, server });
    expect(other!.reason).toMatch(/^0\.0\.0\.0:8000 \(node pid 7\) dropped/);
  });

  it('send failures the server counted without kernel SndbufErrors get their own verdict', () => {
    const zero: UdpCounters = { InDatagrams: 10, NoPorts: 0, InErrors: 0, OutDatagrams: 10, RcvbufErrors: 0, SndbufErrors: 0, InCsumErrors: 0, IgnoredMulti: 0 };
    const v = udpVerdicts(zero, udpRates(zero, 2), {}, [], [], { where: 'in 2s', sockDiag: true, server: { pid: 42, port: 8000, lossDelta: { r: 0, s: 12 } } });
    expect(v).toHaveLength(1);
    expect(v[0]!.reason).toMatch(/^srsx serve \(pid 42\) failed to send 12 datagrams on its WebRTC UDP port in 2s/);
  });
});
