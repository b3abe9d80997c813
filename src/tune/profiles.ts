import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { UserError } from '../errors.js';

/** A tuning profile: plain data (YAML in profiles/), validated here. */
export const ProfileSchema = z.object({
  name: z.string(),
  description: z.string(),
  sysctl: z.record(z.string().regex(/^[a-z0-9_]+(\.[a-z0-9_-]+)+$/i), z.object({ value: z.union([z.string(), z.number()]).transform(String), reason: z.string() })).default({}),
  process: z
    .object({
      nice: z.number().int().min(-20).max(19).optional(),
      nofile: z.number().int().positive().optional(),
      reason: z.string().optional(),
    })
    .default({}),
});
export type Profile = z.infer<typeof ProfileSchema>;

export const PROFILES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../profiles');

export function listProfiles(): Profile[] {
  return readdirSync(PROFILES_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => loadProfile(path.join(PROFILES_DIR, f)));
}

/** A profile by name (profiles/NAME.yaml) or by path. */
export function loadProfile(nameOrPath: string): Profile {
  const file = nameOrPath.includes('/') || nameOrPath.endsWith('.yaml') ? nameOrPath : path.join(PROFILES_DIR, `${nameOrPath}.yaml`);
  if (!existsSync(file)) {
    const known = existsSync(PROFILES_DIR) ? readdirSync(PROFILES_DIR).filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/\.yaml$/, '')) : [];
    throw new UserError(`no tuning profile '${nameOrPath}'`, { hint: `known profiles: ${known.join(', ')} (srsx tune profiles), or give a path to a YAML file` });
  }
  let data: unknown;
  try {
    data = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UserError(`${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const r = ProfileSchema.safeParse(data);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new UserError(`${file}: ${issue.path.join('.') || '(top)'}: ${issue.message}`, { hint: 'see profiles/rtc.yaml for the format' });
  }
  return r.data;
}
