import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { IMAGE_CONTEXT_EXCLUDES, IMAGE_UID, JOB_COMMANDS, MODEL_CACHE } from '../../infra/constructs/jobs';

const ROOT = resolve(__dirname, '../..');
const DOCKERFILES = ['batch-images/Dockerfile.cpu', 'batch-images/Dockerfile.gpu'];

/** Instructions of a Dockerfile, continuation lines joined, comments dropped, ARG defaults substituted. */
function instructions(file: string): { op: string; args: string }[] {
  const text = readFileSync(join(ROOT, file), 'utf8').replace(/\\\n/g, ' ');
  const args: Record<string, string> = {};
  const out: { op: string; args: string }[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [op, ...rest] = line.split(/\s+/);
    let a = rest.join(' ').replace(/\$\{(\w+)\}/g, (_m, k: string) => args[k] ?? `\${${k}}`);
    if (op.toUpperCase() === 'ARG') {
      const m = /^(\w+)=(\S+)$/.exec(a);
      if (m) args[m[1]] = m[2];
    }
    a = a.trim();
    out.push({ op: op.toUpperCase(), args: a });
  }
  return out;
}

/** The top-level names the build context keeps (infra/constructs/jobs.ts allow-list). */
const CONTEXT = IMAGE_CONTEXT_EXCLUDES.filter((p) => p.startsWith('!')).map((p) => p.slice(1));

describe.each(DOCKERFILES)('%s', (file) => {
  const ins = instructions(file);
  const stages = ins.filter((i) => i.op === 'FROM');
  const lastStage = ins.slice(ins.lastIndexOf(stages[stages.length - 1]));

  test('every base image is pinned to an exact version (no latest, no floating major)', () => {
    const stageNames = stages.map((s) => / AS (\S+)$/i.exec(s.args)?.[1]).filter(Boolean);
    for (const s of stages) {
      const image = s.args.split(/\s+/)[0];
      if (stageNames.includes(image)) continue;
      expect(image).toMatch(/^[\w./-]+:\d+\.\d+\.\d+[\w.-]*$/);
    }
  });

  test('runs as the non-root user the GPU host cache is prepared for', () => {
    const users = lastStage.filter((i) => i.op === 'USER');
    expect(users.map((u) => u.args)).toEqual([`${IMAGE_UID}:${IMAGE_UID}`]);
    expect(lastStage.some((i) => i.op === 'RUN' && i.args.includes(`useradd --uid ${IMAGE_UID}`))).toBe(true);
  });

  test('installs Node dependencies exactly as the lockfile pins them, and copies only what the build context holds', () => {
    expect(ins.some((i) => i.op === 'RUN' && /npm install --omit=dev/.test(i.args))).toBe(true);
    for (const c of ins.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))) {
      const sources = c.args.split(/\s+/).slice(0, -1);
      for (const s of sources) {
        expect({ source: s, inContext: CONTEXT.includes(s.split('/')[0]) }).toEqual({ source: s, inContext: true });
        expect({ source: s, exists: existsSync(join(ROOT, s)) }).toEqual({ source: s, exists: true });
      }
    }
  });

  test('has an init process and a default command that runs a job entrypoint that exists', () => {
    expect(lastStage.find((i) => i.op === 'ENTRYPOINT')?.args).toBe('["/usr/bin/tini", "--"]');
    const cmd = JSON.parse(lastStage.find((i) => i.op === 'CMD')?.args ?? '[]') as string[];
    for (const f of cmd.filter((a) => a.endsWith('.ts'))) expect(existsSync(join(ROOT, f))).toBe(true);
  });
});

describe('the GPU image', () => {
  const ins = instructions('batch-images/Dockerfile.gpu');
  test('starts from a CUDA base, installs a pinned vLLM, and tells the launcher where vLLM and the weights cache are', () => {
    const from = ins.filter((i) => i.op === 'FROM').pop()?.args;
    expect(from).toMatch(/^nvidia\/cuda:\d+\.\d+\.\d+-[\w-]+-ubuntu\d+\.\d+$/);
    expect(ins.some((i) => i.op === 'RUN' && /pip install --no-cache-dir "vllm==\d+\.\d+\.\d+(\.post\d+)?"/.test(i.args))).toBe(true);
    const env = ins.filter((i) => i.op === 'ENV').map((i) => i.args).join(' ');
    expect(env).toContain('UPLIFT_VLLM_COMMAND=/opt/vllm/bin/vllm');
    expect(env).toContain(`UPLIFT_MODEL_CACHE=${MODEL_CACHE.containerPath}`);
  });
});

test('every job definition command runs a file of the repository that the images contain', () => {
  for (const cmd of [...Object.values(JOB_COMMANDS.cpu), ...Object.values(JOB_COMMANDS.gpu)]) {
    expect(cmd.slice(0, 3)).toEqual(['node', '--import', 'tsx']);
    for (const f of cmd.slice(3)) {
      expect(existsSync(join(ROOT, f))).toBe(true);
      expect(CONTEXT).toContain(f.split('/')[0]);
    }
  }
});
