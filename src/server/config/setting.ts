/**
 * One setting's raw text and where it came from, for the config builders' messages: an SRS_*
 * override wins over the file's directive (SRS's srs_getenv rule, see env.ts).
 */
import { UserError } from '../../errors.js';
import { arg0, atCol, type Directive } from './directive.js';
import { envName, envValue, type Env } from './env.js';

export interface Setting {
  value: string;
  /** `env SRS_…` or `file:line:col: name` */
  where: string;
}

/** The first non-empty override among `keys` (SRS key form, `srs.vhost.hls.hls_fragment`). */
export function settingFromEnv(env: Env, keys: readonly string[]): Setting | undefined {
  for (const k of keys) {
    const v = envValue(env, k);
    if (v) return { value: v, where: `env ${envName(k)}` };
  }
  return undefined;
}

/** The directive's first argument, when it has one. */
export function settingFromDirective(d: Directive | undefined): Setting | undefined {
  if (!d || arg0(d) === '') return undefined;
  return { value: arg0(d), where: `${atCol(d.pos)}: ${d.name}` };
}

/** The override for `key`, else the directive. */
export function readSetting(env: Env, key: string, d: Directive | undefined): Setting | undefined {
  return settingFromEnv(env, [key]) ?? settingFromDirective(d);
}

/** A setting whose value is wrong: the message names where it came from and what it was. */
export function badSetting(src: Setting, detail: string): never {
  throw new UserError(`${src.where}: ${detail}, got '${src.value}'`);
}
