import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../../src/errors.js';
import { formatCpuList, parseCpuList, sameCpus } from '../../src/host/cpu-list.js';
import { nicIrqs, parseInterrupts } from '../../src/host/irq.js';
import { HostRoot } from '../../src/host/root.js';
import { applyAll, planItems } from '../../src/tune/apply.js';
import type { TuneItem } from '../../src/tune/item.js';
import { mergeSysctlText, persistSysctls, systemdLines, unpersist } from '../../src/tune/persist.js';
import { mergeState } from '../../src/tune/state.js';
import { existsSync, writeFileSync } from 'node:fs';
import { listProfiles, loadProfile } from '../../src/tune/profiles.js';
import { buildRequest } from '../../src/tune/request.js';
import { parseSize } from '../../src/tune/size.js';
import { REPO } from '../helpers/env.js';

const FIXTURE = path.join(REPO, 'test/fixtures/hosts/virtio-2cpu');

/** A writable copy of the fixture tree (tests never write into the fixture itself). */
function fixtureRoot(): HostRoot {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'srsx-host-'));
  cpSync(FIXTURE, dir, { recursive: true, verbatimSymlinks: true });
  return new HostRoot(dir);
}

describe('sizes and CPU lists', () => {
  it.each([['16M', 16777216], ['16MiB', 16777216], ['512K', 524288], ['16777216', 16777216], ['1g', 1073741824]])('parses %s', (t, n) => {
    expect(parseSize(t)).toBe(n);
  });
  it.each(['16X', '-1', '16.5M', '', 'M', '1T', '100'])('rejects %j naming the accepted forms', (t) => {
    expect(() => parseSize(t)).toThrow(UserError);
    try {
      parseSize(t);
    } catch (e) {
      expect((e as UserError).hint ?? (e as UserError).message).toMatch(/16M|4K/);
    }
  });
  it('normalises CPU lists', () => {
    expect(parseCpuList('0-2,5')).toEqual([0, 1, 2, 5]);
    expect(formatCpuList([5, 0, 1, 2])).toBe('0-2,5');
    expect(sameCpus('0,1', '0-1')).toBe(true);
    expect(() => parseCpuList('a')).toThrow(/not a CPU list/);
    expect(() => parseCpuList('3-1')).toThrow(/backwards/);
  });
});

describe('/proc/interrupts and NIC IRQs (fixture from a virtio VM)', () => {
  it('parses per-CPU counts, chip and names', () => {
    const { cpus, lines } = parseInterrupts(readFileSync(path.join(FIXTURE, 'proc/interrupts'), 'utf8'));
    expect(cpus).toBe(2);
    const input = lines.find((l) => l.name === 'virtio2-input.0')!;
    expect(input.irq).toBe('38');
    expect(input.perCpu).toHaveLength(2);
    expect(input.chip).toMatch(/PCI-MSIX/);
    expect(lines.find((l) => l.irq === 'LOC')!.perCpu).toHaveLength(2);
  });
  it('finds the virtio NIC queue IRQs, not its config vector nor other virtio devices', async () => {
    const irqs = await nicIrqs(fixtureRoot());
    expect(irqs.map((i) => [i.irq, i.nic, i.name])).toEqual([[38, 'eth0', 'virtio2-input.0'], [39, 'eth0', 'virtio2-output.0']]);
  });
});

describe('profiles', () => {
  it('ships rtc, live and low-latency, each valid, rtc being the guide\'s 16 MB buffers', () => {
    expect(listProfiles().map((p) => p.name)).toEqual(['live', 'low-latency', 'rtc']);
    const rtc = loadProfile('rtc');
    expect(Object.fromEntries(Object.entries(rtc.sysctl).map(([k, v]) => [k, v.value]))).toEqual({
      'net.core.rmem_max': '16777216', 'net.core.rmem_default': '16777216', 'net.core.wmem_max': '16777216', 'net.core.wmem_default': '16777216',
    });
  });
  it('names the known profiles when one is missing', () => {
    expect(() => loadProfile('nope')).toThrow(/no tuning profile 'nope'/);
  });
});

