#!/usr/bin/env node
// The `uplift` command: TypeScript sources run through tsx (no build step).
require('tsx/cjs');
require('../main.ts')
  .main(process.argv)
  .then((code) => process.exit(code))
  .catch((e) => {
    process.stderr.write(`uplift: internal error: ${(e && e.stack) || e}\n`);
    process.exit(1);
  });
