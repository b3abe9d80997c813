import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { itIf, REPO, runCli, SRSX_BIN } from '../helpers/env.js';
import { stopAfterEach, waitExit } from '../helpers/serve.js';

const itRoot = itIf({ root: true, tools: ['sysctl', 'taskset', 'renice', 'prlimit'] });
const KEYS = ['net.core.rmem_max', 'net.core.rmem_default', 'net.core.wmem_max', 'net.core.wmem_default'];
const sysctl = (k: string) => execFileSync('sysctl', ['-n', k]).toString().trim();
const snapshot = () => Object.fromEntries(KEYS.map((k) => [k, sysctl(k)]));
function restore(values: Record<string, string>) {
  for (const [k, v] of Object.entries(values)) execFileSync('sysctl', ['-q', '-w', `${k}=${v}`]);
}

/** A state directory of its own for each test (a test's leftover state must not merge into the next). */
const freshEnv = () => ({ SRSX_STATE_DIR: mkdtempSync(path.join(os.tmpdir(), 'srsx-state-')) });
const statePath = (env: { SRSX_STATE_DIR: string }) => path.join(env.SRSX_STATE_DIR, 'tune-state.json');
const nofileOf = (pid: number) => /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'))!.slice(1, 3);
/** CAP_SYS_RESOURCE (bit 24 of CapEff): root in a container often lacks it, and then no hard limit can be raised. */
const canRaiseHard = ((BigInt(`0x${/^CapEff:\s+(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]}`) >> 24n) & 1n) === 1n;

