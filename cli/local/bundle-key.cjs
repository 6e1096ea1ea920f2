'use strict';
// The cache key of a harness bundle and the check that a cached one matches the sources: in plain
// JavaScript, because cli/bin/uplift.cjs checks the CLI's bundle before anything TypeScript can
// load; cli/local/job-bundle.ts uses the same two functions for every bundle it builds.
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

/**
 * sha256 over the root and every input's path (relative to `root`) and content; undefined when an
 * input is gone.
 * @param {string} root
 * @param {readonly string[]} inputs
 * @returns {string | undefined}
 */
function inputsKey(root, inputs) {
  const h = createHash('sha256').update(`uplift-bundle\0${root}\0`);
  for (const rel of inputs) {
    let content;
    try {
      content = readFileSync(join(root, rel));
    } catch {
      return undefined;
    }
    h.update(`${rel}\0${createHash('sha256').update(content).digest('hex')}\0`);
  }
  return h.digest('hex').slice(0, 32);
}

/**
 * `<base>/index.json` (the last build of a bundle: its root, key and inputs) when it was built from
 * `root` and its inputs still hash to its key; else undefined. The build is `<base>/<key>/`.
 * @param {string} base
 * @param {string} root
 * @returns {{ root: string, key: string, inputs: string[] } | undefined}
 */
function freshIndex(base, root) {
  let index;
  try {
    index = JSON.parse(readFileSync(join(base, 'index.json'), 'utf8'));
  } catch {
    return undefined;
  }
  if (!index || index.root !== root || !Array.isArray(index.inputs)) return undefined;
  const key = inputsKey(root, index.inputs);
  return key !== undefined && key === index.key ? index : undefined;
}

module.exports = { inputsKey, freshIndex };
