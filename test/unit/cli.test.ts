import { runCli } from '../helpers/env.js';

describe('srsx CLI', () => {
  it('lists every subcommand in --help', () => {
    const r = runCli(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['tune', 'diagnose', 'serve', 'bench', 'profile', 'publish', 'play']) {
      expect(r.stdout).toMatch(new RegExp(`^\\s+${cmd}\\b`, 'm'));
    }
  });

  it('rejects an unknown command with exit 2 and no stack trace', () => {
    const r = runCli(['no-such-command']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'no-such-command'");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
