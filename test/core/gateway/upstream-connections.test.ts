import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpUpstream, ModelGateway, type Upstream, type UpstreamAnswer } from '../../../core/gateway/gateway';
import { serveOfflineModel } from '../../../core/gateway/offline-server';
import { sanitizeChatRequest } from '../../../core/gateway/request-policy';

const ANSWER = JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1 } });

/** An endpoint that counts the TCP connections it is opened and the calls it holds at once; `hold` decides when each call is answered. */
async function countingEndpoint(hold: (answer: () => void, inFlight: number) => void = (answer) => answer()): Promise<{ baseUrl: string; connections: () => number; calls: () => number; maxInFlight: () => number; close: () => Promise<void> }> {
  let connections = 0;
  let calls = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      calls++;
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      hold(() => {
        inFlight--;
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(ANSWER) });
        res.end(ANSWER);
      }, inFlight);
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    connections: () => connections,
    calls: () => calls,
    maxInFlight: () => maxInFlight,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const REQUEST = { messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 };

describe('HttpUpstream: connections', () => {
  test('GIVEN 50 calls one after another WHEN they are sent THEN all travel on one kept-alive connection', async () => {
    const ep = await countingEndpoint();
    const up = new HttpUpstream(ep.baseUrl, 'k', 'm');
    try {
      for (let i = 0; i < 50; i++) expect((await up.chat(REQUEST)).status).toBe(200);
      expect(ep.calls()).toBe(50);
      expect(ep.connections()).toBe(1);
      expect(up.openConnections).toBe(1);
    } finally {
      up.close();
      await ep.close();
    }
  });

  test('GIVEN 100 calls at once WHEN the endpoint answers none until all 100 have arrived THEN they are all in flight together (none waits for a socket), and a second wave reuses the same 100 connections', async () => {
    const waiting: (() => void)[] = [];
    // Answers the wave once 100 calls are held (none would be, were the pool smaller than 100 sockets: the test would then time out).
    const ep = await countingEndpoint((answer, inFlight) => {
      waiting.push(answer);
      if (inFlight === 100) for (const a of waiting.splice(0)) a();
    });
    const up = new HttpUpstream(ep.baseUrl, 'k', 'm');
    try {
      for (let wave = 0; wave < 2; wave++) {
        const answers = await Promise.all(Array.from({ length: 100 }, () => up.chat(REQUEST)));
        expect(answers.every((a) => a.status === 200)).toBe(true);
      }
      expect(ep.maxInFlight()).toBe(100);
      expect(ep.calls()).toBe(200);
      expect(ep.connections()).toBe(100);
    } finally {
      up.close();
      await ep.close();
    }
  });

  test('GIVEN a gateway in front of the offline model server WHEN an agent makes calls THEN the gateway reuses its upstream connection', async () => {
    const model = await serveOfflineModel();
    let connections = 0;
    model.server.on('connection', () => connections++);
    const gw = new ModelGateway({ upstream: new HttpUpstream(model.baseUrl, undefined, 'offline'), tokenBudget: 1_000_000 });
    try {
      const env = gw.agentEnv(await gw.start());
      for (let i = 0; i < 10; i++) {
        const r = await fetch(`${env.OPENAI_BASE_URL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${env.OPENAI_API_KEY}` }, body: JSON.stringify({ messages: [{ role: 'user', content: `call ${i}` }] }) });
        expect(r.status).toBe(200);
        await r.json();
      }
      expect(gw.usage.calls).toBe(10);
      expect(connections).toBe(1);
    } finally {
      await gw.stop();
      await model.close();
    }
  });
});

