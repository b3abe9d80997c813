import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HostRoot } from '../../src/host/root.js';
import { UserError } from '../../src/errors.js';
import { mergeSysctlText } from '../../src/tune/persist.js';
import { parseProfile } from '../../src/tune/profiles.js';
import { checkProfileKeys } from '../../src/tune/request.js';
import { REPO } from '../helpers/env.js';

function refusal(fn: () => unknown): UserError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return err as UserError;
  }
  throw new Error('accepted');
}

describe('tuning profile files', () => {
  const GOOD = 'name: t\ndescription: d\nsysctl:\n  net.core.rmem_max: {value: 16777216, reason: why}\n  net.core.wmem_max:\n    value: 16777216\n    reason: why\n';

  it('a valid profile loads, and knows the line of each setting', () => {
    const s = parseProfile(GOOD, 'my.yaml');
    expect(s.profile.sysctl['net.core.rmem_max']).toEqual({ value: '16777216', reason: 'why' });
    expect(s.lineOf(['sysctl', 'net.core.rmem_max'])).toBe(4);
    expect(s.lineOf(['sysctl', 'net.core.wmem_max'])).toBe(5);
    expect(s.lineOf(['sysctl', 'net.core.wmem_max', 'reason'])).toBe(7);
  });

  it.each([
    ['a sysctl.conf', 'net.core.rmem_max = 16777216\nnet.core.wmem_max = 16777216\n', 'my.yaml:1: not a tuning profile: the file is plain text (a sysctl.conf?), not a YAML mapping'],
    ['an empty file', '', 'my.yaml:1: not a tuning profile: the file is empty, not a YAML mapping'],
    ['a list', '- a\n- b\n', 'my.yaml:1: not a tuning profile: the file is a YAML list, not a YAML mapping'],
    ['broken YAML', 'name: t\ndescription: d\nsysctl:\n  net.core.rmem_max: {value: 1, reason: [\n', /^my\.yaml:5:1: not valid YAML: Flow sequence/],
    ['a tab-indented line', 'name: t\n\tdescription: d\n', /^my\.yaml:2:\d+: not valid YAML: /],
    ['a duplicate key', 'name: t\nname: u\ndescription: d\n', /^my\.yaml:2:1: not valid YAML: Map keys must be unique/],
    ['a number as a reason', 'name: t\ndescription: d\nsysctl:\n  net.core.rmem_max:\n    value: 1\n    reason: 5\n', "my.yaml:6: sysctl.'net.core.rmem_max'.reason: Invalid input: expected string, received number"],
    ['a key that is no sysctl name', 'name: t\ndescription: d\nsysctl:\n  NOT A KEY: {value: 1, reason: x}\n', "my.yaml:4: sysctl.'NOT A KEY': is not a sysctl name (dotted, e.g. net.core.rmem_max)"],
    ['no name', 'description: d\n', 'my.yaml:1: name: is missing'],
  ])('%s: one line starting with file:line, and the format as the hint', (_what, text, message) => {
    const e = refusal(() => parseProfile(text, 'my.yaml'));
    expect(e.exitCode).toBe(2);
    expect(e.message).not.toContain('\n');
    if (typeof message === 'string') expect(e.message).toBe(message);
    else expect(e.message).toMatch(message);
    expect(e.hint).toMatch(/profiles\/rtc\.yaml/);
  });

  it('a sysctl key this kernel does not have is refused naming file, line and key', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'srsx-host-'));
    cpSync(path.join(REPO, 'test/fixtures/hosts/virtio-2cpu'), dir, { recursive: true, verbatimSymlinks: true });
    try {
      const root = new HostRoot(dir);
      const ok = parseProfile(GOOD, 'good.yaml');
      await expect(checkProfileKeys(root, ok, false)).resolves.toBeUndefined();
      const typo = parseProfile(GOOD + '  net.core.rmem_maxx: {value: 1, reason: typo}\n', 'typo.yaml');
      const err = await checkProfileKeys(root, typo, false).then(() => undefined, (e: unknown) => e as UserError);
      expect(err).toBeInstanceOf(UserError);
      expect(err!.exitCode).toBe(2);
      expect(err!.message).toBe('typo.yaml:8: unknown sysctl net.core.rmem_maxx: /proc/sys/net/core/rmem_maxx does not exist on this kernel');
      expect(err!.hint).toMatch(/check the spelling \(sysctl -a \| grep net\.core\)/);
      const inContainer = await checkProfileKeys(root, typo, true).then(() => undefined, (e: unknown) => e as UserError);
      expect(inContainer!.message).toMatch(/or is not visible in this container/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('--persist-file edits', () => {
  it('keep inline comments, a leading "-", other lines and comments', () => {
    const original = [
      '# tuned by ops',
      'net.core.rmem_max = 212992   # raised for the SFU, ticket 42',
      '-net.core.wmem_max=212992 ; optional on old kernels',
      'vm.swappiness = 10 # keep',
      '',
    ].join('\n');
    const merged = mergeSysctlText(original, [{ key: 'net.core.rmem_max', value: '16777216' }, { key: 'net.core.wmem_max', value: '16777216' }]);
    expect(merged.split('\n').slice(0, 4)).toEqual([
      '# tuned by ops',
      'net.core.rmem_max = 16777216   # raised for the SFU, ticket 42',
      '-net.core.wmem_max = 16777216 ; optional on old kernels',
      'vm.swappiness = 10 # keep',
    ]);
    // applied again: the same text (the comments stay, nothing is appended)
    expect(mergeSysctlText(merged, [{ key: 'net.core.rmem_max', value: '16777216' }, { key: 'net.core.wmem_max', value: '16777216' }])).toBe(merged);
  });
});
