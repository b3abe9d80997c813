import { UserError } from '../errors.js';

/** The longest duration a timer can wait (setTimeout fires at once above 2^31-1 ms). */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/**
 * Parses '30s', '5m', '1500ms', '1h' or a bare number of seconds into milliseconds. Zero is refused
 * unless `allowZero` (an interval of 0 would spin; a 0 s duration would do nothing), and so is
 * anything negative, not a number, or longer than a timer can wait (24.8 days).
 */
export function parseDuration(text: string, flag: string, opts: { allowZero?: boolean } = {}): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  const examples = `use e.g. 30s, 5m, 1500ms or a number of seconds${opts.allowZero ? ' (0 allowed)' : ''}`;
  if (!m) {
    const why = /^-/.test(text.trim()) ? 'is negative' : 'is not a duration';
    throw new UserError(`${flag} '${text}' ${why}`, { hint: examples });
  }
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const ms = Math.round(n * (unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000));
  if (ms === 0 && !opts.allowZero) throw new UserError(`${flag} '${text}' is zero`, { hint: `give a time above zero: ${examples}` });
  if (ms > MAX_DURATION_MS) throw new UserError(`${flag} '${text}' is too long (at most 24 days)`, { hint: examples });
  return ms;
}

export function parseCount(text: string, flag: string, min = 1, max = 1_000_000): number {
  if (!/^\d+$/.test(text.trim())) throw new UserError(`${flag} '${text}' is not a whole number`, { hint: `give a number from ${min} to ${max}` });
  const n = Number(text);
  if (n < min || n > max) throw new UserError(`${flag} ${n} is out of range`, { hint: `give a number from ${min} to ${max}` });
  return n;
}
