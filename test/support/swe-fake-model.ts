import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadTaskFamily, type WorkspaceTask } from '../../core/cbm/workspace/family';

/** One hunk of a reference patch: the text it replaces and its replacement, in one file. */
interface Hunk {
  path: string;
  old: string;
  next: string;
  /** One line removed and one added: what a model without an edit tool can still do with a one-line script. */
  oneLine: boolean;
}

/** The hunks of a unified diff (`--- a/`, `+++ b/`, `@@` hunks; context lines kept on both sides). */
export function hunksOf(patch: string): Hunk[] {
  const hunks: Hunk[] = [];
  let path = '';
  let cur: { old: string[]; next: string[]; minus: number; plus: number } | undefined;
  const flush = () => {
    if (cur) hunks.push({ path, old: cur.old.join('\n') + '\n', next: cur.next.join('\n') + '\n', oneLine: cur.minus === 1 && cur.plus === 1 });
    cur = undefined;
  };
  for (const line of patch.split('\n')) {
    if (line.startsWith('+++ b/')) path = line.slice(6);
    else if (line.startsWith('--- ') || line.startsWith('diff ')) flush();
    else if (line.startsWith('@@')) {
      flush();
      cur = { old: [], next: [], minus: 0, plus: 0 };
    } else if (cur && line.startsWith('-')) {
      cur.old.push(line.slice(1));
      cur.minus++;
    } else if (cur && line.startsWith('+')) {
      cur.next.push(line.slice(1));
      cur.plus++;
    } else if (cur && line.startsWith(' ')) {
      cur.old.push(line.slice(1));
      cur.next.push(line.slice(1));
    }
  }
  flush();
  return hunks;
}

type Call = { name: string; arguments: Record<string, unknown> };

/**
 * A stand-in for a tool-calling model on the mini-swe tasks, computed from each task's reference
 * patch and the tools the agent offers — so a scaffold change changes what gets solved:
 * with an `edit_file` tool it applies every hunk with it; with `bash` only it can apply a hunk
 * that changes one line (by a one-line Python replacement) and gives up on the rest. Then it
 * answers without a tool call. `snoop` makes it search the sandbox for a hidden test first.
 * A task whose workspace has a `train.py` (an ML task) also gets `python3 train.py` run after the
 * edits, so it writes its predictions.
 * `alternate`: with `bash` only, it fixes a task of several hunks too, on every other
 * conversation about that task (the 1st, 3rd, … — attempts differ, for best-of-k).
 */
export async function startSweFakeModel(familyDir: string, opts: { snoop?: string; alternate?: boolean } = {}): Promise<{ baseUrl: string; requests: string[]; close(): Promise<void> }> {
  const f = loadTaskFamily(familyDir);
  const tasks: WorkspaceTask[] = [...f.dev, ...f.test];
  const requests: string[] = [];
  const conversations = new Map<string, number>();
  const plan = (task: WorkspaceTask, tools: string[], conversation: number): Call[] => [...edits(task, tools, conversation), ...('train.py' in task.workspace ? [{ name: 'bash', arguments: { command: 'python3 train.py' } }] : [])];
  const edits = (task: WorkspaceTask, tools: string[], conversation: number): Call[] => {
    const hunks = hunksOf(task.referencePatch ?? '');
    const calls: Call[] = opts.snoop ? [{ name: 'bash', arguments: { command: `grep -r --exclude-dir=usr --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev ${opts.snoop} / 2>/dev/null | head -5; echo searched` } }] : [];
    if (tools.includes('edit_file')) return [...calls, ...hunks.map((h) => ({ name: 'edit_file', arguments: { path: h.path, old_str: h.old, new_str: h.next } }))];
    if (hunks.every((h) => h.oneLine) || (opts.alternate && conversation % 2 === 1))
      return [
        ...calls,
        ...hunks.map((h) => {
          const payload = Buffer.from(JSON.stringify({ path: h.path, old: h.old, new: h.next })).toString('base64');
          return { name: 'bash', arguments: { command: `python3 -c "import base64,json,pathlib; d=json.loads(base64.b64decode('${payload}')); p=pathlib.Path(d['path']); p.write_text(p.read_text().replace(d['old'], d['new'], 1))"` } };
        }),
      ];
    return [...calls, { name: 'bash', arguments: { command: 'ls' } }];
  };
  let n = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      requests.push(text);
      const body = JSON.parse(text) as { messages: { role: string; content?: unknown }[]; tools?: { function: { name: string } }[] };
      const user = body.messages.find((m) => m.role === 'user' && typeof m.content === 'string')?.content as string | undefined;
      const task = tasks.find((t) => user !== undefined && user.includes(t.instructions.slice(0, 200)));
      const done = body.messages.filter((m) => m.role === 'tool').length;
      const tools = (body.tools ?? []).map((t) => t.function.name);
      // A conversation begins with a request holding no assistant turn yet.
      if (task && !body.messages.some((m) => m.role === 'assistant') && !tools.includes('edit_file')) conversations.set(task.id, (conversations.get(task.id) ?? 0) + 1);
      const calls = task ? plan(task, tools, conversations.get(task.id) ?? 1) : [];
      const call = calls[done];
      const message = call ? { role: 'assistant', content: null, tool_calls: [{ id: `call-${++n}`, type: 'function', function: { name: call.name, arguments: JSON.stringify(call.arguments) } }] } : { role: 'assistant', content: task ? 'Done: the fix is in.' : 'I could not find the task.' };
      const prompt = Math.ceil(text.length / 4);
      const out = JSON.stringify({ id: `chatcmpl-swe-${++n}`, object: 'chat.completion', created: 0, model: 'fake-swe', choices: [{ index: 0, message, finish_reason: call ? 'tool_calls' : 'stop' }], usage: { prompt_tokens: prompt, completion_tokens: 20, total_tokens: prompt + 20 } });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, requests, close: () => new Promise<void>((r) => server.close(() => r())) };
}
