/**
 * Importer of SWE-bench instance files into a `workspace` task family (docs/cbm-workspace.md,
 * "SWE-bench"). Reads the official files — JSONL, or the Hugging Face Parquet of
 * `princeton-nlp/SWE-bench`, `_Lite`, `_Verified` (`SWE-bench/...`) — with the fields
 * `instance_id`, `repo`, `base_commit`, `problem_statement`, `test_patch`, `FAIL_TO_PASS` and
 * `PASS_TO_PASS` (JSON-encoded lists of test names in the official files; plain lists accepted),
 * `version`, and optionally `patch` (the gold fix) and `environment_setup_commit`. Other fields
 * (`hints_text`, `created_at`, `difficulty`, …) are ignored.
 *
 * Each instance becomes a task WITHOUT workspace files: the repository lives in the instance's
 * image (`image`, see {@link DEFAULT_IMAGE_TEMPLATE}) at /testbed, at `baseCommit`. Its hidden files
 * are `.uplift/test.patch` (the instance's test patch), `.uplift/spec.json` (how to run and read
 * the tests) and `.uplift/score.py` ({@link SWEBENCH_SCORE_PY}, the same for every task), and its
 * score command `python3 .uplift/score.py` replays SWE-bench's evaluation in the image: reset the
 * test files, apply the test patch, re-install, run the repository's test command on the patch's
 * test files, parse the log, print `{"score": 1}` when every FAIL_TO_PASS and PASS_TO_PASS test
 * passed (SWE-bench's "resolved"). It only works inside the instance image; locally there is none.
 */
import { existsSync, lstatSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SpecError } from '../../errors';
import { stratifiedSplit } from '../../scoring/sampling';
import { readRows, type RawRow } from '../import-rows';
import { MAX_TASK_BYTES, TASK_ID, type WorkspaceTaskJson } from './family';

/**
 * Default image of an instance: SWE-bench's published instance images on Docker Hub,
 * `swebench/sweb.eval.x86_64.<instance id>:latest` with the id lower-cased and `__` written
 * `_1776_` (Docker Hub names may not hold `__`), e.g. `django__django-11099` →
 * `swebench/sweb.eval.x86_64.django_1776_django-11099:latest`.
 */
export const DEFAULT_IMAGE_TEMPLATE = 'swebench/sweb.eval.x86_64.{instance_id_docker}:latest';

/** Placeholders of an image template. */
export const IMAGE_PLACEHOLDERS = ['instance_id', 'instance_id_lower', 'instance_id_docker', 'repo', 'repo_docker', 'version'] as const;

/** Wall-clock limit of a score command (SWE-bench's harness default). */
export const SWEBENCH_SCORE_TIMEOUT_SECONDS = 1800;

/** The family sentence (family.json `task`). */
export const SWEBENCH_TASK =
  'Resolve a real GitHub issue in a Python repository (SWE-bench): edit the checkout so that the hidden tests of the fix pass and the existing tests keep passing.';

/** How the tests of a repository are run and read (after SWE-bench's harness: constants and log_parsers). */
export interface SweRepoSpec {
  /** The test command; the test files of the test patch are appended. */
  testCommand: string;
  /** Re-installs the package before the tests (so that the agent's changes take effect); none when absent. */
  install?: string;
  /** Shell lines run before install and tests (locale setup and the like). */
  evalCommands: string[];
  /** Which log parser of .uplift/score.py reads the test output. */
  parser: 'pytest' | 'pytest_options' | 'pytest_v2' | 'django' | 'sympy' | 'seaborn' | 'matplotlib';
  /** Test files are passed as Django test labels (`tests/a/b.py` → `a.b`). */
  djangoLabels?: boolean;
}

const PYTEST = 'pytest -rA';
const EDITABLE = 'python -m pip install -e .';
const DJANGO_OLD = ['1.4', '1.5', '1.6', '1.7', '1.8', '1.9', '1.10', '1.11', '2.0', '2.1', '2.2'];
const DJANGO_LOCALE_EXPORTS = ['export LANG=en_US.UTF-8', 'export LC_ALL=en_US.UTF-8', 'export PYTHONIOENCODING=utf8', 'export LANGUAGE=en_US:en'];

/**
 * Test command, install, eval commands and log parser of the repositories of SWE-bench (test and
 * dev splits), per version where they differ, after SWE-bench's harness. A version the table does
 * not list gets the repository's current settings.
 */
