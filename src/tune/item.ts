/**
 * One tunable setting, tuned-style: read the current value, know the target and why,
 * apply it, and undo it (back to a value read before). Items are small and independent;
 * a plan runs a list of them all or nothing.
 */
export interface TuneItem {
  /** stable id, e.g. 'sysctl:net.core.rmem_max', 'irq:38', 'pid:123:cpus' */
  id: string;
  /** what a person reads in the plan table */
  setting: string;
  target: string;
  reason: string;
  read(): Promise<string | undefined>;
  /** true when `current` already satisfies the target */
  matches(current: string | undefined): boolean;
  apply(): Promise<void>;
  /** restore `previous` (as returned by read() before apply) */
  undo(previous: string): Promise<void>;
  /** whether the setting can be persisted as a sysctl.d line */
  sysctlKey?: string;
}

export interface PlannedItem {
  id: string;
  setting: string;
  current: string | undefined;
  target: string;
  reason: string;
  change: boolean;
}

export type Outcome = 'applied' | 'unchanged' | 'failed' | 'rolled back' | 'rollback failed' | 'not run' | 'reverted' | 'skipped';

export interface ItemResult extends PlannedItem {
  outcome: Outcome;
  error?: string;
  hint?: string;
}
