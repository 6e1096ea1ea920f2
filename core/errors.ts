/**
 * One error base class for Uplift. Subclasses keep `cause` and carry a stable `name`, because
 * Step Functions `Retry`/`Catch` match errors by that name.
 */
export class UpliftError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad user input (spec, dataset, bundle). The CLI prints it and exits with code 2. */
export class SpecError extends UpliftError {
  constructor(
    /** one line per problem: `<file>: <field path>: <what is wrong> (received …). Fix: …` */
    readonly problems: string[],
    options?: { cause?: unknown },
  ) {
    super(problems.join('\n'), options);
  }
}

/** A stored object or item had a shape we did not write: a bug or tampering. */
export class CorruptRecordError extends UpliftError {}

/** A stored object that must exist is missing. */
export class NotFoundError extends UpliftError {}

/** ScoreRun was reached while another run is still computing the shared baseline; retried by the state machine. */
export class BaselinePendingError extends UpliftError {}

/** A job process failed (non-zero exit, crash, killed). Maps to Step Functions' `States.TaskFailed`. */
export class JobFailedError extends UpliftError {}

/**
 * The model endpoint, the sandbox or the job failed after retries: the affected tasks were never
 * answered, so the run fails instead of being scored, and nothing of it is cached.
 */
export class InfraFailureError extends UpliftError {}

/** The baseline RA gave agent errors above `maxAgentErrorRate`: the user's agent is broken, not a score. */
export class AgentBrokenError extends UpliftError {}
