import { MAX_DURATION_MS, parseDuration } from '../../src/cli/duration.js';
import { watchFrame } from '../../src/cli/diagnose.js';
import { UserError } from '../../src/errors.js';

function refusal(fn: () => unknown): UserError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return err as UserError;
  }
  throw new Error('accepted');
}

describe('parseDuration', () => {
  it('reads s, ms, m, h and bare seconds', () => {
    expect(parseDuration('30s', '--interval')).toBe(30_000);
    expect(parseDuration('1500ms', '--interval')).toBe(1500);
    expect(parseDuration('5m', '--interval')).toBe(300_000);
    expect(parseDuration('1h', '--interval')).toBe(3_600_000);
    expect(parseDuration('2.5', '--interval')).toBe(2500);
  });

  it.each(['0s', '0', '0ms', '0.0001s'])('refuses %s (a zero interval would spin) with exit 2', (text) => {
    const e = refusal(() => parseDuration(text, '--interval'));
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe(`--interval '${text}' is zero`);
    expect(e.hint).toMatch(/above zero/);
  });

  it.each([
    ['-1s', 'is negative'],
    ['-5', 'is negative'],
    ['abc', 'is not a duration'],
    ['5 s', 'is not a duration'],
    ['1e3', 'is not a duration'],
    ['', 'is not a duration'],
    ['Infinity', 'is not a duration'],
    ['30d', 'is not a duration'],
  ])('refuses %j: %s, exit 2', (text, why) => {
    const e = refusal(() => parseDuration(text, '--interval'));
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe(`--interval '${text}' ${why}`);
  });

  it('refuses what a timer cannot wait (setTimeout fires at once above 2^31-1 ms)', () => {
    expect(parseDuration(`${MAX_DURATION_MS}ms`, '--duration')).toBe(MAX_DURATION_MS);
    expect(refusal(() => parseDuration('600h', '--duration')).message).toMatch(/too long/);
  });

  it('allows 0 where it means something (--settle, --read-interval)', () => {
    expect(parseDuration('0s', '--settle', { allowZero: true })).toBe(0);
    expect(refusal(() => parseDuration('-1s', '--settle', { allowZero: true })).message).toMatch(/negative/);
  });
});

describe('diagnose --watch frames', () => {
  const at = new Date(2026, 0, 1, 12, 0, 0);
  it('redraw the screen on a terminal', () => {
    expect(watchFrame('report\n', at, true)).toMatch(/^\x1b\[2J\x1b\[H.*\(Ctrl-C to stop\)\nreport\n$/);
  });
  it('write no escape code anywhere else: each refresh under a time line', () => {
    const f = watchFrame('report\n', at, false);
    expect(f).not.toMatch(/\x1b/);
    expect(f).toBe(`--- ${at.toLocaleTimeString()} ---\nreport\n`);
  });
});
