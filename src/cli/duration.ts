import { UserError } from '../errors.js';

/** Parses '30s', '5m', '1500ms', '1h' or a bare number of seconds into milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UserError(`${flag} '${text}' is not a duration`, { hint: `use e.g. 30s, 5m, 1500ms or a number of seconds` });
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return Math.round(n * (unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000));
}

export function parseCount(text: string, flag: string, min = 1, max = 1_000_000): number {
  if (!/^\d+$/.test(text.trim())) throw new UserError(`${flag} '${text}' is not a whole number`, { hint: `give a number from ${min} to ${max}` });
  const n = Number(text);
  if (n < min || n > max) throw new UserError(`${flag} ${n} is out of range`, { hint: `give a number from ${min} to ${max}` });
  return n;
}
