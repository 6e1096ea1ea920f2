/** Lambda MarkRunFailed: record a run's error; a failed run never fails the sweep. */
import { markRunFailed } from '../core/sweep/steps';
import { stepHandler } from './handler';

export const handler = stepHandler(markRunFailed);
