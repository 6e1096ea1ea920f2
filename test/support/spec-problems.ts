import { SpecError } from '../../core/errors';

/** The problems of the SpecError `f` throws (any other error is rethrown; no error fails the test). */
export function specProblems(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    if (e instanceof SpecError) return e.problems;
    throw e;
  }
  throw new Error('expected a SpecError');
}

/** The same for a promise: the problems of the SpecError it rejects with. */
export async function specProblemsOf(p: Promise<unknown>): Promise<string[]> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SpecError) return e.problems;
    throw e;
  }
  throw new Error('expected a SpecError');
}
