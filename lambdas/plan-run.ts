/** Lambda PlanRun: skip finished runs, reserve the worst case, claim or find the baseline. */
import { planRun } from '../core/sweep/steps';
import { stepHandler } from './handler';

export const handler = stepHandler(planRun);
