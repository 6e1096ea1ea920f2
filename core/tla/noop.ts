import type { Tla } from './types';

/** The control: changes nothing, so its MRA is the RA and its uplift estimates the noise floor (exactly 0 with a deterministic model). */
export const noopTla: Tla = {
  async run(ctx) {
    ctx.log({ action: 'noop', note: 'control: the bundle is left unchanged' });
    return { stopReason: 'done' };
  },
};
