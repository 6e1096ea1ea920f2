/**
 * The CDK app (`npx cdk synth|deploy`, see cdk.json): one Uplift stack configured by
 * infra/uplift.config.json (or `-c uplift:config=<file>`, and `-c uplift='{…}'` overrides), with
 * cdk-nag's AwsSolutions checks on every synth.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SpecError } from '../../core/errors';
import { configFromContext } from '../config';
import { UpliftStack } from '../uplift-stack';

const app = new App();
let loaded;
try {
  loaded = configFromContext((k) => app.node.tryGetContext(k));
} catch (e) {
  if (!(e instanceof SpecError)) throw e;
  process.stderr.write(`uplift: invalid stack configuration:\n${e.problems.map((p) => `  - ${p}`).join('\n')}\n`);
  process.exit(2);
}
const { config } = loaded;
new UpliftStack(app, config.stackName, {
  config,
  env: { account: config.account ?? process.env.CDK_DEFAULT_ACCOUNT, region: config.region ?? process.env.CDK_DEFAULT_REGION },
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