describe('srsx tune on the real kernel', () => {
  const env = freshEnv();
  const started = stopAfterEach();

  itRoot('--dry-run changes nothing; apply sets the UDP buffers; check passes; revert restores them exactly', () => {
    const before = snapshot();
    try {
      const dry = runCli(['tune', '--udp', '16M', '--dry-run', '--json'], { env });
      expect(dry.code).toBe(0);
      expect(JSON.parse(dry.stdout).plan).toHaveLength(4);
      expect(snapshot()).toEqual(before);

      const apply = runCli(['tune', '--udp', '16M', '--json'], { env });
      expect(apply.stderr).toBe('');
      expect(apply.code).toBe(0);
      for (const k of KEYS) expect(sysctl(k)).toBe('16777216');
      expect(runCli(['tune', 'check', '--profile', 'rtc'], { env }).code).toBe(0);
      expect(runCli(['tune', 'check', '--udp', '8M'], { env }).code).toBe(1);

      const revert = runCli(['tune', 'revert', '--json'], { env });
      expect(revert.code).toBe(0);
      expect(snapshot()).toEqual(before);
    } finally {
      restore(before);
    }
  });

  itRoot('all or nothing: a value the kernel refuses rolls back the others', () => {
    const before = snapshot();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'srsx-prof-'));
    const profile = path.join(dir, 'bad.yaml');
    writeFileSync(profile, 'name: bad\ndescription: test\nsysctl:\n  net.core.rmem_max:\n    value: 8388608\n    reason: t\n  net.core.rmem_default:\n    value: not-a-number\n    reason: t\n');
    try {
      const r = runCli(['tune', '--profile', profile, '--json'], { env });
      expect(r.code).toBe(3);
      const out = JSON.parse(r.stdout);
      expect(out.ok).toBe(false);
      expect(out.results.map((x: { outcome: string }) => x.outcome)).toEqual(['rolled back', 'failed']);
      expect(out.results[1].error).toMatch(/kernel rejected/);
      expect(snapshot()).toEqual(before);
    } finally {
      restore(before);
    }
  });

  itRoot('--persist-file changes only srsx\'s keys and keeps every other line', () => {
    const before = snapshot();
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'srsx-persist-')), 'sysctl.conf');
    writeFileSync(file, '# mine\nvm.swappiness=10\nnet.core.rmem_max = 1\n');
    try {
      const r = runCli(['tune', '--udp', '16M', '--persist-file', file], { env: freshEnv() });
      expect(r.code).toBe(0);
      const text = readFileSync(file, 'utf8');
      expect(text.startsWith('# mine\nvm.swappiness=10\nnet.core.rmem_max = 16777216\n')).toBe(true);
      expect(text).toMatch(/net.core.wmem_default = 16777216\n$/);
      expect(readFileSync(`${file}.srsx-backup`, 'utf8')).toBe('# mine\nvm.swappiness=10\nnet.core.rmem_max = 1\n');
    } finally {
      restore(before);
    }
  });

  itRoot('--cpus, --nice and --nofile on a running process, then revert', async () => {
    const child = spawn('sleep', ['60']);
    const pid = child.pid!;
    const status = () => readFileSync(`/proc/${pid}/status`, 'utf8');
    const nice = () => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16];
    const nofile = () => /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'))!.slice(1, 3);
    try {
      const cpusBefore = /Cpus_allowed_list:\s+(\S+)/.exec(status())![1];
      const nofileBefore = nofile();
      const r = runCli(['tune', '--cpus', '0', '--nice', '7', '--nofile', '4321', '--pid', String(pid)], { env });
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/CPUAffinity=0/);
      expect(/Cpus_allowed_list:\s+(\S+)/.exec(status())![1]).toBe('0');
      expect(nice()).toBe('7');
      expect(nofile()[0]).toBe('4321');
      expect(runCli(['tune', 'revert'], { env }).code).toBe(0);
      expect(/Cpus_allowed_list:\s+(\S+)/.exec(status())![1]).toBe(cpusBefore);
      expect(nice()).toBe('0');
      expect(nofile()).toEqual(nofileBefore);
    } finally {
      child.kill('SIGKILL');
    }
  });

  itRoot('pins a real NIC IRQ and puts its affinity back', () => {
    const irqs = JSON.parse(runCli(['tune', '--irq-cpus', '0', '--dry-run', '--json'], { env }).stdout).plan as Array<{ id: string; current: string }>;
    expect(irqs.length).toBeGreaterThan(0);
    const irq = irqs[0]!.id.split(':')[1]!;
    const file = `/proc/irq/${irq}/smp_affinity_list`;
    const before = readFileSync(file, 'utf8').trim();
    try {
      const r = runCli(['tune', '--irq-cpus', '0'], { env });
      expect(r.code).toBe(0);
      expect(readFileSync(file, 'utf8').trim()).toBe('0');
      expect(runCli(['tune', 'revert'], { env }).code).toBe(0);
      expect(readFileSync(file, 'utf8').trim()).toBe(before);
    } finally {
      writeFileSync(file, before);
    }
  });

  it('answers bad input with one line and exit 2', () => {
    for (const [args, msg] of [
      [['tune', '--udp', '16X'], /--udp '16X' is not a size/],
      [['tune', '--nice', '1', '--pid', '999999'], /no process with pid 999999/],
      [['tune', '--profile', 'nope'], /no tuning profile 'nope'/],
    ] as const) {
      const r = runCli([...args], { env });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  itRoot('a rollback that fails is reported as such, its state kept, and revert finishes the job once the cause is gone', async () => {
    // the host root is a copy of the fixture tree whose net.core.rmem_default is the setgroups file of a
    // process in a new user namespace: the kernel takes "deny" once and then refuses "allow" (EPERM)
    const userns = started.add(spawn('unshare', ['-U', 'sleep', '60'], { stdio: 'ignore' }));
    await new Promise((r) => setTimeout(r, 200));
    const hostDir = mkdtempSync(path.join(os.tmpdir(), 'srsx-host-'));
    cpSync(path.join(REPO, 'test/fixtures/hosts/virtio-2cpu'), hostDir, { recursive: true, verbatimSymlinks: true });
    const setgroups = `/proc/${userns.pid}/setgroups`;
    expect(readFileSync(setgroups, 'utf8').trim()).toBe('allow');
    const rmemDefault = path.join(hostDir, 'proc/sys/net/core/rmem_default');
    rmSync(rmemDefault);
    symlinkSync(setgroups, rmemDefault);
    const rmemMax = readFileSync(path.join(hostDir, 'proc/sys/net/core/rmem_max'), 'utf8');
    // the third setting exists but the kernel refuses the write (a read-only /proc/sys file, EACCES even
    // for root): an unknown key would be refused before the plan, so it could not trigger the rollback
    mkdirSync(path.join(hostDir, 'proc/sys/net/nope'), { recursive: true });
    symlinkSync('/proc/sys/kernel/ngroups_max', path.join(hostDir, 'proc/sys/net/nope/readonly'));
    const profile = path.join(hostDir, 'p.yaml');
    writeFileSync(profile, 'name: p\ndescription: t\nsysctl:\n  net.core.rmem_max: {value: 16777216, reason: t}\n  net.core.rmem_default: {value: deny, reason: t}\n  net.nope.readonly: {value: 1, reason: t}\n');
    const e = { ...freshEnv(), SRSX_HOST_ROOT: hostDir };

    const r = runCli(['tune', '--profile', profile], { env: e });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/FAILED, and the rollback failed: 1 setting\(s\) still changed/);
    expect(r.stdout).not.toMatch(/nothing was left changed/);
    expect(r.stdout).toMatch(/rollback failed/);
    expect(r.stdout).toMatch(/srsx tune revert/);
    expect(readFileSync(path.join(hostDir, 'proc/sys/net/core/rmem_max'), 'utf8')).toBe(rmemMax); // rolled back
    expect(readFileSync(setgroups, 'utf8').trim()).toBe('deny'); // could not be
    const state = JSON.parse(readFileSync(statePath(e), 'utf8'));
    expect(state.changes).toEqual([expect.objectContaining({ id: 'sysctl:net.core.rmem_default', previous: 'allow', target: 'deny' })]);

    // revert while the cause persists: fails, says so, keeps the state
    const again = runCli(['tune', 'revert', '--json'], { env: e });
    expect(again.code).toBe(3);
    expect(JSON.parse(again.stdout).results[0]).toMatchObject({ outcome: 'failed' });
    expect(existsSync(statePath(e))).toBe(true);

    // the operator fixes the cause (here: the setting is an ordinary file again): revert completes
    rmSync(rmemDefault);
    writeFileSync(rmemDefault, 'deny\n');
    const done = runCli(['tune', 'revert'], { env: e });
    expect(done.code).toBe(0);
    expect(readFileSync(rmemDefault, 'utf8').trim()).toBe('allow');
    expect(existsSync(statePath(e))).toBe(false);
  });

  itRoot('revert restores the sysctls when the process of a process setting has exited (reported and skipped)', async () => {
    const before = snapshot();
    const e = freshEnv();
    const child = started.add(spawn('sleep', ['60'], { stdio: 'ignore' }));
    try {
      const r = runCli(['tune', '--udp', '8M', '--nice', '5', '--pid', String(child.pid)], { env: e });
      expect(r.code).toBe(0);
      expect(sysctl('net.core.rmem_max')).toBe('8388608');
      child.kill('SIGKILL');
      await waitExit(child, 5000);
      const rev = runCli(['tune', 'revert'], { env: e });
      expect(rev.stderr).toBe('');
      expect(rev.code).toBe(0);
      expect(rev.stdout).toMatch(new RegExp(`process ${child.pid} has exited`));
      expect(snapshot()).toEqual(before);
      expect(existsSync(statePath(e))).toBe(false);
    } finally {
      restore(before);
    }
  });

  itRoot('a second apply keeps the original values: revert returns to the host before the first apply', () => {
    const before = snapshot();
    const e = freshEnv();
    try {
      expect(runCli(['tune', '--udp', '8M'], { env: e }).code).toBe(0);
      expect(runCli(['tune', '--udp', '16M'], { env: e }).code).toBe(0);
      expect(sysctl('net.core.rmem_default')).toBe('16777216');
      const rev = runCli(['tune', 'revert', '--json'], { env: e });
      expect(rev.code).toBe(0);
      expect(snapshot()).toEqual(before);
      expect(JSON.parse(rev.stdout).commands).toEqual(['srsx tune --udp 8M', 'srsx tune --udp 16M']);
    } finally {
      restore(before);
    }
  });

  itRoot('revert undoes --persist: a file srsx created is removed, an existing one restored from its backup', () => {
    const before = snapshot();
    const e = freshEnv();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'srsx-persist-'));
    const mine = path.join(dir, 'sysctl.conf');
    const created = path.join(dir, '90-srsx.conf');
    const original = '# mine\nvm.swappiness=10\nnet.core.rmem_max = 1\n';
    writeFileSync(mine, original);
    try {
      expect(runCli(['tune', '--udp', '8M', '--persist-file', mine], { env: e }).code).toBe(0);
      // a second apply and persist must not take the first one's file for the original
      expect(runCli(['tune', '--udp', '16M', '--persist-file', mine], { env: e }).code).toBe(0);
      expect(runCli(['tune', '--udp', '16M', '--persist-file', created], { env: e }).code).toBe(0);
      expect(readFileSync(mine, 'utf8')).toMatch(/net.core.rmem_max = 16777216/);
      expect(readFileSync(created, 'utf8')).toMatch(/net.core.rmem_max = 16777216/);
      const dry = runCli(['tune', 'revert', '--dry-run'], { env: e });
      expect(dry.stdout).toContain(`would restore ${mine} from ${mine}.srsx-backup`);
      expect(dry.stdout).toContain(`would remove ${created}`);
      const rev = runCli(['tune', 'revert'], { env: e });
      expect(rev.code).toBe(0);
      expect(readFileSync(mine, 'utf8')).toBe(original);
      expect(existsSync(`${mine}.srsx-backup`)).toBe(false);
      expect(existsSync(created)).toBe(false);
      expect(snapshot()).toEqual(before);
    } finally {
      restore(before);
    }
  });

  itRoot('--nofile is checked against the open descriptors, fs.nr_open and the hard limit (CAP_SYS_RESOURCE)', () => {
    const child = started.add(spawn('prlimit', ['--nofile=1024:4096', 'sleep', '60'], { stdio: 'ignore' }));
    execFileSync('sh', ['-c', `for i in $(seq 50); do grep -q 4096 /proc/${child.pid}/limits 2>/dev/null && exit 0; sleep 0.05; done; exit 1`]);
    const pid = String(child.pid);
    const e = freshEnv();
    const nrOpen = Number(readFileSync('/proc/sys/fs/nr_open', 'utf8'));
    const open = readdirSync(`/proc/${pid}/fd`).length;
    for (const [n, msg] of [['0', /unable to open a file/], ['1', /unable to open a file/], [String(open), new RegExp(`already has ${open} descriptors open`)], [String(nrOpen + 1), new RegExp(`above fs.nr_open \\(${nrOpen}\\)`)]] as const) {
      const r = runCli(['tune', '--nofile', n, '--pid', pid], { env: e });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.trim().split('\n')).toHaveLength(2); // the error and its hint
    }
    const above = runCli(['tune', '--nofile', '8192', '--pid', pid], { env: e });
    if (canRaiseHard) {
      expect(above.code).toBe(0);
      expect(nofileOf(child.pid!)).toEqual(['8192', '8192']);
    } else {
      expect(above.code).toBe(2);
      expect(above.stderr).toMatch(/above pid \d+'s hard limit 4096, and raising a hard limit needs CAP_SYS_RESOURCE/);
      expect(above.stderr).toMatch(/LimitNOFILE=8192/);
      expect(nofileOf(child.pid!)).toEqual(['1024', '4096']);
      expect(runCli(['tune', '--nofile', '4096', '--pid', pid], { env: e }).code).toBe(0);
      expect(nofileOf(child.pid!)).toEqual(['4096', '4096']);
    }
  });

  it('writing to a closed pipe (srsx tune … | head -1) exits quietly, without a stack trace', async () => {
    for (const args of [['tune', 'profiles'], ['tune', '--udp', '16M', '--dry-run']]) {
      const c = spawn(process.execPath, [SRSX_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      c.stdout!.destroy(); // the reader is gone before the first write
      let err = '';
      c.stderr!.on('data', (d) => (err += d));
      const code = await waitExit(c, 30_000);
      expect(err).toBe('');
      expect(code).toBe(0);
    }
  });
});
