import type { TlaSpec } from '../spec';
import { defenseSearchTla } from './defense-search';
import { fewshotSearchTla } from './fewshot-search';
import { fixedTla } from './fixed';
import { noopTla } from './noop';
import { reactTla } from './react';
import { unlearnSearchTla } from './unlearn-search';
import type { Tla } from './types';

/** The built-in TLAs by kind. */
export const TLAS: Record<TlaSpec['kind'], Tla> = {
  noop: noopTla,
  fixed: fixedTla,
  'fewshot-search': fewshotSearchTla,
  'defense-search': defenseSearchTla,
  'unlearn-search': unlearnSearchTla,
  react: reactTla,
};
