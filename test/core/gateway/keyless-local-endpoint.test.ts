import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { ModelGateway } from '../../../core/gateway/gateway';
import { upstreamFor } from '../../../core/gateway/upstream';
import { isPrivateEndpoint, ModelSpec } from '../../../core/model-spec';
import { loadSpec } from '../../../core/spec';
import { prepareSweep } from '../../../core/sweep/stage';
import { specProblems } from '../../support/spec-problems';
import { EXAMPLES } from '../../support/specs';

/*
 * An `openai` model on this machine or a private network (Ollama, vLLM) needs no dummy key: with
 * apiKeyEnv left at its default and $OPENAI_API_KEY unset, its calls carry no Authorization
 * header. A public endpoint, or a key variable the spec names, still needs the key.
 */

/** An OpenAI-compatible stub on 127.0.0.1 that records each request's headers. */
async function headerStub(): Promise<{ baseUrl: string; headers: IncomingHttpHeaders[]; close: () => Promise<void> }> {
  const headers: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      headers.push(req.headers);
      const body = JSON.stringify({ id: 'c1', object: 'chat.completion', created: 0, model: 'llama3', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return { baseUrl, headers, close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))) };
}

/** One call through a job's gateway to the model's upstream, as an agent makes it. */
async function callThroughGateway(model: ModelSpec, env: Record<string, string | undefined>): Promise<void> {
  const gw = new ModelGateway({ upstream: upstreamFor(model, env), tokenBudget: 10_000 });
  try {
    const agent = gw.agentEnv(await gw.start());
    const client = new OpenAI({ baseURL: agent.OPENAI_BASE_URL, apiKey: agent.OPENAI_API_KEY, maxRetries: 0 });
    const r = await client.chat.completions.create({ model: agent.UPLIFT_MODEL, messages: [{ role: 'user', content: 'hello' }], max_tokens: 16 });
    expect(r.choices[0].message.content).toBe('hi');
  } finally {
    await gw.stop();
  }
}