describe('plan, apply, roll back (fixture host)', () => {
  it('plans --udp 16M against the fixture values and applies it', async () => {
    const root = fixtureRoot();
    const req = await buildRequest(root, { udp: '16M' });
    const plan = await planItems(req.items);
    expect(plan.map((p) => [p.setting, p.change])).toEqual([
      ['net.core.rmem_max', true], ['net.core.rmem_default', true], ['net.core.wmem_max', true], ['net.core.wmem_default', true],
    ]);
    const saved: unknown[] = [];
    const r = await applyAll(req.items, plan, async (c) => void saved.push(c));
    expect(r.ok).toBe(true);
    expect(saved).toHaveLength(1);
    expect((await root.read('/proc/sys/net/core/rmem_default')).trim()).toBe('16777216');
  });

  it('is all or nothing: a failing item rolls back the ones before it', async () => {
    const root = fixtureRoot();
    const before = (await root.read('/proc/sys/net/core/rmem_max')).trim();
    const req = await buildRequest(root, { udp: '8M' });
    const failing: TuneItem = { id: 'x', setting: 'x', target: '1', reason: 'test', read: async () => '0', matches: () => false, apply: async () => { throw new Error('kernel said no'); }, undo: async () => {} };
    const items = [...req.items.slice(0, 2), failing, ...req.items.slice(2)];
    const plan = await planItems(items);
    const r = await applyAll(items, plan, async () => {});
    expect(r.ok).toBe(false);
    expect(r.results.map((x) => x.outcome)).toEqual(['rolled back', 'rolled back', 'failed', 'not run', 'not run']);
    expect(r.results[2]!.error).toBe('kernel said no');
    expect((await root.read('/proc/sys/net/core/rmem_max')).trim()).toBe(before);
  });

  it('a rollback that fails is reported as \'rollback failed\' and returned as still changed', async () => {
    const root = fixtureRoot();
    const req = await buildRequest(root, { udp: '8M' });
    const stuck: TuneItem = { ...req.items[1]!, undo: async () => { throw new Error('kernel said no again'); } };
    const failing: TuneItem = { id: 'x', setting: 'x', target: '1', reason: 'test', read: async () => '0', matches: () => false, apply: async () => { throw new Error('kernel said no'); }, undo: async () => {} };
    const items = [req.items[0]!, stuck, failing];
    const plan = await planItems(items);
    const r = await applyAll(items, plan, async () => {});
    expect(r.ok).toBe(false);
    expect(r.rollbackFailed).toBe(true);
    expect(r.results.map((x) => x.outcome)).toEqual(['rolled back', 'rollback failed', 'failed']);
    expect(r.results[1]!.error).toMatch(/still 8388608: kernel said no again/);
    expect(r.changed).toEqual([{ id: 'sysctl:net.core.rmem_default', previous: plan[1]!.current }]);
  });

  it('--nofile 0 and 1 are refused before anything is read', async () => {
    const root = fixtureRoot();
    await expect(buildRequest(root, { nofile: '0', pid: '999999' })).rejects.toThrow(/--nofile 0 would leave the process unable to open a file/);
    await expect(buildRequest(root, { nofile: '1' })).rejects.toThrow(/--nofile 1 would leave/);
  });

  it('--softirq-cpu pins the NIC IRQs and moves the process off that CPU', async () => {
    const root = fixtureRoot();
    const req = await buildRequest(root, { softirqCpu: '0' });
    expect(req.items.map((i) => [i.id, i.target])).toEqual([['irq:38', '0'], ['irq:39', '0']]);
    expect(req.notes.join()).toMatch(/process settings skipped/);
  });

  it('refuses bad pids, nice values and CPUs with one clear line', async () => {
    const root = fixtureRoot();
    await expect(buildRequest(root, { nice: '5', pid: '999999' })).rejects.toThrow(/no process with pid 999999/);
    await expect(buildRequest(root, { nice: '25', pid: '1' })).rejects.toThrow(/--nice 25 is out of range/);
    await expect(buildRequest(root, { cpus: '64', pid: '1' })).rejects.toThrow(/CPU 64 does not exist/);
    await expect(buildRequest(root, { nice: '1', pidfile: '/nope.pid' })).rejects.toThrow(/pid file \/nope.pid does not exist/);
    await expect(buildRequest(root, {})).rejects.toThrow(/nothing to tune/);
  });
});

