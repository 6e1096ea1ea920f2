#!/usr/bin/env node
// The `uplift` command. It runs the CLI's bundle (cli/local/job-bundle.ts) when the bundle matches
// the sources as they are now, else the TypeScript sources through tsx, building the bundle for the
// next start. UPLIFT_CLI_BUNDLE=0: always from sources.
'use strict';
const { existsSync } = require('node:fs');
const { join, resolve } = require('node:path');
const { freshIndex } = require('../local/bundle-key.cjs');

const ROOT = resolve(__dirname, '..', '..');
/** The CLI bundle leaves packages to require(): it must live under ROOT's node_modules. */
const CACHE = join(ROOT, 'node_modules', '.cache', 'uplift');

/** The CLI bundle's main.js when it matches the sources (the check every bundle gets: cli/local/bundle-key.cjs). */
function freshCliBundle(root = ROOT, cacheDir = CACHE) {
  const base = join(cacheDir, 'cli');
  const index = freshIndex(base, root);
  const file = index && join(base, index.key, 'main.js');
  return file && existsSync(file) ? file : undefined;
}

async function loadCli() {
  const bundled = process.env.UPLIFT_CLI_BUNDLE !== '0';
  const fresh = bundled && freshCliBundle();
  if (fresh) return require(fresh);
  require('tsx/cjs');
  if (bundled) {
    try {
      const { ensureBundle, CLI_BUNDLE } = require('../local/job-bundle.ts');
      return require((await ensureBundle(CLI_BUNDLE, { root: ROOT, cacheDir: CACHE })).files.main);
    } catch {
      // No esbuild (installed without it), a read-only install: the sources run as they are.
    }
  }
  return require('../main.ts');
}

if (require.main === module) {
  loadCli()
    .then((cli) => cli.main(process.argv))
    .then((code) => process.exit(code))
    .catch((e) => {
      process.stderr.write(`uplift: internal error: ${(e && e.stack) || e}\n`);
      process.exit(1);
    });
}

module.exports = { freshCliBundle };
