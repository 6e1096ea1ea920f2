/** Lambda PlanSweep: expand the staged spec into plan.json, create META, BUDGET and RUN items. */
import { planSweep } from '../core/sweep/steps';
import { stepHandler } from './handler';

export const handler = stepHandler(planSweep);
