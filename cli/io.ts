/** Where a command writes: results on `out` (stdout), progress and errors on `err` (stderr). */
export interface Io {
  out(s: string): void;
  err(s: string): void;
}

/** Exit codes: 0 every run finished with scores, 1 some run failed or the execution failed, 2 bad input, 130 interrupted (README, The CLI). */
export const EXIT = { ok: 0, runsFailed: 1, badInput: 2, interrupted: 130 } as const;