export const SWE_REPO_SPECS: Record<string, (version: string) => SweRepoSpec> = {
  'astropy/astropy': (v) => ({
    testCommand: ['0.1', '0.2', '0.3', '0.4', '1.1', '1.2', '1.3'].includes(v) ? 'pytest -rA -vv -o console_output_style=classic --tb=no' : PYTEST,
    install: 'python -m pip install -e .[test] --verbose',
    evalCommands: [],
    parser: 'pytest_v2',
  }),
  'django/django': (v) => ({
    testCommand: v === '1.9' ? './tests/runtests.py --verbosity 2' : './tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1',
    install: DJANGO_OLD.includes(v) ? 'python setup.py install' : EDITABLE,
    evalCommands: ['1.4', '1.5', '1.6'].includes(v)
      ? []
      : DJANGO_OLD.includes(v)
        ? DJANGO_LOCALE_EXPORTS
        : ['3.0', '3.1', '3.2'].includes(v)
          ? ["sed -i '/en_US.UTF-8/s/^# //g' /etc/locale.gen && locale-gen", 'export LANG=en_US.UTF-8', 'export LANGUAGE=en_US:en', 'export LC_ALL=en_US.UTF-8']
          : [],
    parser: 'django',
    djangoLabels: true,
  }),
  'matplotlib/matplotlib': (v) => ({
    testCommand: PYTEST,
    install: ['3.8', '3.9'].includes(v)
      ? 'python -m pip install --no-build-isolation -e ".[dev]"'
      : ['1.0', '1.1', '1.2', '1.3', '1.4', '1.5', '2.0', '2.1', '2.2'].includes(v)
        ? 'python setup.py build; python setup.py install'
        : EDITABLE,
    evalCommands: [],
    parser: 'matplotlib',
  }),
  'mwaskom/seaborn': (v) => ({ testCommand: 'pytest --no-header -rA', install: v === '0.11' ? EDITABLE : 'python -m pip install -e .[dev]', evalCommands: [], parser: 'seaborn' }),
  'pallets/flask': () => ({ testCommand: PYTEST, install: EDITABLE, evalCommands: [], parser: 'pytest' }),
  'psf/requests': () => ({ testCommand: PYTEST, install: 'python -m pip install .', evalCommands: [], parser: 'pytest_options' }),
  'pydata/xarray': () => ({ testCommand: PYTEST, install: EDITABLE, evalCommands: [], parser: 'pytest' }),
  'pylint-dev/pylint': () => ({ testCommand: PYTEST, install: EDITABLE, evalCommands: [], parser: 'pytest_options' }),
  'pytest-dev/pytest': () => ({ testCommand: PYTEST, install: EDITABLE, evalCommands: [], parser: 'pytest' }),
  'scikit-learn/scikit-learn': () => ({ testCommand: PYTEST, install: 'python -m pip install -v --no-use-pep517 --no-build-isolation -e .', evalCommands: [], parser: 'pytest_v2' }),
  'sphinx-doc/sphinx': () => ({ testCommand: 'tox --current-env -epy39 -v --', install: 'python -m pip install -e .[test]', evalCommands: [], parser: 'pytest_v2' }),
  'sympy/sympy': () => ({ testCommand: "PYTHONWARNINGS='ignore::UserWarning,ignore::SyntaxWarning' bin/test -C --verbose", install: EDITABLE, evalCommands: [], parser: 'sympy' }),
  // The repositories of SWE-bench's dev split.
  'marshmallow-code/marshmallow': () => ({ testCommand: PYTEST, install: "python -m pip install -e '.[dev]'", evalCommands: [], parser: 'pytest' }),
  'pvlib/pvlib-python': () => ({ testCommand: PYTEST, install: 'python -m pip install -e .[all]', evalCommands: [], parser: 'pytest' }),
  'pydicom/pydicom': () => ({ testCommand: PYTEST, install: EDITABLE, evalCommands: [], parser: 'pytest_options' }),
  'pylint-dev/astroid': () => ({ testCommand: PYTEST, install: EDITABLE, evalCommands: [], parser: 'pytest' }),
  'pyvista/pyvista': () => ({ testCommand: PYTEST, install: EDITABLE, evalCommands: [], parser: 'pytest' }),
  'sqlfluff/sqlfluff': () => ({ testCommand: PYTEST, install: EDITABLE, evalCommands: [], parser: 'pytest' }),
};

/** A repository the table does not know: plain pytest, no re-install (reported as a warning). */
const FALLBACK_SPEC: SweRepoSpec = { testCommand: PYTEST, evalCommands: [], parser: 'pytest' };

/** Shell lines that enter the instance image's environment (conda env `testbed`) before anything runs. */
export const SWEBENCH_SETUP = [
  'source /opt/miniconda3/bin/activate',
  'conda activate testbed',
  // Git refuses repositories owned by another user ("dubious ownership"); setuptools-scm runs git during installs.
  "export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=safe.directory GIT_CONFIG_VALUE_0='*'",
];

/** Extensions of files in a test patch that are not test modules (SWE-bench's NON_TEST_EXTS). */
const NON_TEST_EXTS = ['.json', '.png', 'csv', '.txt', '.md', '.jpg', '.jpeg', '.pkl', '.yml', '.yaml', '.toml'];

