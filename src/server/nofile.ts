/**
 * max_connections against the open-files limit, SRS's check_number_connections: SRS refuses to
 * start when max_connections + 128 (fds reserved for listeners, logs, files) reaches the soft
 * RLIMIT_NOFILE. srsx first raises its own soft limit up to the hard limit (`prlimit --pid`,
 * which needs no privilege below the hard limit: Node has no setrlimit), and refuses only when
 * even the hard limit is too small.
 */
import { UserError } from '../errors.js';
import { readProcessSettings, setProcessNofile } from '../host/process.js';
import { hostRoot } from '../host/root.js';

/** fds SRS keeps aside beyond max_connections */
export const RESERVED_FDS = 128;

export type NofilePlan =
  | { action: 'ok'; need: number }
  | { action: 'raise'; need: number; to: number }
  | { action: 'refuse'; need: number };

const asNumber = (v: string) => (v === 'unlimited' ? Infinity : Number(v));

/** Pure: what to do for `maxConnections` under a soft/hard limit ('unlimited' or a number). */
export function planNofile(maxConnections: number, soft: string, hard: string): NofilePlan {
  const need = maxConnections + RESERVED_FDS;
  if (need < asNumber(soft)) return { action: 'ok', need };
  const h = asNumber(hard);
  if (need < h) return { action: 'raise', need, to: Number.isFinite(h) ? h : need + 1 };
  return { action: 'refuse', need };
}

function refuse(maxConnections: number, need: number, limit: string, why = ''): UserError {
  return new UserError(`max_connections ${maxConnections} needs ${need} open files (${RESERVED_FDS} reserved, as SRS), but the limit is ${limit}${why}`, {
    hint: `raise the limit (ulimit -HSn ${Math.max(10_000, maxConnections * 10)}, or LimitNOFILE= in the systemd unit; srsx tune --nofile N --pid PID for a running one), or lower max_connections below ${Math.max(1, asNumber(limit) - RESERVED_FDS)}`,
  });
}

/**
 * Makes this process's soft limit fit max_connections, or throws a UserError. Returns a line for the
 * log when the limit was raised.
 */
export async function ensureNofile(maxConnections: number, pid = process.pid): Promise<string | undefined> {
  const root = hostRoot();
  const before = await readProcessSettings(root, pid);
  const plan = planNofile(maxConnections, before.nofileSoft, before.nofileHard);
  if (plan.action === 'ok') return undefined;
  if (plan.action === 'refuse') throw refuse(maxConnections, plan.need, `${before.nofileSoft} (hard ${before.nofileHard})`);
  try {
    await setProcessNofile(pid, String(plan.to), before.nofileHard);
  } catch (err) {
    throw refuse(maxConnections, plan.need, before.nofileSoft, ` and raising it failed: ${(err as Error).message}`);
  }
  const after = await readProcessSettings(root, pid);
  if (asNumber(after.nofileSoft) <= plan.need) throw refuse(maxConnections, plan.need, after.nofileSoft, ' (raising it did not take)');
  return `open-files limit raised from ${before.nofileSoft} to ${after.nofileSoft} for max_connections ${maxConnections} (+${RESERVED_FDS} reserved)`;
}
