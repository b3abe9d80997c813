/**
 * SRS's environment overrides: every getter first looks at `srs_getenv("srs.a.b")`, which
 * upper-cases the key and maps `.` to `_` (so `srs.vhost.play.mw_latency` is
 * SRS_VHOST_PLAY_MW_LATENCY). A non-empty value wins over the file; `SRS_VHOST_*` apply to every
 * vhost. `$NAME` values (SRS: `candidate $CANDIDATE`) are read from the environment.
 */
export type Env = Record<string, string | undefined>;

/** 'srs.vhost.play.mw_latency' → 'SRS_VHOST_PLAY_MW_LATENCY' */
export function envName(key: string): string {
  return key.replace(/^\$/, '').toUpperCase().replace(/\./g, '_');
}

/**
 * Every SRS_* name a config build looked up (so the loader can warn about the SRS_* variables
 * in the environment srsx never reads: a typo, or an SRS setting srsx does not implement).
 */
export const queriedEnvNames = new Set<string>();

/** The override for `key`, or '' when unset or empty (as SRS treats it). */
export function envValue(env: Env, key: string): string {
  const name = envName(key);
  queriedEnvNames.add(name);
  return env[name] ?? '';
}

const DOLLAR = /^\$([A-Za-z_][A-Za-z0-9_]*)$/;

/**
 * Expands a whole-argument `$NAME` from env. SRS does this for `candidate` (falling back to `*`
 * when unset); srsx does it for any value and leaves the text unchanged when NAME is unset
 * (except candidate, which falls back to `*` like SRS).
 */
export function expandDollar(value: string, env: Env, fallback?: string): string {
  const m = DOLLAR.exec(value);
  if (!m) return value;
  const v = env[m[1]!];
  if (v !== undefined && v !== '') return v;
  return fallback ?? value;
}
