import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { IMAGE_CONTEXT_EXCLUDES, IMAGE_UID, JOB_COMMANDS, MODEL_CACHE } from '../../infra/constructs/jobs';

const ROOT = resolve(__dirname, '../..');
const DOCKERFILES = ['batch-images/Dockerfile.cpu', 'batch-images/Dockerfile.gpu'];

/** Instructions of a Dockerfile, continuation lines joined, comments dropped, ARG defaults substituted. */
function instructions(file: string): { op: string; args: string }[] {
  return parseDockerfile(readFileSync(join(ROOT, file), 'utf8'));
}

function parseDockerfile(source: string): { op: string; args: string }[] {
  const text = source.replace(/\\\n/g, ' ');
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
      expect(image).toMatch(/^[\w./-]+:v?\d+\.\d+\.\d+[\w.-]*(@sha256:[0-9a-f]{64})?$/);
      expect(image).not.toMatch(/:latest\b/);
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

/**
 * What an image installs that no version pins: a pip install of a package without `==<version>`,
 * an apt-get install that is neither from a dated snapshot of the archive (the only source of that
 * install) nor of `package=<version>`s, a download piped or saved by curl/wget, an `ADD <url>`.
 */
function unpinnedInstalls(ins: { op: string; args: string }[]): string[] {
  const problems: string[] = [];
  for (const { op, args } of ins) {
    if (op === 'ADD' && /https?:\/\//.test(args)) problems.push(`ADD of a URL: ${args}`);
    if (op !== 'RUN') continue;
    for (const cmd of args.split(/&&|;|\|\|/).map((c) => c.trim())) {
      const pip = /\bpip3?\s+install\s+(.*)$/.exec(cmd);
      if (pip) {
        const pkgs = pip[1].split(/\s+/).filter((a) => a && !a.startsWith('-')).map((a) => a.replace(/^["']|["']$/g, ''));
        for (const p of pkgs.length ? pkgs : ['(nothing named)']) if (!/^[\w.[\]-]+==[\w.+-]+$/.test(p)) problems.push(`pip install of an unpinned package: ${p}`);
        if (/(^|\s)-r\s/.test(pip[1])) problems.push(`pip install -r: ${cmd}`);
      }
      if (/\b(curl|wget)\b/.test(cmd)) problems.push(`download: ${cmd}`);
      const apt = /\bapt(-get)?\s+(.*\s)?install\s+(.*)$/.exec(cmd);
      if (apt) {
        const fromSnapshot = /-o Dir::Etc::SourceList=(\S+)/.exec(cmd);
        const onlySnapshot = fromSnapshot && /-o Dir::Etc::SourceParts=-(\s|$)/.test(cmd) && ins.some((i) => i.op === 'RUN' && new RegExp(`snapshot\\.ubuntu\\.com/ubuntu/(\\d{8}T\\d{6}Z|%s)\\b[^>]*> ${fromSnapshot[1].replace(/[.]/g, '\\.')}`).test(i.args));
        const pkgs = apt[3].split(/\s+/).filter((a) => a && !a.startsWith('-'));
        if (!onlySnapshot) for (const p of pkgs) if (!/^[\w.+-]+=[\w.:~+-]+$/.test(p)) problems.push(`apt-get install of an unpinned package: ${p}`);
      }
    }
  }
  return problems;
}

describe('the GPU image', () => {
  const ins = instructions('batch-images/Dockerfile.gpu');
  test('starts from the vLLM project\'s image of a tagged release, checks it is that version, and tells the launcher where vLLM and the weights cache are', () => {
    const from = ins.filter((i) => i.op === 'FROM').pop()?.args;
    const version = ins.find((i) => i.op === 'ARG' && i.args.startsWith('VLLM_VERSION='))?.args.split('=')[1];
    expect(version).toMatch(/^\d+\.\d+\.\d+(\.post\d+)?$/);
    expect(from).toBe(`vllm/vllm-openai:v${version}`);
    expect(ins.some((i) => i.op === 'RUN' && i.args.includes('m.version("vllm")') && i.args.includes(`= "${version}"`))).toBe(true);
    const env = ins.filter((i) => i.op === 'ENV').map((i) => i.args).join(' ');
    expect(env).toContain('UPLIFT_VLLM_COMMAND=vllm');
    expect(env).toContain(`UPLIFT_MODEL_CACHE=${MODEL_CACHE.containerPath}`);
  });

  test('installs pinned versions only: no pip install, Ubuntu packages from a dated snapshot of the archive and nothing else', () => {
    expect(unpinnedInstalls(ins)).toEqual([]);
    const snapshot = ins.find((i) => i.op === 'ARG' && i.args.startsWith('UBUNTU_SNAPSHOT='))?.args.split('=')[1];
    expect(snapshot).toMatch(/^\d{8}T\d{6}Z$/);
    expect(ins.some((i) => i.op === 'RUN' && /apt-get .*install .*\bbubblewrap\b.*\btini\b/.test(i.args))).toBe(true);
  });

  test('the pinning check catches what it is for (so the test above can fail)', () => {
    const bad = parseDockerfile(
      [
        'FROM nvidia/cuda:12.4.1-base-ubuntu22.04',
        'RUN apt-get update && apt-get install -y --no-install-recommends python3 tini=0.19.0-1',
        'RUN python3 -m venv /opt/vllm && /opt/vllm/bin/pip install --no-cache-dir "vllm==0.6.6.post1" && pip install vllm',
        'RUN curl -fsSL https://example.org/install.sh | sh',
        'ADD https://example.org/x.tar.gz /x.tar.gz',
        'RUN apt-get -o Dir::Etc::SourceList=/etc/apt/other.list -o Dir::Etc::SourceParts=- install -y bubblewrap',
      ].join('\n'),
    );
    expect(unpinnedInstalls(bad)).toEqual([
      'apt-get install of an unpinned package: python3',
      'pip install of an unpinned package: vllm',
      'download: curl -fsSL https://example.org/install.sh | sh',
      'ADD of a URL: https://example.org/x.tar.gz /x.tar.gz',
      'apt-get install of an unpinned package: bubblewrap',
    ]);
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
