import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.js';

/** What `srsx tune revert` needs: every setting the last apply changed, with its old value. */
export const TuneStateSchema = z.object({
  version: z.literal(1),
  appliedAt: z.string(),
  command: z.string(),
  changes: z.array(z.object({ id: z.string(), setting: z.string(), previous: z.string(), target: z.string() })),
});
export type TuneState = z.infer<typeof TuneStateSchema>;

export function stateDir(): string {
  return process.env.SRSX_STATE_DIR || '/var/lib/srsx';
}

export function stateFile(): string {
  return path.join(stateDir(), 'tune-state.json');
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
  const parsed = TuneStateSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new UserError(`${stateFile()} is not a srsx tune state file`, { hint: 'remove it; nothing can be reverted from it' });
  return parsed.data;
}

export function clearState(): void {
  const file = stateFile();
  try {
    renameSync(file, `${file}.reverted`);
  } catch {
    /* nothing to clear */
  }
}
