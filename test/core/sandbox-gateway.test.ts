import { request } from 'node:http';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { ModelGateway, OfflineUpstream, TokenLedger, type Upstream } from '../../core/gateway/gateway';
import { runAgentOnTasks } from '../../core/ra/protocol';
import { writeFileSync } from 'node:fs';
import { describeWithBwrap } from '../support/bwrap';

const PROMPT = 'Answer with exactly one of these labels: yes | no\n\nText: reward hacking\nLabel: yes\n\nText: pasta\nLabel: no\n\nText: reward models\nLabel:';

describe('gateways of one job (TLA model + RA model)', () => {
  test('two gateways sharing a ledger have one budget between them', async () => {
    // GIVEN the TLA's gateway and the RA's gateway on one ledger of 400 tokens
    const ledger = new TokenLedger(400);
    const tla = new ModelGateway({ upstream: new OfflineUpstream(), ledger, name: 'tla' });
    const ra = new ModelGateway({ upstream: new OfflineUpstream(), ledger, name: 'ra' });
    const clients = await Promise.all(
      [tla, ra].map(async (g) => {
        const env = g.agentEnv(await g.start());
        return new OpenAI({ baseURL: env.OPENAI_BASE_URL, apiKey: env.OPENAI_API_KEY, maxRetries: 0 });
      }),
    );
    try {
      const ask = (c: OpenAI) => c.chat.completions.create({ model: 'offline', messages: [{ role: 'user', content: PROMPT }], max_tokens: 4 });
      // WHEN both spend until refused
      const errors: unknown[] = [];
      for (let i = 0; i < 14; i++) await ask(clients[i % 2]).catch((e: unknown) => errors.push(e));
      // THEN the spend of both counts against the one budget, and both refuse once it is spent
      expect(ledger.spent).toBe(tla.usage.totalTokens + ra.usage.totalTokens);
      expect(ledger.spent).toBeLessThanOrEqual(400);
      expect(tla.usage.totalTokens).toBeGreaterThan(0);
      expect(ra.usage.totalTokens).toBeGreaterThan(0);
      expect(tla.usage.rejected + ra.usage.rejected).toBe(errors.length);
      expect(errors.length).toBeGreaterThan(0);
      expect((errors[0] as { code?: string }).code).toBe('budget_exhausted');
      // AND each gateway keeps its own key
      expect(tla.jobToken).not.toBe(ra.jobToken);
    } finally {
      await tla.stop();
      await ra.stop();
    }
  });

  test('a gateway needs exactly one budget', () => {
    expect(() => new ModelGateway({ upstream: new OfflineUpstream() })).toThrow('the gateway needs tokenBudget or a shared ledger');
    expect(() => new ModelGateway({ upstream: new OfflineUpstream(), tokenBudget: 5, ledger: new TokenLedger(6) })).toThrow(/not both \(received tokenBudget 5 and a ledger of 6\)/);
  });

  test('it also serves on a Unix socket, with the same key check, and removes the socket when stopped', async () => {
    const gw = new ModelGateway({ upstream: new OfflineUpstream(), tokenBudget: 10_000 });
    await gw.start();
    const socketPath = join(mkdtempSync(join(tmpdir(), 'gw-')), 'gateway.sock');
    await gw.listenUnix(socketPath);
    const get = (key: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ socketPath, path: '/v1/models', headers: { authorization: `Bearer ${key}` } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      expect(await get(gw.jobToken)).toBe(200);
      expect(await get('wrong')).toBe(401);
    } finally {
      await gw.stop();
    }
    expect(existsSync(socketPath)).toBe(false);
  });

  test('an upstream answer without usage is charged at the estimate, so the budget still holds', async () => {
    const noUsage: Upstream = { model: 'm', chat: async () => ({ status: 200, body: { choices: [{ index: 0, message: { role: 'assistant', content: 'yes' }, finish_reason: 'stop' }] } }) };
    const gw = new ModelGateway({ upstream: noUsage, tokenBudget: 10_000 });
    const env = gw.agentEnv(await gw.start());
    try {
      const c = new OpenAI({ baseURL: env.OPENAI_BASE_URL, apiKey: env.OPENAI_API_KEY, maxRetries: 0 });
      await c.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x'.repeat(400) }], max_tokens: 10 });
      expect(gw.usage.promptTokens).toBeGreaterThanOrEqual(100);
      expect(gw.usage.completionTokens).toBeGreaterThan(0);
      expect(gw.ledger.spent).toBe(gw.usage.totalTokens);
    } finally {
      await gw.stop();
    }
  });
});

describeWithBwrap('the gateway from a bwrap sandbox', () => {
  test('an agent given only a loopback OPENAI_BASE_URL still reaches it from a sandbox without a network (relayed)', async () => {
    const gw = new ModelGateway({ upstream: new OfflineUpstream(), tokenBudget: 100_000 });
    const env = gw.agentEnv(await gw.start());
    const dir = mkdtempSync(join(tmpdir(), 'relay-'));
    writeFileSync(
      join(dir, 'agent.py'),
      'import json, os, sys, urllib.request\nfor l in sys.stdin:\n  t = json.loads(l)\n  req = urllib.request.Request(os.environ["OPENAI_BASE_URL"] + "/chat/completions", data=json.dumps({"model": "offline", "messages": [{"role": "user", "content": t["text"]}]}).encode(), headers={"authorization": "Bearer " + os.environ["OPENAI_API_KEY"], "content-type": "application/json"})\n  print(json.dumps({"id": t["id"], "output": json.load(urllib.request.urlopen(req))["choices"][0]["message"]["content"]}))\n',
    );
    try {
      const r = await runAgentOnTasks({ bundleDir: dir, entrypoint: ['python3', 'agent.py'], tasks: [{ id: 'a', text: PROMPT, labels: ['yes', 'no'] }], env });
      expect({ isolation: r.isolation, outcomes: r.outcomes, stderr: r.stderrTail }).toEqual({ isolation: 'bwrap', outcomes: [{ id: 'a', output: 'yes' }], stderr: '' });
    } finally {
      await gw.stop();
    }
  });
});