/** `.uplift/spec.json` of a task: everything .uplift/score.py needs. */
export interface SweScoreSpec {
  instanceId: string;
  repo: string;
  version: string;
  baseCommit: string;
  /** Shell lines entering the image's environment ({@link SWEBENCH_SETUP}). */
  setup: string[];
  evalCommands: string[];
  install: string | null;
  testCommand: string;
  /** Test files (or Django labels) appended to the test command. */
  directives: string[];
  parser: SweRepoSpec['parser'];
  /** Files the test patch modifies or deletes (reset to baseCommit before it is applied), and files it creates (removed first). */
  resetFiles: string[];
  newFiles: string[];
  failToPass: string[];
  passToPass: string[];
}

/** The files a unified diff touches: `a/` paths that exist before it, `b/` paths it creates, and the directives (every `b/` path). */
export function patchFiles(patch: string): { existing: string[]; created: string[]; targets: string[] } {
  const existing: string[] = [];
  const created: string[] = [];
  const targets: string[] = [];
  const blocks = patch.split(/^(?=diff --git )/m).filter((b) => b.startsWith('diff --git '));
  for (const block of blocks) {
    const header = /^diff --git a\/(.*?) b\/(.*)$/m.exec(block);
    if (!header) continue;
    const [, a, b] = header;
    targets.push(b);
    if (/^--- \/dev\/null$/m.test(block) || /^new file mode /m.test(block)) created.push(b);
    else existing.push(a);
  }
  return { existing: [...new Set(existing)], created: [...new Set(created)], targets: [...new Set(targets)] };
}