describe('keyless local endpoints', () => {
  test('a loopback model with apiKeyEnv left at its default and $OPENAI_API_KEY unset is called with no Authorization header', async () => {
    const stub = await headerStub();
    try {
      await callThroughGateway(ModelSpec.parse({ provider: 'openai', name: 'llama3', baseUrl: stub.baseUrl }), {});
      expect(stub.headers).toHaveLength(1);
      expect(stub.headers[0]).not.toHaveProperty('authorization');
      // The same endpoint given as $OPENAI_BASE_URL (the model has no baseUrl) is keyless too.
      await callThroughGateway(ModelSpec.parse({ provider: 'openai', name: 'llama3' }), { OPENAI_BASE_URL: stub.baseUrl });
      expect(stub.headers).toHaveLength(2);
      expect(stub.headers[1]).not.toHaveProperty('authorization');
    } finally {
      await stub.close();
    }
  });

  test('with the key set, or a key variable the spec names, the key is sent as before', async () => {
    const stub = await headerStub();
    try {
      await callThroughGateway(ModelSpec.parse({ provider: 'openai', name: 'llama3', baseUrl: stub.baseUrl }), { OPENAI_API_KEY: 'sk-default' });
      await callThroughGateway(ModelSpec.parse({ provider: 'openai', name: 'llama3', baseUrl: stub.baseUrl, apiKeyEnv: 'VLLM_KEY' }), { VLLM_KEY: 'sk-vllm' });
      expect(stub.headers.map((h) => h.authorization)).toEqual(['Bearer sk-default', 'Bearer sk-vllm']);
    } finally {
      await stub.close();
    }
  });

  test('a public endpoint still needs its key: the error names the variable, the field, and both fixes', () => {
    const problems = specProblems(() => upstreamFor(ModelSpec.parse({ provider: 'openai', name: 'gpt-4o-mini' }), {}));
    expect(problems).toEqual([
      'model gpt-4o-mini: environment variable OPENAI_API_KEY is not set. Fix: export OPENAI_API_KEY=<key> (the gateway holds it; agents only get a per-job token); a server on this machine or a private network (Ollama, vLLM) needs no key: for one, set model.baseUrl to it, e.g. http://localhost:11434/v1 (https://api.openai.com/v1 is public)',
    ]);
  });

  test('a key variable the spec names must be set even on loopback; the error says it can be removed for a keyless server', () => {
    const problems = specProblems(() => upstreamFor(ModelSpec.parse({ provider: 'openai', name: 'llama3', baseUrl: 'http://localhost:11434/v1', apiKeyEnv: 'OLLAMA_KEY' }), {}));
    expect(problems).toEqual([expect.stringMatching(/^model llama3: environment variable OLLAMA_KEY is not set\. Fix: export OLLAMA_KEY=<key> \(.*\); or, if http:\/\/localhost:11434\/v1 takes calls without a key, remove model\.apiKeyEnv$/)]);
  });

  test('prepareSweep: a local RA model needs no key; a public one is refused naming ras.N.model.apiKeyEnv and the fix', () => {
    const spec = (model: string) => {
      const file = join(mkdtempSync(join(tmpdir(), 'uplift-keyless-')), 'sweep.yaml');
      writeFileSync(file, `name: keyless\ncbms: [{ id: tai, dataset: ${join(EXAMPLES, 'datasets/tai-safety')} }]\nras: [{ name: c, bundle: ${join(EXAMPLES, 'agents/classifier')}, model: ${model} }]\ntlas: [{ kind: noop }]\nprices: { models: { llama3: { inputPerMTok: 0, outputPerMTok: 0 } } }\nbudgets: { tlaTokens: 1000, shardTokens: 1000, tlaWallSeconds: 60, maxUsd: 100 }\n`);
      return loadSpec(file);
    };
    expect(prepareSweep(spec('{ provider: openai, name: llama3, baseUrl: "http://localhost:11434/v1" }'), {}).preview.runs).toHaveLength(1);
    expect(prepareSweep(spec('{ provider: openai, name: llama3 }'), { OPENAI_BASE_URL: 'http://10.0.0.5:8000/v1' }).preview.runs).toHaveLength(1);
    expect(specProblems(() => prepareSweep(spec('{ provider: openai, name: llama3, baseUrl: "https://llm.example.com/v1" }'), {}))).toEqual([
      expect.stringMatching(/sweep\.yaml: ras\.0\.model\.apiKeyEnv: environment variable OPENAI_API_KEY is not set\. Fix: export OPENAI_API_KEY=<key> \(.*\); .* set ras\.0\.model\.baseUrl to it, e\.g\. http:\/\/localhost:11434\/v1 \(https:\/\/llm\.example\.com\/v1 is public\)$/),
    ]);
  });
});

describe('isPrivateEndpoint', () => {
  test.each([
    ['http://localhost:11434/v1', true],
    ['http://127.0.0.1:8000/v1', true],
    ['http://127.8.9.10/v1', true],
    ['http://0.0.0.0:8000/v1', true],
    ['http://10.1.2.3/v1', true],
    ['http://172.16.0.1/v1', true],
    ['http://172.31.255.255/v1', true],
    ['http://192.168.1.20:8000/v1', true],
    ['http://169.254.10.1/v1', true],
    ['http://[::1]:8000/v1', true],
    ['http://[fd12:3456::1]/v1', true],
    ['http://[fe80::1]/v1', true],
    ['http://[::ffff:127.0.0.1]/v1', true],
    ['http://ollama:11434/v1', true],
    ['http://gpu-box.local/v1', true],
    ['http://vllm.internal/v1', true],
    ['http://app.localhost/v1', true],
    ['https://api.openai.com/v1', false],
    ['http://172.32.0.1/v1', false],
    ['http://172.15.255.255/v1', false],
    ['http://11.0.0.1/v1', false],
    ['http://100.64.0.1/v1', false],
    ['http://8.8.8.8/v1', false],
    ['http://[2001:db8::1]/v1', false],
    ['http://[::ffff:8.8.8.8]/v1', false],
    ['http://localhost.example.com/v1', false],
    ['not a url', false],
  ])('%s → %s', (url, expected) => {
    expect(isPrivateEndpoint(url)).toBe(expected);
  });
});
