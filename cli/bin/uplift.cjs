#!/usr/bin/env node
// The `uplift` command. It runs the CLI's bundle (cli/local/job-bundle.ts) when the bundle matches
// the sources as they are now, else the TypeScript sources through tsx, building the bundle for the
// next start. UPLIFT_CLI_BUNDLE=0: always from sources.
'use strict';
const { createHash } = require('node:crypto');
const { existsSync, readFileSync } = require('node:fs');
const { join, resolve } = require('node:path');

const ROOT = resolve(__dirname, '..', '..');
/** The CLI bundle leaves packages to require(): it must live under ROOT's node_modules. */
const CACHE = join(ROOT, 'node_modules', '.cache', 'uplift');

/**
 * The CLI bundle's main.js when it matches the sources: `cachedBundle` of cli/local/job-bundle.ts,
 * in plain JavaScript (nothing TypeScript can load before it). The key must be computed exactly as
 * `inputsKey` there computes it.
 */
function freshCliBundle(root = ROOT, cacheDir = CACHE) {
  const base = join(cacheDir, 'cli');
  let index;
  try {
    index = JSON.parse(readFileSync(join(base, 'index.json'), 'utf8'));
  } catch {
    return undefined;
  }
  if (!index || index.root !== root || !Array.isArray(index.inputs)) return undefined;
  const h = createHash('sha256').update(`uplift-bundle\0${root}\0`);
  for (const rel of index.inputs) {
    let content;
    try {
      content = readFileSync(join(root, rel));
    } catch {
      return undefined;
    }
    h.update(`${rel}\0${createHash('sha256').update(content).digest('hex')}\0`);
  }
  if (h.digest('hex').slice(0, 32) !== index.key) return undefined;
  const file = join(base, index.key, 'main.js');
  return existsSync(file) ? file : undefined;
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
