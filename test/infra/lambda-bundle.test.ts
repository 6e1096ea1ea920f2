import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { REPO_ROOT } from '../../infra/config';
import { LAMBDA_BUNDLING, STEP_HANDLERS } from '../../infra/constructs/functions';

describe('Lambda bundles', () => {
  test('keep the error class names that the state machine\'s Retry and Catch match, with the AWS SDK bundled in', () => {
    // GIVEN the ScoreRun handler, bundled with the stack's esbuild settings
    const out = buildSync({
      entryPoints: [join(REPO_ROOT, STEP_HANDLERS.scoreRun)],
      bundle: true,
      platform: 'node',
      target: LAMBDA_BUNDLING.target,
      format: LAMBDA_BUNDLING.format,
      minify: LAMBDA_BUNDLING.minify,
      keepNames: LAMBDA_BUNDLING.keepNames,
      external: [...LAMBDA_BUNDLING.externalModules],
      write: false,
      logLevel: 'silent',
    });
    const code = out.outputFiles[0].text;
    // THEN BaselinePendingError (retried by the ScoreRun state) is still called that at run time
    expect(code).toContain('"BaselinePendingError"');
    // AND nothing is left to the Lambda runtime's own SDK (but the optional CRT signer, loaded only if present)
    expect([...new Set(code.match(/require\("@aws-sdk\/[^"]+"\)/g) ?? [])]).toEqual(['require("@aws-sdk/signature-v4-crt")']);
  });
});
