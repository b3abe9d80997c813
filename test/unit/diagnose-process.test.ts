import path from 'node:path';
import { nofileFix } from '../../src/diagnose/process.js';
import { HostRoot } from '../../src/host/root.js';
import { cpuinfoHasHypervisor, describeVm, detectVirtualisation } from '../../src/host/virt.js';
import { REPO } from '../helpers/env.js';
import { isServerCommand } from '../../src/host/proc-process.js';
import { hasCapability } from '../../src/host/process.js';

describe('the server by its command line', () => {
  it.each([
    [['node', '/opt/srsx/bin/srsx', 'serve', '-c', 'x.conf'], true],
    [['/usr/bin/node', '--max-semi-space-size=2', '--perf-basic-prof-only-functions', '/opt/srsx/bin/srsx', 'serve'], true],
    [['node', '/opt/srsx/dist/cli/main.js', 'serve'], true],
    [['./objs/srs', '-c', 'conf/srs.conf'], true],
    [['srs'], true],
    [['node', '/opt/srsx/bin/srsx', 'diagnose', 'process'], false],
    [['node', 'node_modules/jest/bin/jest.js', 'test/integration/serve-ffmpeg.test.ts'], false],
    [['nginx: master process /usr/sbin/nginx'], false],
    [['node', 'server.js'], false],
  ])('%j → %s', (argv, yes) => {
    expect(isServerCommand(argv)).toBe(yes);
  });
});

describe('open-files fix', () => {
  const base = { pid: 7, fdsOpen: 900, fdLimitSoft: '1024', fdLimitHard: '524288', nrOpen: 1048576, canRaiseHard: false };
  it('raises the soft limit up to the hard one, which any root can', () => {
    expect(nofileFix(base)).toBe('srsx tune --nofile 100000 --pid 7');
  });
  it('above the hard limit without CAP_SYS_RESOURCE: the hard limit now and the systemd line, not "run as root"', () => {
    const fix = nofileFix({ ...base, fdLimitHard: '4096' });
    expect(fix).toMatch(/^srsx tune --nofile 4096 --pid 7 now/);
    expect(fix).toMatch(/needs CAP_SYS_RESOURCE/);
    expect(fix).toMatch(/LimitNOFILE=100000/);
    expect(fix).not.toMatch(/run as root/);
    expect(nofileFix({ ...base, fdLimitSoft: '4096', fdLimitHard: '4096' })).toMatch(/^raising the hard limit above 4096 needs CAP_SYS_RESOURCE/);
  });
  it('with CAP_SYS_RESOURCE the hard limit is raised too, never above fs.nr_open', () => {
    expect(nofileFix({ ...base, fdLimitHard: '4096', canRaiseHard: true })).toBe('srsx tune --nofile 100000 --pid 7');
    expect(nofileFix({ ...base, fdsOpen: 60000, fdLimitSoft: '65536', fdLimitHard: '65536', nrOpen: 65536, canRaiseHard: true })).toMatch(/^srsx tune --nofile 65536 --pid 7 \(fs.nr_open 65536 is the ceiling/);
  });
  it('reads CAP_SYS_RESOURCE from CapEff', () => {
    expect(hasCapability('CapEff:\t000001fffeffffff\n', 24)).toBe(false); // root in this project's containers
    expect(hasCapability('CapEff:\t000001ffffffffff\n', 24)).toBe(true);
  });
});

describe('host facts: virtualisation and container (fixture trees)', () => {
  const fixture = (name: string) => new HostRoot(path.join(REPO, 'test/fixtures/hosts', name));
  it.each([
    ['virtio-2cpu', 'vm', 'none', 'virtual machine (hypervisor flag)'],
    ['docker-on-kvm', 'kvm', 'docker', 'kvm'],
    ['podman-bare-metal', 'none', 'podman', 'none (bare metal)'],
    ['kubernetes-pod', 'none', 'kubernetes', 'none (bare metal)'],
  ])('%s: vm %s, container %s', async (name, vm, container, phrase) => {
    const v = await detectVirtualisation(fixture(name));
    expect(v).toMatchObject({ vm, container });
    expect(describeVm(v)).toBe(phrase);
  });
  it('reads the hypervisor flag only from the flags line', () => {
    expect(cpuinfoHasHypervisor('flags\t\t: fpu vme hypervisor lahf_lm\n')).toBe(true);
    expect(cpuinfoHasHypervisor('model name\t: hypervisor-ready CPU\nflags\t\t: fpu vme\n')).toBe(false);
  });
});
