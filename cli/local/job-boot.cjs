'use strict';
// Starts a bundled job worker (cli/local/job-bundle.ts): `node job-boot.cjs <bundle.js>`.
//
// What `node <bundle.js>` would do, plus V8's code cache (Node 20 has no module.enableCompileCache):
// the bundle is compiled with the cache `<bundle.js>.v8-cache` when there is one (V8 refuses a
// cache of another V8 version or other flags, and then compiles as usual); a process that found
// none, or a refused one, writes it as it exits, holding what it compiled by then (temporary file,
// then rename: concurrent writers never leave a torn one). About a third of a job process's
// start-up is compiling the bundle.
//
// Stack traces still name the TypeScript sources: `--enable-source-maps` does not apply to code
// compiled this way, so frames in the bundle are mapped here, through its .map file, when a stack is
// first formatted.
const { readFileSync, renameSync, writeFileSync } = require('node:fs');
const { createRequire, SourceMap, wrap } = require('node:module');
const { dirname, isAbsolute, resolve } = require('node:path');
const { fileURLToPath } = require('node:url');
const { Script } = require('node:vm');

const file = resolve(process.argv[2]);
// The bundle sees the argv it would have seen run directly.
process.argv.splice(1, 2, file);
const cacheFile = `${file}.v8-cache`;
let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  cachedData = undefined;
}
const script = new Script(wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
if (cachedData === undefined || script.cachedDataRejected) {
  process.once('exit', () => {
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, script.createCachedData());
      renameSync(tmp, cacheFile);
    } catch {
      // A read-only cache: the next process compiles as this one did.
    }
  });
}

let map; // undefined: not read yet; null: none
function original(frame) {
  if (frame.getFileName() !== file) return undefined;
  if (map === undefined) {
    try {
      map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')));
    } catch {
      map = null;
    }
  }
  const entry = map && map.findEntry(frame.getLineNumber() - 1, frame.getColumnNumber() - 1);
  if (!entry || !entry.originalSource) return undefined;
  const src = entry.originalSource;
  const path = src.startsWith('file:') ? fileURLToPath(src) : isAbsolute(src) ? src : resolve(dirname(file), src);
  return `${path}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
}
Error.prepareStackTrace = (error, frames) => {
  const lines = frames.map((f) => {
    const at = original(f);
    if (!at) return `    at ${f}`;
    const fn = f.getFunctionName() || f.getMethodName();
    return `    at ${f.isAsync() ? 'async ' : ''}${fn ? `${fn} (${at})` : at}`;
  });
  let head;
  try {
    head = Error.prototype.toString.call(error);
  } catch {
    head = 'Error';
  }
  return [head, ...lines].join('\n');
};

const module_ = { exports: {}, filename: file, id: file, loaded: false };
script.runInThisContext()(module_.exports, createRequire(file), module_, file, dirname(file));
