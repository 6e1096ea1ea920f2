import { join, resolve } from 'node:path';

/**
 * The root a bundle was built from: esbuild's `define` replaces this identifier with a string
 * literal when it bundles the job entrypoints or the CLI (cli/local/job-bundle.ts). Run from
 * sources (tsx, jest) it is never defined.
 */
declare const __UPLIFT_HARNESS_ROOT__: string | undefined;

/**
 * The harness's root: the repository (or installed package) that holds `core/`, `package.json`
 * and the other files shipped next to the code. Every reader of a shipped file resolves it here
 * (never through its own `__dirname`, which is the bundle's folder once bundled). Sandboxes hide
 * this tree from agents (core/sandbox.ts).
 */
export const HARNESS_ROOT: string = typeof __UPLIFT_HARNESS_ROOT__ === 'string' ? __UPLIFT_HARNESS_ROOT__ : resolve(__dirname, '..');

/** The manifest of the non-code files the harness reads at run time, relative to HARNESS_ROOT. */
export const SHIPPED = {
  packageJson: 'package.json',
  /** The react TLA's own prompt templates. */
  tlaPrompts: 'core/tla/prompts',
  /** A CBM kind's react prompts (`react-<variant>.md`). */
  cbmKindPrompts: (kind: string) => `core/cbm/${kind}/prompts`,
} as const;

/** The absolute path of a shipped file or folder (`rel` as in SHIPPED, "/"-separated). */
export function harnessPath(rel: string): string {
  return join(HARNESS_ROOT, ...rel.split('/'));
}
