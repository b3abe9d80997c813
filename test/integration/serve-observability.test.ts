// What an operator graphs and reads from a running `srsx serve`: counters that never go backwards,
// 30 s rates the server samples itself (the first API call already sees them), one log line per
// connection open and close (a normal unpublish is not a socket error), rate-limited refusals, the
// periodic stats line, where a file log goes, and no Node inspector notices in the log.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, itIf, SRSX_BIN } from '../helpers/env.js';
import { testFlv } from '../helpers/media.js';
import { sleep, spawnTool, startServer, stopAfterEach, stopChild, waitExit } from '../helpers/serve.js';

const itFF = itIf({ tools: ['ffmpeg'] });

async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url);
  return (await r.json()) as T;
}

async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (!m) throw new Error(`no ${name} in:\n${text}`);
  return Number(m[1]);
}

interface Summaries { data: { self: { cpu_percent: number }; system: { srs_send_bytes: number; srs_recv_bytes: number } } }
interface Streams { streams: Array<{ name: string; send_bytes: number; recv_bytes: number; kbps: { recv_30s: number; send_30s: number } }> }
interface Vhosts { vhosts: Array<{ name: string; send_bytes: number; recv_bytes: number }> }

describe('srsx serve: numbers and logs for the operator', () => {
  const started = stopAfterEach();

  itFF('byte counters never go backwards when clients leave; the first API call already sees 30 s rates and CPU', async () => {
    const exporter = await freePort();
    const server = started.add(await startServer({ extra: `exporter { enabled on; listen ${exporter}; }` }));
    const api = `http://127.0.0.1:${server.api}/api/v1`;
    const file = testFlv({ seconds: 8 });
    const url = `rtmp://127.0.0.1:${server.rtmp}/live/count`;
    const pub = spawnTool('ffmpeg', ['-v', 'error', '-re', '-i', file, '-c', 'copy', '-f', 'flv', url]);
    started.add(pub.child);
    await sleep(1000);
    const play = spawnTool('ffmpeg', ['-v', 'error', '-rw_timeout', '2000000', '-i', `http://127.0.0.1:${server.http}/live/count.flv`, '-c', 'copy', '-f', 'null', '-']);
    started.add(play.child);
    await sleep(3500);

    // the very first calls: rates over the time the server has sampled, not "0 since the previous call"
    const streams = await getJson<Streams>(`${api}/streams`);
    const s = streams.streams.find((x) => x.name === 'count')!;
    expect(s.kbps.recv_30s).toBeGreaterThan(50);
    expect(s.kbps.send_30s).toBeGreaterThan(50);
    const first = await getJson<Summaries>(`${api}/summaries`);
    expect(first.data.self.cpu_percent).toBeGreaterThan(0);
    // a second poller right after sees the same window (it does not restart it)
    const again = await getJson<Streams>(`${api}/streams`);
    expect(Math.abs(again.streams.find((x) => x.name === 'count')!.kbps.recv_30s - s.kbps.recv_30s)).toBeLessThanOrEqual(s.kbps.recv_30s * 0.2);

    const during = {
      sum: first.data.system,
      vhost: (await getJson<Vhosts>(`${api}/vhosts`)).vhosts.find((v) => v.name === '__defaultVhost__')!,
      metrics: await (await fetch(`http://127.0.0.1:${exporter}/metrics`)).text(),
    };
    expect(during.sum.srs_send_bytes).toBeGreaterThan(10_000);
    expect(during.vhost.send_bytes).toBeGreaterThan(10_000);

    expect(await waitExit(pub.child, 30_000)).toBe(0);
    await waitExit(play.child, 15_000);
    await until('every client gone', async () => (await getJson<{ clients: unknown[] }>(`${api}/clients`)).clients.length === 0);

    const after = {
      sum: (await getJson<Summaries>(`${api}/summaries`)).data.system,
      vhost: (await getJson<Vhosts>(`${api}/vhosts`)).vhosts.find((v) => v.name === '__defaultVhost__')!,
      metrics: await (await fetch(`http://127.0.0.1:${exporter}/metrics`)).text(),
    };
    // everything that was sent while they were connected is still counted (and more)
    expect(after.sum.srs_send_bytes).toBeGreaterThan(during.sum.srs_send_bytes);
    expect(after.sum.srs_recv_bytes).toBeGreaterThan(during.sum.srs_recv_bytes);
    expect(after.vhost.send_bytes).toBeGreaterThan(during.vhost.send_bytes);
    expect(after.vhost.recv_bytes).toBeGreaterThan(during.vhost.recv_bytes);
    for (const name of ['srs_send_bytes_total', 'srs_receive_bytes_total']) {
      expect(metric(after.metrics, name)).toBeGreaterThan(metric(during.metrics, name));
    }
    // the whole file went in: recv at least its size
    expect(after.sum.srs_recv_bytes).toBeGreaterThanOrEqual(fs.statSync(file).size * 0.9);
  }, 90_000);

  itFF('one line per connection open and close: unpublish is a clean close, players say bytes and duration; the periodic stats line', async () => {
    const server = started.add(await startServer({ env: { SRSX_STATS_LOG_INTERVAL: '1' } }));
    const file = testFlv({ seconds: 4 });
    const url = `rtmp://127.0.0.1:${server.rtmp}/live/logs`;
    const rtmpPlay = spawnTool('ffmpeg', ['-v', 'error', '-rw_timeout', '2000000', '-i', url, '-c', 'copy', '-f', 'null', '-']);
    started.add(rtmpPlay.child);
    const flvPlay = spawnTool('ffmpeg', ['-v', 'error', '-rw_timeout', '2000000', '-i', `http://127.0.0.1:${server.http}/live/logs.flv`, '-c', 'copy', '-f', 'null', '-']);
    started.add(flvPlay.child);
    await sleep(800);
    const pub = spawnTool('ffmpeg', ['-v', 'error', '-re', '-i', file, '-c', 'copy', '-f', 'flv', url]);
    started.add(pub.child);
    await sleep(2500);
    await until('the stats line with the stream', () => /\] Hybrid cpu=\d+\.\d\d%,\d+MB, conns=3, clients=3, streams=1, kbps=\(in:[1-9]\d*,out:[1-9]\d*\)/.test(server.log()));
    expect(await waitExit(pub.child, 30_000)).toBe(0);
    await waitExit(rtmpPlay.child, 15_000).catch(() => stopChild(rtmpPlay.child));
    await waitExit(flvPlay.child, 15_000).catch(() => stopChild(flvPlay.child));
    await until('three close lines', () => (server.log().match(/ (RTMP|FLV) close/g) ?? []).length >= 3);
    const log = server.log();
    expect(log).toMatch(/\[rtmp-[0-9a-f]+\] RTMP connection from 127\.0\.0\.1:\d+, conns=\d+/);
    expect(log).toMatch(/\[http-[0-9a-f]+\] HTTP connection from 127\.0\.0\.1:\d+, conns=\d+/);
    // the publisher's normal end: not "socket error: write EPIPE"
    expect(log).toMatch(/RTMP close: peer closed; after unpublish of __defaultVhost__\/live\/logs, \d+\.\d s, recv [1-9]\d+ bytes, sent \d+ bytes/);
    expect(log).not.toMatch(/socket error: write EPIPE/);
    // the players: how long, how much
    expect(log).toMatch(/RTMP close: [^;]+; (player of|after stop playing of) __defaultVhost__\/live\/logs, \d+\.\d s, recv \d+ bytes, sent [1-9]\d{4,} bytes/);
    expect(log).toMatch(/FLV close __defaultVhost__\/live\/logs: [^,]+, \d+\.\d s, sent [1-9]\d{4,} bytes/);
  }, 90_000);

  it('max_connections refusals are logged at most once a second, with the count', async () => {
    const server = started.add(await startServer({ maxConnections: 2 }));
    const socks: net.Socket[] = [];
    try {
      for (let i = 0; i < 2; i++) socks.push(net.connect(server.rtmp, '127.0.0.1'));
      await sleep(300);
      const t0 = Date.now();
      for (let i = 0; i < 40; i++) {
        const c = net.connect(server.rtmp, '127.0.0.1');
        c.on('error', () => {});
        socks.push(c);
      }
      await until('the count line', () => /refuse RTMP connections: \d+ in the last second, the last from 127\.0\.0\.1: max_connections 2 reached/.test(server.log()), 10_000);
      const lines = server.log().split('\n').filter((l) => l.includes('refuse RTMP connection'));
      const seconds = Math.ceil((Date.now() - t0) / 1000) + 1;
      expect(lines.length).toBeLessThanOrEqual(seconds + 1);
      const counted = lines.reduce((n, l) => n + Number(/connections: (\d+) in/.exec(l)?.[1] ?? 1), 0);
      expect(counted).toBe(40);
    } finally {
      for (const s of socks) s.destroy();
    }
  }, 30_000);

  it('srs_clients_errs_total counts a connection that ended in an error, not one the peer closed', async () => {
    const exporter = await freePort();
    const server = started.add(await startServer({ extra: `exporter { enabled on; listen ${exporter}; }` }));
    const scrape = async () => metric(await (await fetch(`http://127.0.0.1:${exporter}/metrics`)).text(), 'srs_clients_errs_total');
    expect(await scrape()).toBe(0);
    const talk = (data: string | undefined) => new Promise<void>((resolve) => {
      const c = net.connect(server.rtmp, '127.0.0.1', () => (data === undefined ? c.end() : c.write(data)));
      c.on('error', () => {});
      c.on('close', () => resolve());
      if (data !== undefined) c.on('data', () => {});
    });
    await talk(undefined); // opens and closes: the peer's own close
    await talk('GET / HTTP/1.1\r\nHost: x\r\n\r\n' + 'x'.repeat(1600)); // not RTMP: a protocol error, closed by the server
    await until('two closes logged', () => (server.log().match(/RTMP close: /g) ?? []).length >= 2);
    expect(server.log()).toMatch(/RTMP close: protocol error: handshake: C0 version 71 is not RTMP 3/);
    expect(await scrape()).toBe(1);
    expect(metric(await (await fetch(`http://127.0.0.1:${exporter}/metrics`)).text(), 'srs_clients_total')).toBe(2);
  }, 30_000);

  it('srs_log_tank file: the console says where the log goes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'srsx-logfile-'));
    const [rtmp, api] = [await freePort(), await freePort()];
    fs.writeFileSync(path.join(dir, 'srs.conf'), `listen ${rtmp};\nsrs_log_tank file;\nsrs_log_file ./objs/srs.log;\npid ./objs/srs.pid;\nhttp_api { enabled on; listen ${api}; }\nvhost __defaultVhost__ { }\n`);
    const child = started.add(spawn(process.execPath, [SRSX_BIN, 'serve', '-c', 'srs.conf'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }));
    let stderr = '';
    let stdout = '';
    child.stderr!.on('data', (d) => (stderr += d));
    child.stdout!.on('data', (d) => (stdout += d));
    await until('the log file', () => fs.existsSync(path.join(dir, 'objs/srs.log')) && fs.readFileSync(path.join(dir, 'objs/srs.log'), 'utf8').includes('srsx serve pid='), 20_000);
    expect(stderr).toContain(`srsx serve: logging to ${path.join(fs.realpathSync(dir), 'objs/srs.log')} (srs_log_tank file, srs_log_level trace)`);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stdout).toBe('');
  }, 60_000);

  itIf({ tools: ['ss'] })('Node\'s inspector notices (profile --cpu opens it with SIGUSR1) never land in the log', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'srsx-inspect-'));
    const [rtmp, api] = [await freePort(), await freePort()];
    fs.writeFileSync(path.join(dir, 'srs.conf'), `listen ${rtmp};\nsrs_log_tank console;\npid ./srs.pid;\nhttp_api { enabled on; listen ${api}; }\nvhost __defaultVhost__ { }\n`);
    // as `srsx serve > srs.log 2>&1`; --inspect-port=0: the inspector on a free port (9229 may be taken)
    const logFile = path.join(dir, 'srs.log');
    const fd = fs.openSync(logFile, 'a');
    const wrapper = started.add(spawn(process.execPath, ['--inspect-port=0', SRSX_BIN, 'serve', '-c', 'srs.conf'], { cwd: dir, stdio: ['ignore', fd, fd] }));
    fs.closeSync(fd);
    const pid = await until('the pid file', () => {
      try {
        return Number(fs.readFileSync(path.join(dir, 'srs.pid'), 'utf8').trim()) || undefined;
      } catch {
        return undefined;
      }
    }, 20_000);
    started.add({ stop: async () => void (fs.existsSync(`/proc/${pid}`) && process.kill(pid, 'SIGKILL')) });
    await until('the server up', () => fs.readFileSync(logFile, 'utf8').includes('srsx serve pid='), 20_000);
    process.kill(pid, 'SIGUSR1');
    // the inspector is open: one of the server's listening ports answers /json/list
    await until('the inspector to open', async () => {
      const ports = [...execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' }).matchAll(new RegExp(`127\\.0\\.0\\.1:(\\d+) .*pid=${pid},`, 'g'))].map((m) => Number(m[1]));
      for (const p of ports) {
        const ok = await fetch(`http://127.0.0.1:${p}/json/list`).then((r) => r.ok, () => false);
        if (ok) return true;
      }
      return false;
    }, 20_000);
    await sleep(300);
    await stopChild(wrapper);
    const text = fs.readFileSync(logFile, 'utf8');
    expect(text).toContain('srsx serve pid=');
    expect(text).not.toMatch(/Debugger listening|nodejs\.org\/en\/docs\/inspector/);
    // every line is an SRS-format line
    for (const line of text.trim().split('\n')) expect(line).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\]\[\w+\]\[\d+\]\[[^\]]*\] /);
  }, 60_000);
});
