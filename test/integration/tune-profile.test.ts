/**
 * Tuning profiles and --persist-file through bin/srsx (issue 17, item 5). Nothing here changes the
 * machine: the dry runs only read /proc/sys, and the apply runs against a copy of a fixture host.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, runCli } from '../helpers/env.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'srsx-tune-profile-'));
const write = (name: string, text: string) => {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
};
const env = () => ({ SRSX_STATE_DIR: mkdtempSync(path.join(os.tmpdir(), 'srsx-state-')) });

describe('srsx tune --profile FILE', () => {
  it('an unknown sysctl key fails at --dry-run (and in check) naming file, line and key, exit 2', () => {
    const f = write('typo.yaml', 'name: typo\ndescription: d\nsysctl:\n  net.core.rmem_max: {value: 16777216, reason: ok}\n  net.core.rmem_maxx: {value: 16777216, reason: a typo}\n');
    for (const args of [['tune', '--profile', f, '--dry-run'], ['tune', 'check', '--profile', f], ['tune', '--profile', f, '--dry-run', '--json']]) {
      const r = runCli(args, { env: env() });
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(new RegExp(`^srsx: error: ${f}:5: unknown sysctl net\\.core\\.rmem_maxx: /proc/sys/net/core/rmem_maxx does not exist`));
      expect(r.stderr).toMatch(/hint: check the spelling/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('a file that is not a YAML profile gives one line with file:line', () => {
    const conf = write('sysctl.conf', 'net.core.rmem_max = 16777216\nnet.core.wmem_max = 16777216\n');
    const broken = write('broken.yaml', 'name: b\ndescription: d\nsysctl:\n  net.core.rmem_max: {value: 1, reason: [\n');
    for (const [f, msg] of [[conf, `${conf}:1: not a tuning profile`], [broken, `${broken}:5:1: not valid YAML`]] as const) {
      const r = runCli(['tune', '--profile', f, '--dry-run'], { env: env() });
      expect(r.code).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines[0]).toContain(`srsx: error: ${msg}`);
      expect(lines).toHaveLength(2); // the error and its hint
      expect(lines[1]).toMatch(/^\s+hint: /);
    }
  });
});

describe('srsx tune --persist-file', () => {
  it('keeps the inline comments of the file it edits, and revert puts the file back as it was', () => {
    const host = mkdtempSync(path.join(os.tmpdir(), 'srsx-host-'));
    cpSync(path.join(REPO, 'test/fixtures/hosts/virtio-2cpu'), host, { recursive: true, verbatimSymlinks: true });
    const original = '# site settings\nnet.core.rmem_max = 212992  # raised for the SFU, ticket 42\nvm.swappiness = 10 # keep low\n';
    const conf = write('sysctl.conf', original);
    const e = { ...env(), SRSX_HOST_ROOT: host };
    const r = runCli(['tune', '--udp', '16M', '--persist-file', conf], { env: e });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const edited = readFileSync(conf, 'utf8');
    expect(edited).toMatch(/^# site settings\nnet\.core\.rmem_max = 16777216  # raised for the SFU, ticket 42\nvm\.swappiness = 10 # keep low\n# srsx tune/);
    expect(edited).toMatch(/\nnet\.core\.wmem_default = 16777216\n$/);
    expect(readFileSync(path.join(host, 'proc/sys/net/core/rmem_max'), 'utf8').trim()).toBe('16777216');
    const rev = runCli(['tune', 'revert'], { env: e });
    expect(rev.code).toBe(0);
    expect(readFileSync(conf, 'utf8')).toBe(original);
  });
});
