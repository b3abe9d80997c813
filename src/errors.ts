/**
 * Errors a user can act on. The CLI prints them as one line (what, why) plus an
 * optional hint (how to fix) and exits with `exitCode`; it never prints a stack for them.
 */
export class UserError extends Error {
  readonly exitCode: number;
  readonly hint?: string;

  constructor(message: string, options: { hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UserError';
    this.exitCode = options.exitCode ?? 2;
    this.hint = options.hint;
  }
}

/** Exit codes shared by every command. */
export const ExitCode = {
  ok: 0,
  /** a check found differences / a verdict is not ok */
  mismatch: 1,
  /** bad input: flags, files, pids, configs */
  usage: 2,
  /** the host refused: permissions, read-only /proc/sys, kernel rejected a value */
  failed: 3,
} as const;

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
