import { ExecutionAlreadyExists, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { SweepStarter } from '../../core/models/upload';

/** `arn:…:stateMachine:<name>` → `arn:…:execution:<name>:<execution>` (the documented ARN format). */
export function executionArnFor(stateMachineArn: string, executionName: string): string {
  const m = /^(arn:[^:]+:states:[^:]+:[^:]+):stateMachine:([^:]+)$/.exec(stateMachineArn);
  if (!m) throw new Error(`not a state machine ARN: ${stateMachineArn}`);
  return `${m[1]}:execution:${m[2]}:${executionName}`;
}

/**
 * Starts the Uplift state machine with `{ sweepId }`, naming the execution after the sweep: a
 * sweep id maps to exactly one execution, and starting it again returns the existing one.
 */
export class SfnSweepStarter extends SweepStarter {
  constructor(
    private readonly sfn: SFNClient,
    readonly stateMachineArn: string,
  ) {
    super();
  }

  async start(sweepId: string): Promise<{ executionArn: string; alreadyStarted: boolean }> {
    try {
      const out = await this.sfn.send(new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name: sweepId, input: JSON.stringify({ sweepId }) }));
      return { executionArn: out.executionArn ?? executionArnFor(this.stateMachineArn, sweepId), alreadyStarted: false };
    } catch (e) {
      if (!(e instanceof ExecutionAlreadyExists)) throw e;
      return { executionArn: executionArnFor(this.stateMachineArn, sweepId), alreadyStarted: true };
    }
  }
}