/** The test directives of a test patch (SWE-bench's get_test_directives): its files minus non-test ones; Django's as labels. */
export function testDirectives(testPatch: string, djangoLabels: boolean): string[] {
  const files = patchFiles(testPatch).targets.filter((f) => !NON_TEST_EXTS.some((ext) => f.endsWith(ext)));
  if (!djangoLabels) return files;
  return files.map((f) => f.replace(/\.py$/, '').replace(/^tests\//, '').split('/').join('.'));
}

/** An image reference from a template (see {@link IMAGE_PLACEHOLDERS}). */
export function renderImage(template: string, row: { instanceId: string; repo: string; version: string }): string {
  const values: Record<(typeof IMAGE_PLACEHOLDERS)[number], string> = {
    instance_id: row.instanceId,
    instance_id_lower: row.instanceId.toLowerCase(),
    instance_id_docker: row.instanceId.toLowerCase().split('__').join('_1776_'),
    repo: row.repo,
    repo_docker: row.repo.toLowerCase().replace('/', '_1776_'),
    version: row.version,
  };
  return template.replace(/\{(\w+)\}/g, (m, name: string) => (name in values ? values[name as keyof typeof values] : m));
}

/** Options of {@link importSweBench}. */
export interface SweBenchImportOptions {
  /** SWE-bench instance files: `.jsonl` / `.ndjson` (one instance per line) or the hub's `.parquet`. */
  files: string[];
  /** Directory the family is written to (created when missing; a previous family's tasks/ is replaced). */
  outDir: string;
  /** Seed of the split. @default 1 */
  seed?: number;
  /** Share of each repository's instances that goes to dev, in (0, 1). @default 0.2 */
  devFraction?: number;
  /** Image of each task; placeholders {@link IMAGE_PLACEHOLDERS}. @default {@link DEFAULT_IMAGE_TEMPLATE} */
  imageTemplate?: string;
}

/** What {@link importSweBench} wrote. */
export interface SweBenchImportResult {
  outDir: string;
  dev: number;
  test: number;
  /** Instances per repository and split, sorted by repository. */
  repos: { repo: string; dev: number; test: number }[];
  /** Repositories without an entry in {@link SWE_REPO_SPECS}: scored with plain `pytest -rA` and no re-install. */
  unknownRepos: string[];
  /** Tasks that have a reference.patch (the instance's gold `patch`). */
  withReferencePatch: number;
}

/** A validated instance. */
interface SweInstance {
  instanceId: string;
  repo: string;
  baseCommit: string;
  problemStatement: string;
  testPatch: string;
  failToPass: string[];
  passToPass: string[];
  version: string;
  patch?: string;
  environmentSetupCommit?: string;
  where: string;
}

const REQUIRED = ['instance_id', 'repo', 'base_commit', 'problem_statement', 'test_patch', 'FAIL_TO_PASS', 'PASS_TO_PASS', 'version'] as const;
const OPTIONAL = ['patch', 'environment_setup_commit'] as const;
const FILE_FIX =
  'pass an official SWE-bench file unchanged: JSONL (one instance per line) or the Hugging Face Parquet (e.g. princeton-nlp/SWE-bench_Verified data/test-00000-of-00001.parquet)';
const REPO = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;
const COMMIT = /^[0-9a-f]{7,40}$/;

/** A list of test names: a JSON-encoded list (the official files) or a list. */
function testList(v: unknown): string[] | undefined {
  let list: unknown = v;
  if (typeof v === 'string') {
    try {
      list = JSON.parse(v);
    } catch {
      return undefined;
    }
  }
  return Array.isArray(list) && list.every((x) => typeof x === 'string' && x !== '') ? (list as string[]) : undefined;
}

/** Validates one row; pushes every problem of it; returns the instance when valid. */
function instanceOfRow(row: RawRow, problems: string[]): SweInstance | undefined {
  if (row.value === null || typeof row.value !== 'object' || Array.isArray(row.value)) {
    problems.push(`${row.where}: is not an object with the fields ${REQUIRED.join(', ')}. Fix: ${FILE_FIX}.`);
    return undefined;
  }
  const v = row.value as Record<string, unknown>;
  const before = problems.length;
  const bad = (field: string, what: string, fix: string) => problems.push(`${row.where}: field "${field}": ${what}. Fix: ${fix}.`);
  const missing = (x: unknown) => x === undefined || x === null;
  const str = (field: string, fix: string): string => {
    const x = v[field];
    if (typeof x === 'string' && x.trim() !== '') return x;
    bad(field, missing(x) ? 'is missing' : typeof x === 'string' ? 'is empty' : `must be a string (received ${typeof x})`, fix);
    return '';
  };
  const instanceId = str('instance_id', 'give the instance id, e.g. "django__django-11099"');
  if (instanceId && !TASK_ID.test(instanceId)) bad('instance_id', `"${instanceId}" cannot be a task folder name`, 'use letters, digits, "_", "." and "-" (as SWE-bench ids do)');
  const repo = str('repo', 'give the GitHub repository as "owner/name"');
  if (repo && !REPO.test(repo)) bad('repo', `"${repo}" is not "owner/name"`, 'give the GitHub repository as "owner/name", e.g. "django/django"');
  const baseCommit = str('base_commit', 'give the commit the instance starts from (a hex sha)');
  if (baseCommit && !COMMIT.test(baseCommit)) bad('base_commit', `"${baseCommit}" is not a commit id`, 'give a hex sha of 7 to 40 lower-case characters');
  const problemStatement = str('problem_statement', 'give the issue text');
  const testPatch = str('test_patch', 'give the unified diff that adds the tests of the fix');
  if (testPatch && patchFiles(testPatch).targets.length === 0) bad('test_patch', 'has no "diff --git a/… b/…" file header', 'give the test patch as a git unified diff');
  let version = '';
  if (typeof v.version === 'string' && v.version.trim() !== '') version = v.version.trim();
  else bad('version', missing(v.version) ? 'is missing' : `must be a string such as "3.0" (received ${JSON.stringify(v.version)})`, 'give the version as a string (a number loses "3.10" vs "3.1")');
  const lists: Record<'FAIL_TO_PASS' | 'PASS_TO_PASS', string[]> = { FAIL_TO_PASS: [], PASS_TO_PASS: [] };
  for (const field of ['FAIL_TO_PASS', 'PASS_TO_PASS'] as const) {
    const list = testList(v[field]);
    if (list === undefined) bad(field, missing(v[field]) ? 'is missing' : 'must be a JSON-encoded list of test names (or a list of strings)', `give e.g. "[\\"tests/test_x.py::test_y\\"]"${field === 'PASS_TO_PASS' ? ' ("[]" when there are none)' : ''}`);
    else lists[field] = list;
  }
  if (testList(v.FAIL_TO_PASS)?.length === 0) bad('FAIL_TO_PASS', 'is empty: nothing would show the fix', 'list the tests the fix makes pass, or drop the instance');
  const out: SweInstance = { instanceId, repo, baseCommit, problemStatement, testPatch, failToPass: lists.FAIL_TO_PASS, passToPass: lists.PASS_TO_PASS, version, where: row.where };
  if (!missing(v.patch)) {
    if (typeof v.patch !== 'string') bad('patch', 'must be a string (the gold unified diff)', 'give the gold patch as a string, or leave it out');
    else if (v.patch.trim() !== '') out.patch = v.patch;
  }
  if (!missing(v.environment_setup_commit)) {
    const c = v.environment_setup_commit;
    if (typeof c !== 'string' || !COMMIT.test(c)) bad('environment_setup_commit', `must be a commit id (received ${JSON.stringify(c)})`, 'give a hex sha, or leave it out');
    else out.environmentSetupCommit = c;
  }
  const bytes = Buffer.byteLength(testPatch) + Buffer.byteLength(out.patch ?? '') + Buffer.byteLength(JSON.stringify(lists)) * 2 + SWEBENCH_SCORE_PY.length;
  if (bytes > MAX_TASK_BYTES) bad('test_patch', `the task's files would take ${bytes} bytes, more than ${MAX_TASK_BYTES}`, 'drop the instance');
  return problems.length > before ? undefined : out;
}

function checkOptions(o: SweBenchImportOptions): string[] {
  const problems: string[] = [];
  if (!o.files?.length) problems.push('import swe-bench: no instance files. Fix: pass one or more SWE-bench .jsonl or .parquet files.');
  if (!o.outDir) problems.push('import swe-bench: no output directory. Fix: give --out <dir>.');
  if (o.seed !== undefined && !Number.isSafeInteger(o.seed)) problems.push(`import swe-bench: seed ${o.seed} is not an integer. Fix: an integer such as 1.`);
  if (o.devFraction !== undefined && !(o.devFraction > 0 && o.devFraction < 1)) problems.push(`import swe-bench: devFraction ${o.devFraction} is out of range. Fix: a number strictly between 0 and 1, e.g. 0.2.`);
  if (o.imageTemplate !== undefined) {
    const unknown = [...o.imageTemplate.matchAll(/\{(\w*)\}/g)].map((m) => m[1]).filter((n) => !(IMAGE_PLACEHOLDERS as readonly string[]).includes(n));
    if (o.imageTemplate.trim() === '') problems.push('import swe-bench: the image template is empty. Fix: e.g. --image-template "swebench/sweb.eval.x86_64.{instance_id_docker}:latest".');
    else if (unknown.length) problems.push(`import swe-bench: image template "${o.imageTemplate}" has unknown placeholder(s) ${unknown.map((n) => `{${n}}`).join(', ')}. Fix: use ${IMAGE_PLACEHOLDERS.map((n) => `{${n}}`).join(', ')}.`);
  }
  if (o.outDir && existsSync(join(o.outDir, 'tasks')) && !existsSync(join(o.outDir, 'family.json'))) {
    problems.push(`import swe-bench: ${join(o.outDir, 'tasks')} exists but ${o.outDir} holds no family.json. Fix: choose an empty or new --out directory (a previous import's tasks/ is replaced, other folders are never touched).`);
  }
  return problems;
}

/** The instructions of an instance: the issue, then how to work. */
export function sweInstructions(i: Pick<SweInstance, 'problemStatement' | 'repo' | 'baseCommit'>): string {
  return (
    `${i.problemStatement.trim()}\n\n---\n` +
    `You are working in a checkout of ${i.repo} at commit ${i.baseCommit.slice(0, 12)} (the current directory): resolve the issue above by changing the repository's code. Hidden tests decide whether it is resolved; do not change the existing tests.\n`
  );
}

/** The files of one task, relative to `tasks/<id>/`. */
function taskFiles(i: SweInstance, imageTemplate: string, spec: SweRepoSpec): Record<string, string> {
  const files = patchFiles(i.testPatch);
  const scoreSpec: SweScoreSpec = {
    instanceId: i.instanceId,
    repo: i.repo,
    version: i.version,
    baseCommit: i.baseCommit,
    setup: SWEBENCH_SETUP,
    evalCommands: spec.evalCommands,
    install: spec.install ?? null,
    testCommand: spec.testCommand,
    directives: testDirectives(i.testPatch, spec.djangoLabels ?? false),
    parser: spec.parser,
    resetFiles: files.existing,
    newFiles: files.created,
    failToPass: i.failToPass,
    passToPass: i.passToPass,
  };
  const task: WorkspaceTaskJson = {
    instructions: sweInstructions(i),
    score: { command: ['python3', '.uplift/score.py'], timeoutSeconds: SWEBENCH_SCORE_TIMEOUT_SECONDS },
    failToPass: i.failToPass,
    passToPass: i.passToPass,
    image: renderImage(imageTemplate, i),
    // SWE-bench's instance images hold the repository at /testbed, checked out and installed in place.
    workdir: '/testbed',
    repo: i.repo,
    baseCommit: i.baseCommit,
  };
  const out: Record<string, string> = {
    'task.json': JSON.stringify(task, null, 2) + '\n',
    'hidden/.uplift/test.patch': i.testPatch,
    'hidden/.uplift/spec.json': JSON.stringify(scoreSpec, null, 2) + '\n',
    'hidden/.uplift/score.py': SWEBENCH_SCORE_PY,
  };
  if (i.patch !== undefined) out['reference.patch'] = i.patch;
  return out;
}

/**
 * Imports SWE-bench instance files (JSONL or Parquet) as a workspace task family in `outDir`:
 * every row validated (every problem reported at once, as `file:line` or `file row N`, with a
 * fix; ids unique across files), a seeded dev/test split stratified by repository
 * (`stratifiedSplit`), one task folder per instance (task.json with `image`, `repo`,
 * `baseCommit`; hidden `.uplift/` files; reference.patch from the gold `patch`). Throws
 * SpecError and writes nothing when anything is wrong.
 */
export async function importSweBench(opts: SweBenchImportOptions): Promise<SweBenchImportResult> {
  const problems = checkOptions(opts);
  if (problems.length) throw new SpecError(problems);
  const seed = opts.seed ?? 1;
  const devFraction = opts.devFraction ?? 0.2;
  const imageTemplate = opts.imageTemplate ?? DEFAULT_IMAGE_TEMPLATE;
  const instances: SweInstance[] = [];
  const seen = new Map<string, string>();
  for (const file of opts.files) {
    const before = problems.length;
    if (!existsSync(file)) problems.push(`${file}: no such file. Fix: pass the path of a SWE-bench .jsonl or .parquet file.`);
    else if (!lstatSync(file).isFile()) problems.push(`${file}: not a regular file. Fix: pass the path of a SWE-bench .jsonl or .parquet file.`);
    else if (!/\.(jsonl|ndjson|parquet)$/i.test(file)) problems.push(`${file}: unsupported format. Fix: ${FILE_FIX} (.jsonl, .ndjson or .parquet; convert a JSON array with jq -c '.[]' file.json > file.jsonl).`);
    if (problems.length > before) continue;
    const rows = await readRows(file, { required: REQUIRED, optional: OPTIONAL, fix: FILE_FIX }, problems);
    if (rows.length === 0 && problems.length === before) problems.push(`${file}: has no rows. Fix: ${FILE_FIX}.`);
    for (const row of rows) {
      const inst = instanceOfRow(row, problems);
      if (!inst) continue;
      const first = seen.get(inst.instanceId);
      if (first) problems.push(`${row.where}: field "instance_id": "${inst.instanceId}" appears twice (first at ${first}). Fix: import each instance once.`);
      else {
        seen.set(inst.instanceId, row.where);
        instances.push(inst);
      }
    }
  }
  if (problems.length) throw new SpecError(problems);

  const { dev, test } = stratifiedSplit(instances, (i) => i.repo, seed, devFraction);
  const where = `${opts.outDir} (imported)`;
  if (dev.length === 0) problems.push(`${where}: the dev split is empty (${instances.length} instance(s), devFraction ${devFraction}). Fix: import more instances or raise --dev-fraction.`);
  if (test.length === 0) problems.push(`${where}: the test split is empty. Fix: import more instances or lower --dev-fraction.`);
  if (problems.length) throw new SpecError(problems);

  const tasksDir = join(opts.outDir, 'tasks');
  rmSync(tasksDir, { recursive: true, force: true });
  mkdirSync(tasksDir, { recursive: true });
  const unknownRepos = new Set<string>();
  for (const i of instances) {
    const specOf = SWE_REPO_SPECS[i.repo];
    if (!specOf) unknownRepos.add(i.repo);
    for (const [rel, text] of Object.entries(taskFiles(i, imageTemplate, specOf ? specOf(i.version) : FALLBACK_SPEC))) {
      const path = join(tasksDir, i.instanceId, rel);
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, text);
    }
  }
  const sources = [...new Set(opts.files.map((f) => f.split(/[\\/]/).slice(-2).join('/')))].join(', ');
  writeFileSync(join(opts.outDir, 'family.json'), JSON.stringify({ task: SWEBENCH_TASK, source: `SWE-bench instances imported from ${sources} (uplift import swe-bench)` }, null, 2) + '\n');
  writeFileSync(join(opts.outDir, 'splits.json'), JSON.stringify({ dev: dev.map((i) => i.instanceId), test: test.map((i) => i.instanceId) }, null, 2) + '\n');

  const repos = [...new Set(instances.map((i) => i.repo))].sort().map((repo) => ({
    repo,
    dev: dev.filter((i) => i.repo === repo).length,
    test: test.filter((i) => i.repo === repo).length,
  }));
  return { outDir: opts.outDir, dev: dev.length, test: test.length, repos, unknownRepos: [...unknownRepos].sort(), withReferencePatch: instances.filter((i) => i.patch !== undefined).length };
}

/**
 * `.uplift/score.py`, the score command of every imported task (Python 3.6+, standard library):
 * run from the repository checkout inside the instance image. It resets the files the test patch
 * touches to the base commit (removing files it creates), applies `.uplift/test.patch` (`git
 * apply`), re-installs the package, runs the test command on the patch's test files, reads each
 * test's status with the repository's log parser, and prints `{"score": 1}` when every
 * FAIL_TO_PASS and PASS_TO_PASS test passed (or xfailed), else `{"score": 0}`, as its last stdout
 * line (exit 0 either way; the test output and the reasons go to stderr).
 */
export const SWEBENCH_SCORE_PY = String.raw`#!/usr/bin/env python3
"""Scores one SWE-bench task (written by "uplift import swe-bench"; docs/cbm-workspace.md).

Run from the repository checkout in the task's instance image: resets the files the test patch
touches to the base commit, applies .uplift/test.patch, re-installs the package, runs the tests
of the patch, reads each test's status from the log and prints {"score": 1} when every
FAIL_TO_PASS and PASS_TO_PASS test passed, else {"score": 0}, as the last line of stdout.
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PASSED, FAILED, SKIPPED, ERROR, XFAIL = "PASSED", "FAILED", "SKIPPED", "ERROR", "XFAIL"
STATUSES = (PASSED, FAILED, SKIPPED, ERROR, XFAIL)
GIT = ["git", "-c", "safe.directory=*"]


def log(text):
    sys.stderr.write(text.rstrip("\n") + "\n")
    sys.stderr.flush()


def finish(score, why):
    log("uplift score.py: " + why)
    sys.stdout.write(json.dumps({"score": score}) + "\n")
    sys.stdout.flush()
    sys.exit(0)


def bash(lines):
    """Runs the lines as one bash script; returns (exit code, stdout and stderr together)."""
    proc = subprocess.Popen(["bash", "-c", "\n".join(lines)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = proc.communicate()
    return proc.returncode, out.decode("utf-8", "replace")


# A test's status is the worst the log shows for it: a line a test process prints later (its own
# "PASSED <id>") never hides the runner's FAILED or ERROR for the same test.
_RANK = {FAILED: 3, ERROR: 3, SKIPPED: 2, PASSED: 1, XFAIL: 1}


def put(result, name, status):
    if _RANK.get(status, 3) >= _RANK.get(result.get(name), 0):
        result[name] = status


def fold(pairs):
    result = {}
    for status, name in pairs:
        put(result, name, status)
    return result


def _status_lines(text, clean=None):
    for line in text.split("\n"):
        if clean is not None:
            line = clean(line)
        if not line.startswith(STATUSES):
            continue
        if line.startswith(FAILED):
            line = line.replace(" - ", " ")
        parts = line.split()
        if len(parts) > 1:
            yield parts[0], parts[1]


def parse_pytest(text):
    """The short test summary of pytest -rA: "PASSED path::test", "FAILED path::test - reason"."""
    return fold(_status_lines(text))


def parse_pytest_options(text):
    """pytest, with a parameter that is a path reduced to its last component."""
    result = {}
    for status, name in _status_lines(text):
        m = re.match(r"(.*?)\[(.*)\]", name)
        if m:
            main, option = m.groups()
            if option.startswith("/") and not option.startswith("//") and "*" not in option:
                option = "/" + option.split("/")[-1]
            name = "{}[{}]".format(main, option)
        put(result, name, status)
    return result


_CONTROL = dict((i, None) for i in range(1, 32))


def parse_pytest_v2(text):
    """pytest with colour codes and control characters removed first."""
    clean = lambda line: re.sub(r"\[(\d+)m", "", line).translate(_CONTROL)
    return fold(_status_lines(text, clean))


def parse_matplotlib(text):
    clean = lambda line: line.replace("MouseButton.LEFT", "1").replace("MouseButton.RIGHT", "3")
    return fold(_status_lines(text, clean))


def parse_seaborn(text):
    result = {}
    for line in text.split("\n"):
        parts = line.split()
        if line.startswith(FAILED) and len(parts) > 1:
            put(result, parts[1], FAILED)
        elif " " + PASSED + " " in line:
            if len(parts) > 1 and parts[1] == PASSED:
                put(result, parts[0], PASSED)
        elif line.startswith(PASSED) and len(parts) > 1:
            put(result, parts[1], PASSED)
    return result


_DJANGO_MULTILINE = [
    r"^(.*?)\s\.\.\.\sTesting\ against\ Django\ installed\ in\ ((?s:.*?))\ silenced\)\.\nok$",
    r"^(.*?)\s\.\.\.\sInternal\ Server\ Error:\ \/(.*)\/\nok$",
    r"^(.*?)\s\.\.\.\sSystem check identified no issues \(0 silenced\)\nok$",
]


def parse_django(text):
    """Django's runner at verbosity 2: "test_x (module.Class) ... ok" (or FAIL, ERROR, skipped)."""
    result = {}
    for line in text.split("\n"):
        line = line.strip()
        if "--version is equivalent to version" in line:
            put(result, "--version is equivalent to version", PASSED)
        for suffix in (" ... ok", " ... OK", " ...  OK"):
            if line.endswith(suffix):
                put(result, line[: -len(suffix)], PASSED)
                break
        if " ... skipped" in line:
            put(result, line.split(" ... skipped")[0], SKIPPED)
        if line.endswith(" ... FAIL"):
            put(result, line.split(" ... FAIL")[0], FAILED)
        if line.startswith("FAIL:") and len(line.split()) > 1:
            put(result, line.split()[1].strip(), FAILED)
        if line.endswith(" ... ERROR"):
            put(result, line.split(" ... ERROR")[0], ERROR)
        if line.startswith("ERROR:") and len(line.split()) > 1:
            put(result, line.split()[1].strip(), ERROR)
    # A long message printed by a test can split "name ... ok" over lines.
    for pattern in _DJANGO_MULTILINE:
        for m in re.finditer(pattern, text, re.MULTILINE):
            put(result, m.group(1), PASSED)
    return result


def parse_sympy(text):
    """sympy's bin/test --verbose: "test_x ok" / " F" / " E", and "____ path.py:test_x ____" failures."""
    result = {}
    for m in re.findall(r"(_*) (.*)\.py:(.*) (_*)", text):
        put(result, "{}.py:{}".format(m[1], m[2]), FAILED)
    for line in text.split("\n"):
        line = line.strip()
        if line.startswith("test_"):
            if line.endswith(" E"):
                put(result, line.split()[0], ERROR)
            if line.endswith(" F"):
                put(result, line.split()[0], FAILED)
            if line.endswith(" ok"):
                put(result, line.split()[0], PASSED)
    return result


PARSERS = {
    "pytest": parse_pytest,
    "pytest_options": parse_pytest_options,
    "pytest_v2": parse_pytest_v2,
    "matplotlib": parse_matplotlib,
    "seaborn": parse_seaborn,
    "django": parse_django,
    "sympy": parse_sympy,
}


def remove(path):
    if os.path.islink(path) or os.path.isfile(path):
        os.remove(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)


def not_dumpable():
    """No other process of this uid (the repository's code runs as it) may take this one's file
    descriptors (pidfd_getfd), trace it or read /proc/<pid>/fd: its stdout carries the verdict."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
    except Exception as e:
        log("could not make score.py non-dumpable: {}".format(e))


def reset_pytest_hooks(base):
    """conftest.py files and pytest's config files as at the base commit: code there runs inside
    pytest and could rewrite its reports. Ones the agent added are removed."""
    code, out = bash(["git -c safe.directory='*' ls-files -z --others --cached -- '*conftest.py' 'conftest.py' pytest.ini tox.ini"])
    for path in [p for p in out.split("\0") if p]:
        if subprocess.call(GIT + ["cat-file", "-e", "{}:{}".format(base, path)], stderr=subprocess.DEVNULL) == 0:
            subprocess.call(GIT + ["checkout", base, "--", path])
        else:
            remove(path)


def main():
    not_dumpable()
    with open(os.path.join(HERE, "spec.json")) as f:
        spec = json.load(f)
    with open(os.path.join(HERE, "test.patch"), "rb") as f:
        test_patch = f.read()
    # The test ids and the patch are in memory now: gone from the workspace before any code of the
    # repository runs, so the code under test cannot read which tests are looked for.
    remove(HERE)
    # 1. The files the test patch touches start from the base commit, whatever the agent did to them.
    for path in spec["resetFiles"]:
        if subprocess.call(GIT + ["checkout", spec["baseCommit"], "--", path]) != 0:
            log("could not reset {} to {}".format(path, spec["baseCommit"]))
    for path in spec["newFiles"]:
        remove(path)
    reset_pytest_hooks(spec["baseCommit"])
    # 2. The tests of the fix.
    applied = subprocess.Popen(GIT + ["apply", "-v", "-"], stdin=subprocess.PIPE)
    applied.communicate(test_patch)
    if applied.returncode != 0:
        finish(0, "the test patch did not apply")
    prelude = spec["setup"] + spec["evalCommands"]
    # 3. The agent's changes take effect (packages installed without -e), as in SWE-bench's harness.
    if spec.get("install"):
        code, out = bash(prelude + [spec["install"]])
        log(out)
        if code != 0:
            log("install exited {} (continuing, as SWE-bench does)".format(code))
    # 4. The tests.
    command = " ".join([spec["testCommand"]] + [shlex.quote(d) for d in spec["directives"]])
    log("+ " + command)
    code, out = bash(prelude + [command])
    log(out)
    status = PARSERS[spec["parser"]](out)
    ok = lambda test: status.get(test) in (PASSED, XFAIL)
    f2p = [t for t in spec["failToPass"] if not ok(t)]
    p2p = [t for t in spec["passToPass"] if not ok(t)]
    summary = "FAIL_TO_PASS {}/{} passed, PASS_TO_PASS {}/{} passed (test command exited {})".format(
        len(spec["failToPass"]) - len(f2p), len(spec["failToPass"]), len(spec["passToPass"]) - len(p2p), len(spec["passToPass"]), code
    )
    for t in (f2p + p2p)[:20]:
        log("not passed: {} ({})".format(t, status.get(t, "not in the log")))
    finish(1 if not f2p and not p2p else 0, summary)


if __name__ == "__main__":
    main()
`;