describe('persistence', () => {
  it('changes only srsx\'s keys in an existing sysctl.conf and keeps the rest', () => {
    const original = '# kernel settings\nvm.swappiness = 10\nnet.core.rmem_max=212992\n\n# end\n';
    const merged = mergeSysctlText(original, [{ key: 'net.core.rmem_max', value: '16777216' }, { key: 'net.core.wmem_max', value: '16777216' }]);
    expect(merged).toContain('# kernel settings\nvm.swappiness = 10\nnet.core.rmem_max = 16777216\n\n# end\n# srsx tune');
    expect(merged.trim().endsWith('net.core.wmem_max = 16777216')).toBe(true);
    expect(mergeSysctlText(merged, [{ key: 'net.core.wmem_max', value: '1' }]).match(/net.core.wmem_max/g)).toHaveLength(1);
  });
  it('a second apply keeps each setting\'s original value and adds the new ones', () => {
    const first = mergeState(undefined, 'srsx tune --udp 8M', [{ id: 'sysctl:a', setting: 'a', previous: '1', target: '8' }], 't1');
    const second = mergeState(first, 'srsx tune --udp 16M', [{ id: 'sysctl:a', setting: 'a', previous: '8', target: '16' }, { id: 'sysctl:b', setting: 'b', previous: '2', target: '16' }], 't2');
    expect(second.changes).toEqual([{ id: 'sysctl:a', setting: 'a', previous: '1', target: '16' }, { id: 'sysctl:b', setting: 'b', previous: '2', target: '16' }]);
    expect(second.appliedAt).toBe('t1');
    expect(second.commands).toEqual(['srsx tune --udp 8M', 'srsx tune --udp 16M']);
    // the same pid number but another process (another start time): the stale entry is replaced
    const p1 = mergeState(undefined, 'c1', [{ id: 'pid:5:nice', setting: 'n', previous: '0', target: '5', processStart: '100' }]);
    expect(mergeState(p1, 'c2', [{ id: 'pid:5:nice', setting: 'n', previous: '3', target: '5', processStart: '200' }]).changes[0]!.previous).toBe('3');
  });
  it('--persist twice keeps the first backup; unpersist restores it, or removes a file srsx created', () => {
    const dir = fixtureRoot().root;
    const file = path.join(dir, 'sysctl.conf');
    writeFileSync(file, 'vm.swappiness = 10\n');
    const first = persistSysctls([{ key: 'net.core.rmem_max', value: '8' }], file);
    expect(first).toEqual({ file, backup: `${file}.srsx-backup`, created: false });
    persistSysctls([{ key: 'net.core.rmem_max', value: '16' }], file, first);
    expect(readFileSync(`${file}.srsx-backup`, 'utf8')).toBe('vm.swappiness = 10\n');
    expect(unpersist(first)).toMatch(/restored/);
    expect(readFileSync(file, 'utf8')).toBe('vm.swappiness = 10\n');
    const fresh = path.join(dir, '90-srsx.conf');
    const made = persistSysctls([{ key: 'net.core.rmem_max', value: '8' }], fresh);
    expect(made.created).toBe(true);
    expect(unpersist(made)).toMatch(/removed/);
    expect(existsSync(fresh)).toBe(false);
  });
  it('prints systemd lines for process settings', () => {
    expect(systemdLines({ cpus: '1-3', nice: -10, nofile: 100000 })).toEqual(['CPUAffinity=1-3', 'Nice=-10', 'LimitNOFILE=100000']);
  });
});
