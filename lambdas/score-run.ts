/** Lambda ScoreRun: scores, paired bootstrap CI, budget settlement. */
import { scoreRun } from '../core/sweep/steps';
import { stepHandler } from './handler';

export const handler = stepHandler(scoreRun);