describe('ModelGateway: its upstream\'s connections when it stops', () => {
  test('GIVEN a gateway that owns its upstream (a job\'s) WHEN it stops THEN the kept-alive connections are closed; one that does not own it leaves them to the owner', async () => {
    const ep = await countingEndpoint();
    const call = async (gw: ModelGateway) => {
      const env = gw.agentEnv(await gw.start());
      const r = await fetch(`${env.OPENAI_BASE_URL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${env.OPENAI_API_KEY}` }, body: JSON.stringify(REQUEST) });
      expect(r.status).toBe(200);
      await r.json();
    };
    const owned = new HttpUpstream(ep.baseUrl, 'k', 'm');
    const shared = new HttpUpstream(ep.baseUrl, 'k', 'm');
    try {
      const a = new ModelGateway({ upstream: owned, tokenBudget: 10_000, ownsUpstream: true });
      await call(a);
      expect(owned.openConnections).toBe(1);
      // Destroyed sockets leave the agent's pool as their close events arrive.
      const settle = async (up: HttpUpstream) => {
        for (let i = 0; i < 50 && up.openConnections > 0; i++) await new Promise((r) => setTimeout(r, 10));
      };
      await a.stop();
      await settle(owned);
      expect(owned.openConnections).toBe(0);
      const b = new ModelGateway({ upstream: shared, tokenBudget: 10_000 });
      await call(b);
      await b.stop();
      await settle(shared);
      expect(shared.openConnections).toBe(1);
    } finally {
      shared.close();
      await ep.close();
    }
  });
});

describe('ModelGateway: giving up on calls at stop(), then starting again', () => {
  test('GIVEN a call stop() gave up on WHEN the gateway starts again THEN the abort reached that call only: a new call is forwarded with a live signal and answered', async () => {
    const signals: AbortSignal[] = [];
    const upstream: Upstream = {
      model: 'm',
      endpoint: 'test',
      promptReserve: () => 10,
      chat: (_b, signal) => {
        signals.push(signal as AbortSignal);
        // The first call never answers (until aborted); later ones answer at once.
        if (signals.length > 1) return Promise.resolve<UpstreamAnswer>({ status: 200, body: JSON.parse(ANSWER) });
        return new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted'))));
      },
    };
    const gw = new ModelGateway({ upstream, tokenBudget: 10_000, stopGraceMs: 0 });
    const post = (url: string) => fetch(`${url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.jobToken}` }, body: JSON.stringify(REQUEST) });
    const first = post(await gw.start()).catch(() => undefined);
    while (signals.length === 0) await new Promise((r) => setTimeout(r, 5));
    await gw.stop();
    await first;
    expect(signals[0].aborted).toBe(true);
    expect(gw.usage.calls).toBe(1);
    try {
      const r = await post(await gw.start());
      expect(r.status).toBe(200);
      expect(signals).toHaveLength(2);
      expect(signals[1].aborted).toBe(false);
      expect(gw.usage.calls).toBe(2);
    } finally {
      await gw.stop();
    }
  });
});

describe('offline model server', () => {
  test('GIVEN the same request twice and another WHEN sent THEN the same request gets the same answer (from its cache) and the other its own; a malformed one is refused', async () => {
    const model = await serveOfflineModel({ latencyMs: 1 });
    const post = async (body: string) => {
      const r = await fetch(`${model.baseUrl}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      return { status: r.status, body: (await r.json()) as { id?: string; choices?: { message: { content: string } }[]; error?: { message: string } } };
    };
    try {
      const a = JSON.stringify({ messages: [{ role: 'user', content: 'Answer with one of these labels: yes | no\n\nText: is this a test?' }] });
      const b = JSON.stringify({ messages: [{ role: 'user', content: 'Answer with one of these labels: red | blue\n\nText: the sky' }] });
      const [a1, a2, b1] = [await post(a), await post(a), await post(b)];
      expect(a1).toEqual(a2);
      expect(a1.status).toBe(200);
      expect(b1.status).toBe(200);
      expect(b1.body.id).not.toBe(a1.body.id);
      expect((await post('{not json')).status).toBe(400);
      const invalid = await post(JSON.stringify({ messages: [] }));
      expect(invalid.status).toBe(400);
      expect(invalid.body.error?.message).toMatch(/invalid chat request/);
    } finally {
      await model.close();
    }
  });
});

describe('request policy: the field a malformed value is refused at', () => {
  test.each([
    ['a prototype key under an odd key', '{"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {"name": "f", "parameters": {"odd key": {"__proto__": {}}}}}]}', 'tools[0].function.parameters["odd key"].__proto__'],
    ['a lone surrogate in an array under an odd key', '{"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_schema", "json schema": {"enum": ["a", "\\ud800"]}}}', 'response_format["json schema"].enum[1]'],
    ['a lone surrogate in the top-level model', '{"messages": [{"role": "user", "content": "x"}], "model": "\\udc00"}', 'model'],
  ])('%s', (_name, body, field) => {
    const r = sanitizeChatRequest(JSON.parse(body));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.refusal.field).toBe(field);
  });
});
