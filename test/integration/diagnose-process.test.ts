import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hasTool, itIf, runCli, SRSX_BIN } from '../helpers/env.js';
import { startServer, stopAfterEach } from '../helpers/serve.js';

/** What `srsx diagnose process --json` reports as the server's pid, run from `cwd`. */
function diagnosedPid(args: string[], cwd: string): number {
  const r = runCli(['diagnose', 'process', '--json', '--interval', '100ms', ...args], { cwd });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout).data.pid as number;
}

describe('diagnose finds the server process', () => {
  const started = stopAfterEach();

  it('with --pid, --pidfile, --port and -c, run from another directory: the serve child, never the bin/srsx wrapper', async () => {
    const server = started.add(await startServer());
    const serverPid = Number(readFileSync(path.join(server.dir, 'srs.pid'), 'utf8'));
    // bin/srsx runs serve as its child: the pid file and the listening sockets are the child's
    expect(serverPid).not.toBe(server.child.pid);
    const elsewhere = mkdtempSync(path.join(os.tmpdir(), 'srsx-cwd-'));
    expect(diagnosedPid(['--pid', String(serverPid)], elsewhere)).toBe(serverPid);
    expect(diagnosedPid(['--pidfile', path.join(server.dir, 'srs.pid')], elsewhere)).toBe(serverPid);
    expect(diagnosedPid(['--port', String(server.rtmp)], elsewhere)).toBe(serverPid);
    expect(diagnosedPid(['--port', String(server.api)], elsewhere)).toBe(serverPid);
    expect(diagnosedPid(['-c', path.join(server.dir, 'srs.conf')], elsewhere)).toBe(serverPid);
    const none = runCli(['diagnose', 'process', '--port', '1'], { cwd: elsewhere });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no process listens on TCP port 1\n/);
  });

  /**
   * Without flags, in a private pid and network namespace (only these servers exist there, and
   * nothing else listens on 1935): each server runs through bin/srsx, so the wrapper is there too.
   */
  const itNs = itIf({ root: true, tools: ['unshare'] });
  function inNamespace(ports: number[], command = 'diagnose process --json --interval 100ms'): { code: number; out: string; err: string; pids: number[] } {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'srsx-ns-'));
    const starts = ports.map((port, i) => {
      writeFileSync(path.join(dir, `${i}.conf`), `listen ${port};\npid ${dir}/${i}.pid;\nsrs_log_tank console;\nvhost __defaultVhost__ {\n}\n`);
      return `node "$BIN" serve -c ${i}.conf >${i}.log 2>&1 &
n=0; until [ -s ${i}.pid ] && grep -q "srsx serve pid=" ${i}.log; do n=$((n+1)); [ $n -lt 200 ] || { cat ${i}.log >&2; exit 9; }; sleep 0.05; done`;
    });
    const script = `cd "$DIR"\n${starts.join('\n')}\ncd /\nnode "$BIN" ${command} >"$DIR/out.json"\necho $? >"$DIR/code"\n`;
    const r = spawnSync('unshare', ['-n', '-p', '-f', '--mount-proc', 'sh', '-c', script], {
      env: { ...process.env, FORCE_COLOR: '0', DIR: dir, BIN: SRSX_BIN, PATH: `${path.dirname(process.execPath)}:${process.env.PATH}` },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(0);
    return {
      code: Number(readFileSync(path.join(dir, 'code'), 'utf8')),
      out: readFileSync(path.join(dir, 'out.json'), 'utf8'),
      err: r.stderr,
      pids: ports.map((_, i) => Number(readFileSync(path.join(dir, `${i}.pid`), 'utf8'))),
    };
  }

  itNs('without flags from another directory: the process listening on 1935', () => {
    const r = inNamespace([1935]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).data.pid).toBe(r.pids[0]);
  }, 60_000);

  itNs('without flags and nothing on 1935: the one `srsx serve` (its child, not the wrapper)', () => {
    const r = inNamespace([19350]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).data.pid).toBe(r.pids[0]);
  }, 60_000);

  itNs('srsx tune without --pid finds the server the same way (here: the one `srsx serve`)', () => {
    const r = inNamespace([19350], 'tune --nice 0 --dry-run --json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).plan.map((p: { id: string }) => p.id)).toEqual([`pid:${r.pids[0]}:nice`]);
  }, 60_000);

  itNs('two servers and no flag to choose: both listed, with the flags that pick one, exit 2', () => {
    const r = inNamespace([19350, 19351]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/2 processes run srsx serve or srs: /);
    for (const pid of r.pids) expect(r.err).toContain(`${pid} (`);
    expect(r.err).toMatch(/--pid PID, or --port PORT/);
    expect(r.err).not.toMatch(/\n\s+at /);
  }, 60_000);

  itIf({ tools: ['prlimit'] })('a low open-files limit gets a fix that works here: the hard limit and fs.nr_open respected, LimitNOFILE= without CAP_SYS_RESOURCE', () => {
    const child = started.add(spawn('prlimit', ['--nofile=1024:4096', 'sleep', '60'], { stdio: 'ignore' }));
    execFileSync('sh', ['-c', `for i in $(seq 50); do grep -q 4096 /proc/${child.pid}/limits 2>/dev/null && exit 0; sleep 0.05; done; exit 1`]);
    const canRaiseHard = ((BigInt(`0x${/^CapEff:\s+(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]}`) >> 24n) & 1n) === 1n;
    const r = runCli(['diagnose', 'process', '--pid', String(child.pid), '--json', '--interval', '100ms']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.data).toMatchObject({ fdLimit: '1024:4096', canRaiseHardLimit: canRaiseHard });
    const verdict = report.verdicts.find((v: { reason: string }) => /open-files limit 1024/.test(v.reason));
    expect(verdict.fix).not.toMatch(/run as root/);
    if (!canRaiseHard) {
      expect(verdict.fix).toMatch(/CAP_SYS_RESOURCE/);
      expect(verdict.fix).toMatch(/LimitNOFILE=100000/);
    }
    // the command in the fix works as given (tune would refuse one it could not apply)
    const cmd = /^srsx (tune --nofile \d+ --pid \d+)/.exec(verdict.fix)![1]!.split(' ');
    const tuned = runCli(cmd, { env: { SRSX_STATE_DIR: mkdtempSync(path.join(os.tmpdir(), 'srsx-state-')) } });
    expect(tuned.stderr).toBe('');
    expect(tuned.code).toBe(0);
  });

  it('host facts name the hypervisor and the container of this machine (systemd-detect-virt, else cpuinfo and the marker files)', () => {
    const r = runCli(['diagnose', '--json', '--interval', '100ms', '--pid', String(process.pid)]);
    expect(r.stderr).toBe('');
    const host = JSON.parse(r.stdout).host;
    const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
    if (/^flags\s*:.*\bhypervisor\b/m.test(cpuinfo)) expect(host.virtualisation).not.toMatch(/bare metal/);
    if (existsSync('/.dockerenv')) expect(host.container).toBe('docker');
    if (hasTool('systemd-detect-virt')) {
      const ask = (flag: string) => spawnSync('systemd-detect-virt', [flag], { encoding: 'utf8' }).stdout.trim();
      expect(host.virtualisationSource).toBe('systemd-detect-virt');
      if (ask('--vm') !== 'none') expect(host.virtualisation).toBe(ask('--vm'));
      if (ask('--container') !== 'none') expect(host.container).toBe(ask('--container'));
    }
  });
});
