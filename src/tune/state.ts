import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.js';

const ChangeSchema = z.object({
  id: z.string(),
  setting: z.string(),
  /** the value before the first apply that changed this setting (what revert restores) */
  previous: z.string(),
  target: z.string(),
  /** for process settings: the process's start time (/proc/PID/stat field 22), to tell a reused pid */
  processStart: z.string().optional(),
});
export type StateChange = z.infer<typeof ChangeSchema>;

/** A file `--persist` wrote: revert restores `backup` over it, or removes it when there was none. */
const PersistSchema = z.object({ file: z.string(), backup: z.string().optional() });
export type PersistRecord = z.infer<typeof PersistSchema>;

/** What `srsx tune revert` needs: every setting the applies since the last revert changed, with its original value. */
export const TuneStateSchema = z.object({
  version: z.literal(1),
  appliedAt: z.string(),
  command: z.string(),
  /** every apply merged into this state, oldest first */
  commands: z.array(z.string()).optional(),
  changes: z.array(ChangeSchema),
  persisted: z.array(PersistSchema).optional(),
});
export type TuneState = z.infer<typeof TuneStateSchema>;

export function stateDir(): string {
  return process.env.SRSX_STATE_DIR || '/var/lib/srsx';
}

export function stateFile(): string {
  return path.join(stateDir(), 'tune-state.json');
}

/**
 * The state after one more apply: a setting changed before keeps its original `previous` (so revert
 * returns to the host as it was before the first apply), new settings are added after the old ones.
 * A process setting of a different process that reused the pid replaces the stale entry.
 */
export function mergeState(old: TuneState | undefined, command: string, changes: readonly StateChange[], at = new Date().toISOString()): TuneState {
  const out: StateChange[] = (old?.changes ?? []).map((c) => ({ ...c }));
  for (const c of changes) {
    const i = out.findIndex((o) => o.id === c.id);
    if (i < 0) out.push({ ...c });
    else if (out[i]!.processStart !== c.processStart) out[i] = { ...c };
    else out[i] = { ...out[i]!, setting: c.setting, target: c.target };
  }
  return {
    version: 1,
    appliedAt: old?.appliedAt ?? at,
    command: old?.command ?? command,
    commands: [...(old?.commands ?? (old ? [old.command] : [])), command],
    changes: out,
    persisted: old?.persisted ?? [],
  };
}

/** Written before anything is applied (atomically), so a crash mid-apply can still be reverted. */
export function saveState(state: TuneState): void {
  const file = stateFile();
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
    renameSync(tmp, file);
  } catch (err) {
    throw new UserError(`cannot save the revert state in ${file}: ${(err as Error).message}`, { hint: 'run as root, or set SRSX_STATE_DIR to a writable directory' });
  }
}

export function loadState(): TuneState | undefined {
  let text: string;
  try {
    text = readFileSync(stateFile(), 'utf8');
  } catch {
    return undefined;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    data = undefined;
  }
  const parsed = TuneStateSchema.safeParse(data);
  if (!parsed.success) throw new UserError(`${stateFile()} is not a srsx tune state file`, { hint: 'remove it; nothing can be reverted from it' });
  return parsed.data;
}

/** After a complete revert: the state is kept as *.reverted for the record. */
export function clearState(): void {
  const file = stateFile();
  try {
    renameSync(file, `${file}.reverted`);
  } catch {
    /* nothing to clear */
  }
}

/** Puts the state back as it was before an apply that changed nothing in the end (or removes it). */
export function restoreState(old: TuneState | undefined): void {
  if (old) saveState(old);
  else rmSync(stateFile(), { force: true });
}
