import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
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

/** A loaded profile and where it came from: its file, and the line of each of its settings. */
export interface ProfileSource {
  profile: Profile;
  file: string;
  /** 1-based line of a path in the file (e.g. ['sysctl', 'net.core.rmem_max']), when it is there */
  lineOf(path: ReadonlyArray<string | number>): number | undefined;
}

/** A profile by name (profiles/NAME.yaml) or by path. */
export function loadProfile(nameOrPath: string): Profile {
  return loadProfileSource(nameOrPath).profile;
}

/** The file a profile name or path stands for. */
export function profileFile(nameOrPath: string): string {
  return nameOrPath.includes('/') || nameOrPath.endsWith('.yaml') || nameOrPath.endsWith('.yml') ? nameOrPath : path.join(PROFILES_DIR, `${nameOrPath}.yaml`);
}

/**
 * Reads and validates a profile. Every error is one line that starts with file:line (YAML syntax,
 * a file that is not a YAML mapping, e.g. a sysctl.conf, or a setting of the wrong shape).
 */
export function loadProfileSource(nameOrPath: string): ProfileSource {
  const file = profileFile(nameOrPath);
  if (!existsSync(file)) {
    const known = existsSync(PROFILES_DIR) ? readdirSync(PROFILES_DIR).filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/\.yaml$/, '')) : [];
    throw new UserError(`no tuning profile '${nameOrPath}'`, { hint: `known profiles: ${known.join(', ')} (srsx tune profiles), or give a path to a YAML file` });
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read tuning profile ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { hint: 'give a readable YAML file (see profiles/rtc.yaml)' });
  }
  return parseProfile(text, file);
}

const FORMAT_HINT = 'a profile is YAML: name, description, and sysctl: {KEY: {value: V, reason: WHY}} (see profiles/rtc.yaml)';

/** Validates profile text (pure): the profile, or a UserError whose message starts with file:line. */
export function parseProfile(text: string, file: string): ProfileSource {
  const lines = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const at = e.linePos?.[0] ?? lines.linePos(e.pos[0]);
    const why = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new UserError(`${file}:${at.line}:${at.col}: not valid YAML: ${why}`, { hint: FORMAT_HINT });
  }
  // the line of the key that names p's last element (else of the nearest part of p that exists)
  const lineOf = (p: ReadonlyArray<string | number>): number | undefined => {
    for (let n = p.length; n >= 0; n--) {
      const parent = n === 0 ? undefined : n === 1 ? doc.contents : doc.getIn(p.slice(0, n - 1), true);
      const pair = isMap(parent) ? parent.items.find((i) => isScalar(i.key) && String(i.key.value) === String(p[n - 1])) : undefined;
      const node = pair ? pair.key : n === 0 ? doc.contents : undefined;
      const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
      if (range) return lines.linePos(range[0]).line;
    }
    return undefined;
  };
  if (!isMap(doc.contents)) {
    const what = doc.contents === null ? 'empty' : isSeq(doc.contents) ? 'a YAML list' : 'plain text (a sysctl.conf?)';
    throw new UserError(`${file}:${lineOf([]) ?? 1}: not a tuning profile: the file is ${what}, not a YAML mapping`, { hint: FORMAT_HINT });
  }
  const r = ProfileSchema.safeParse(doc.toJS());
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const where = issue.path.map(String);
    const shown = where.map((k) => (/^[A-Za-z_]\w*$/.test(k) ? k : `'${k}'`)).join('.') || '(top)';
    const message = issue.code === 'invalid_key' ? 'is not a sysctl name (dotted, e.g. net.core.rmem_max)' : /received undefined$/.test(issue.message) ? 'is missing' : issue.message;
    throw new UserError(`${file}:${lineOf(where) ?? 1}: ${shown}: ${message}`, { hint: FORMAT_HINT });
  }
  return { profile: r.data, file, lineOf };
}
