import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { itIf, runCli } from '../helpers/env.js';

const itRoot = itIf({ root: true, tools: ['sysctl', 'taskset', 'renice', 'prlimit'] });
const KEYS = ['net.core.rmem_max', 'net.core.rmem_default', 'net.core.wmem_max', 'net.core.wmem_default'];
const sysctl = (k: string) => execFileSync('sysctl', ['-n', k]).toString().trim();
const snapshot = () => Object.fromEntries(KEYS.map((k) => [k, sysctl(k)]));
function restore(values: Record<string, string>) {
  for (const [k, v] of Object.entries(values)) execFileSync('sysctl', ['-q', '-w', `${k}=${v}`]);
}

describe('srsx tune on the real kernel', () => {
  const env = { SRSX_STATE_DIR: mkdtempSync(path.join(os.tmpdir(), 'srsx-state-')) };

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
      const r = runCli(['tune', '--udp', '16M', '--persist-file', file], { env });
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
});
