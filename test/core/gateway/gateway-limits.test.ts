import { request } from 'node:http';
import { ModelGateway, type Upstream } from '../../../core/gateway/gateway';
import { post } from './fake-endpoints';

function countingUpstream(): Upstream & { calls: number } {
  const u = {
    model: 'm',
    endpoint: 'test',
    calls: 0,
    chat: async () => (u.calls++, { status: 200, body: { choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1 } } }),
  };
  return u;
}

/** Sends headers and `write` to the gateway and resolves with the response status, without finishing the body. */
function rawPost(url: string, key: string, headers: Record<string, string | number>, write: (req: ReturnType<typeof request>) => void): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    write(req);
  });
}

async function withGateway(maxBodyBytes: number | undefined, f: (gw: ModelGateway, url: string, upstream: Upstream & { calls: number }) => Promise<void>): Promise<void> {
  const upstream = countingUpstream();
  const gw = new ModelGateway({ upstream, tokenBudget: 10_000_000, ...(maxBodyBytes === undefined ? {} : { maxBodyBytes }) });
  const url = await gw.start();
  try {
    await f(gw, url, upstream);
  } finally {
    await gw.stop();
  }
}

const bodyOf = (bytes: number) => {
  const base = JSON.stringify({ messages: [{ role: 'user', content: '' }] });
  return JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(bytes - base.length) }] });
};

describe('model gateway: request body size limit', () => {
  test('GIVEN a body over the limit WHEN posted THEN it is answered 413 and not forwarded; a body at the limit is', async () => {
    await withGateway(1024, async (gw, url, upstream) => {
      const over = await post(url, gw.jobToken, JSON.parse(bodyOf(1025)));
      expect(over.status).toBe(413);
      expect(over.json.error).toMatchObject({ code: 'request_too_large' });
      expect(over.json.error?.message).toContain('1024 bytes');
      expect(upstream.calls).toBe(0);
      const at = await post(url, gw.jobToken, JSON.parse(bodyOf(1024)));
      expect(at.status).toBe(200);
      expect(upstream.calls).toBe(1);
    });
  });

  test('GIVEN a declared content-length over the limit WHEN only the first bytes are sent THEN 413 comes back without the gateway waiting for (or buffering) the rest', async () => {
    await withGateway(1024, async (gw, url) => {
      const r = await rawPost(url, gw.jobToken, { 'content-length': 100 * 1024 * 1024 }, (req) => req.write('{"messages": ['));
      expect(r.status).toBe(413);
    });
  }, 15_000);

  test('GIVEN a chunked body with no length WHEN it passes the limit THEN it is answered 413 while the client is still sending', async () => {
    await withGateway(4096, async (gw, url) => {
      let stop = false;
      const r = await rawPost(url, gw.jobToken, { 'transfer-encoding': 'chunked' }, (req) => {
        const pump = () => {
          if (stop) return req.destroy();
          req.write('x'.repeat(1024));
          setTimeout(pump, 5);
        };
        pump();
      });
      stop = true;
      expect(r.status).toBe(413);
    });
  }, 15_000);

  test('GIVEN the default limit of 4 MiB WHEN a 5 MiB body is posted THEN 413, while a 3 MiB one is read', async () => {
    await withGateway(undefined, async (gw, url, upstream) => {
      expect((await post(url, gw.jobToken, JSON.parse(bodyOf(5 * 1024 * 1024)))).status).toBe(413);
      expect((await post(url, gw.jobToken, { ...JSON.parse(bodyOf(3 * 1024 * 1024)), max_tokens: 1 })).status).toBe(200);
      expect(upstream.calls).toBe(1);
    });
  });

  test('GIVEN a wrong key WHEN a huge body is posted THEN it is refused without being buffered', async () => {
    await withGateway(1024, async (_gw, url) => {
      const r = await rawPost(url, 'wrong', { 'content-length': 100 * 1024 * 1024 }, (req) => req.write('{'));
      expect(r.status).toBe(401);
    });
  }, 15_000);
});
