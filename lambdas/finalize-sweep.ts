/** Lambda FinalizeSweep: counts, HTML report, final status. */
import { finalizeSweep } from '../core/sweep/steps';
import { stepHandler } from './handler';

export const handler = stepHandler(finalizeSweep);
