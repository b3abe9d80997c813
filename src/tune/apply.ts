import { HostWriteError } from '../host/sysctl.js';
import { UserError } from '../errors.js';
import type { ItemResult, PlannedItem, TuneItem } from './item.js';

/** Reads every item's current value: the plan (and what --dry-run prints). */
export async function planItems(items: readonly TuneItem[]): Promise<PlannedItem[]> {
  const out: PlannedItem[] = [];
  for (const it of items) {
    const current = await it.read();
    out.push({ id: it.id, setting: it.setting, current, target: it.target, reason: it.reason, change: !it.matches(current) });
  }
  return out;
}

function describe(err: unknown): { error: string; hint?: string } {
  if (err instanceof HostWriteError || err instanceof UserError) return { error: err.message, hint: err.hint };
  return { error: (err as Error).message ?? String(err) };
}

export interface ApplyResult {
  ok: boolean;
  results: ItemResult[];
  /** what was changed and must be remembered for revert: id → previous value */
  changed: Array<{ id: string; previous: string }>;
}

/**
 * Applies the items that need a change, in order. All or nothing: when one fails, the ones
 * already applied are undone in reverse order, and every item reports its outcome.
 * `beforeApply` runs once before the first write (the caller saves revert state there).
 */
export async function applyAll(items: readonly TuneItem[], plan: readonly PlannedItem[], beforeApply: (changes: Array<{ id: string; previous: string }>) => Promise<void>): Promise<ApplyResult> {
  const results: ItemResult[] = plan.map((p) => ({ ...p, outcome: p.change ? 'not run' : 'unchanged' }));
  const toChange = plan.map((p, i) => ({ p, i })).filter(({ p }) => p.change);
  const changes = toChange.map(({ p }) => ({ id: p.id, previous: p.current ?? '' }));
  if (toChange.length === 0) return { ok: true, results, changed: [] };
  await beforeApply(changes);
  const done: number[] = [];
  for (const { p, i } of toChange) {
    try {
      await items[i]!.apply();
      results[i]!.outcome = 'applied';
      done.push(i);
    } catch (err) {
      Object.assign(results[i]!, { outcome: 'failed' }, describe(err));
      for (const j of done.reverse()) {
        try {
          await items[j]!.undo(plan[j]!.current ?? '');
          results[j]!.outcome = 'rolled back';
        } catch (undoErr) {
          Object.assign(results[j]!, { outcome: 'failed' }, { error: `rollback failed: ${describe(undoErr).error}` });
        }
      }
      void p;
      return { ok: false, results, changed: [] };
    }
  }
  return { ok: true, results, changed: changes };
}
