import { cpSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Tla } from './types';

/** `fixed`: the MRA is a bundle the user supplied, to compare hand-made scaffold versions on one model. */
export const fixedTla: Tla = {
  async run(ctx) {
    if (!ctx.fixedBundleDir) throw new Error('the fixed TLA needs its bundle (tlas[].bundle)');
    for (const f of readdirSync(ctx.workspace)) rmSync(join(ctx.workspace, f), { recursive: true, force: true });
    cpSync(ctx.fixedBundleDir, ctx.workspace, { recursive: true });
    ctx.log({ action: 'replace-bundle', note: 'workspace replaced by the user-supplied bundle' });
    return { stopReason: 'done' };
  },
};
