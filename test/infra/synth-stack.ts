import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { configFromContext } from '../../infra/config';
import { UpliftStack } from '../../infra/uplift-stack';

// The app's context (config file, feature flags) exactly as `cdk synth` reads it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const CDK_JSON = require('../../cdk.json') as { context: Record<string, unknown> };

/**
 * Synthesizes the Uplift stack as `npx cdk synth` does (same cdk.json context, same config
 * file), except that Lambda bundling is skipped: tests assert the template, not the bundles.
 */
export function synthUpliftStack(overrides?: Record<string, unknown>, env?: { account?: string; region?: string }): { app: App; stack: UpliftStack; template: Template } {
  const app = new App({
    outdir: mkdtempSync(join(tmpdir(), 'uplift-cdk-')),
    context: { ...CDK_JSON.context, 'aws:cdk:bundling-stacks': [], ...(overrides ? { uplift: overrides } : {}) },
  });
  const { config } = configFromContext((k) => app.node.tryGetContext(k));
  const stack = new UpliftStack(app, config.stackName, { config, env });
  return { app, stack, template: Template.fromStack(stack) };
}
