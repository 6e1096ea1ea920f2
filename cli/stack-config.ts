import { readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { SpecError } from '../core/errors';
import type { ComputeTargets } from '../core/pricing';
import { jobCompute } from '../infra/compute';
import { parseConfig, REPO_ROOT, type UpliftConfig } from '../infra/config';

/** The stack config file `cdk deploy` reads unless told otherwise (cdk.json's `uplift:config`). */
export const DEFAULT_STACK_CONFIG = join(REPO_ROOT, 'infra/uplift.config.json');

export interface StackConfigFile {
  /** As given on the command line: how output and errors name it. */
  readonly file: string;
  /** Absolute path. */
  readonly path: string;
  readonly config: UpliftConfig;
  /** What a stack deployed from it runs jobs on (its `JobCompute` output). */
  readonly compute: ComputeTargets;
}

/**
 * Reads a stack config file (`--stack-config`, relative to the working directory) and validates
 * it as the CDK app does; throws SpecError naming each bad field and its fix. The CDK's context
 * overrides (`-c uplift=…`) are not applied: this is the file alone.
 */
export function readStackConfig(file: string): StackConfigFile {
  const path = resolve(file);
  const example = relative(process.cwd(), DEFAULT_STACK_CONFIG) || DEFAULT_STACK_CONFIG;
  let text: string;
  try {
    if (!statSync(path).isFile()) throw new Error('not a file');
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    const why = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(cause as Error).message})`;
    throw new SpecError([`--stack-config: ${path} ${why}. Fix: pass the stack's config file, e.g. --stack-config ${example}`], { cause });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new SpecError([`${file}: not valid JSON (${(cause as Error).message}). Fix: correct the JSON; ${example} shows the format`], { cause });
  }
  const config = parseConfig(raw, file);
  return { file, path, config, compute: jobCompute(config) };
}
