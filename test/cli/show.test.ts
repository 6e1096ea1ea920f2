import { Command } from 'commander';
import { escapeForTerminal, escapeJsonlForTerminal } from '../../core/terminal-text';
import { registerShowCommand, renderTranscript } from '../../cli/commands/show';
import { embeddedForTest } from '../support/embedded';

/** Characters that must never reach the terminal raw (tab and newline are fine). */
const RAW_CONTROL = /(?![\t\n\u200d])[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

const ESC = '\x1b';
const BEL = '\x07';
/** Every kind of hostile sequence a model or an agent could print. */
const HOSTILE = {
  sgr: `${ESC}[31mred${ESC}[0m`,
  clear: `${ESC}[2J${ESC}[H`,
  title: `${ESC}]0;pwned${BEL}`,
  osc8: `${ESC}]8;;https://evil.example/${ESC}\\click me${ESC}]8;;${ESC}\\`,
  osc52: `${ESC}]52;c;cm0gLXJmIH4K${BEL}`,
  dcs: `${ESC}P$q"p${ESC}\\`,
  c1csi: '\u009b31mred',
  nel: 'a\u0085b',
  cr: 'harmless\rEVIL!!!!',
  bs: 'rm -rf /\b\b\b\b\b\b\b\bls     ',
  bidi: 'user\u202eexe.txt\u202c and \u2067isolate\u2069 \u200f',
  invisible: 'tag\u{e0041}\u{e0042} zw\u200bsp bom\ufeff',
  separators: 'line\u2028para\u2029end',
  del: 'x\x7fy',
  nul: 'a\0b',
};
const hostileText = Object.values(HOSTILE).join(' | ');

const ev = (kind: string, data: Record<string, unknown>, s = 0) => JSON.stringify({ ts: new Date(Date.UTC(2025, 0, 1, 0, 0, s)).toISOString(), kind, ...data });

/** A transcript whose every printed field carries the hostile text. */
const hostileTranscript = [
  ev('note', { note: hostileText, [`key${ESC}[31m`]: hostileText }),
  ev('tla_step', { type: 'start', variant: hostileText, model: hostileText, evalTasks: 3, isolation: hostileText }),
  ev('tla_step', { type: 'message', role: `user\n${ESC}[2J[+ 0.0s] final      stopped`, content: hostileText }, 1),
  ev('tla_step', { type: 'assistant', turn: 1, content: hostileText, toolCalls: [{ name: `run${ESC}[8m`, arguments: hostileText }] }, 2),
  ev('tla_step', { type: 'tool_result', tool: hostileText, output: hostileText }, 3),
  ev('tla_step', { type: 'exec', argv: [hostileText], exitCode: null, signal: hostileText, wallMs: 5, isolation: hostileText }, 4),
  ev('tla_step', { type: 'sandbox_violation', note: hostileText, after: hostileText, removed: [hostileText] }, 5),
  ev('tla_step', { type: 'summary', turnsSummarised: 2, content: hostileText }, 6),
  ev('tla_step', { type: 'submit', note: hostileText }, 7),
  ev('tla_step', { type: 'restore', note: hostileText }, 8),
  ev('tla_step', { type: 'model_error', error: hostileText }, 9),
  ev('tla_step', { type: 'model_retry', attempt: 1, error: hostileText }, 10),
  ev('tla_step', { type: 'final', stopReason: hostileText, submittedCheckpoint: hostileText, tokensSpent: 1 }, 11),
  ev('tla_step', { type: hostileText, [hostileText]: hostileText }, 12),
  ev('model_rejected', { gateway: 'tla', message: hostileText }, 13),
  `not json ${HOSTILE.osc52} ${HOSTILE.cr}`,
  ev(hostileText, {}),
];

describe('escapeForTerminal', () => {
  test('escape sequences and control characters are shown, not obeyed', () => {
    expect(escapeForTerminal(HOSTILE.sgr)).toBe('␛[31mred␛[0m');
    expect(escapeForTerminal(HOSTILE.osc8)).toBe('␛]8;;https://evil.example/␛\\click me␛]8;;␛\\');
    expect(escapeForTerminal(HOSTILE.osc52)).toBe('␛]52;c;cm0gLXJmIH4K␇');
    expect(escapeForTerminal(HOSTILE.dcs)).toBe('␛P$q"p␛\\');
    expect(escapeForTerminal(HOSTILE.c1csi)).toBe('\\u009b31mred');
    expect(escapeForTerminal(HOSTILE.nel)).toBe('a\\u0085b');
    expect(escapeForTerminal(HOSTILE.cr)).toBe('harmless␍EVIL!!!!');
    expect(escapeForTerminal(HOSTILE.bs)).toBe('rm -rf /␈␈␈␈␈␈␈␈ls     ');
    expect(escapeForTerminal(HOSTILE.bidi)).toBe('user\\u202eexe.txt\\u202c and \\u2067isolate\\u2069 \\u200f');
    expect(escapeForTerminal(HOSTILE.invisible)).toBe('tag\\u{e0041}\\u{e0042} zw\\u200bsp bom\\ufeff');
    expect(escapeForTerminal(HOSTILE.separators)).toBe('line\\u2028para\\u2029end');
    expect(escapeForTerminal(HOSTILE.del)).toBe('x␡y');
    expect(escapeForTerminal(HOSTILE.nul)).toBe('a␀b');
    expect(escapeForTerminal(hostileText)).not.toMatch(RAW_CONTROL);
  });

  test('ordinary text stays as it is: tabs, newlines, CRLF as LF, accents, scripts, emoji with ZWJ', () => {
    const text = 'Label:\tspam\nnext line\r\nrésumé · 日本語 · مرحبا · 👩‍💻 · "quotes" \\ backslash';
    expect(escapeForTerminal(text)).toBe(text.replace('\r\n', '\n'));
  });

  test('it is idempotent (rendered text escaped again does not change)', () => {
    const once = escapeForTerminal(hostileText);
    expect(escapeForTerminal(once)).toBe(once);
  });
});

describe('renderTranscript: no control sequence of a hostile transcript reaches the terminal', () => {
  test('every field of every event kind is escaped, and stays readable', () => {
    for (const full of [false, true]) {
      const out = renderTranscript(hostileTranscript, { full });
      expect(out).not.toMatch(RAW_CONTROL);
      expect(out).toContain('␛[31mred␛[0m');
      expect(out).toContain('␛]52;c;cm0gLXJmIH4K␇');
      expect(out).toContain('harmless␍EVIL!!!!');
      expect(out).toContain('user\\u202eexe.txt');
      expect(out).toContain('key␛[31m: ');
      expect(out).toContain('→ run␛[8m ');
    }
  });

  test('a role cannot start a line of its own (spoofing a "final" block)', () => {
    const out = renderTranscript(hostileTranscript);
    expect(out).toContain('user␤␛[2J[+ 0.0s] final      stopped');
    expect(out.split('\n').filter((l) => /^\[\+ *[\d.]+s\] final /.test(l))).toHaveLength(1);
  });
});

describe('escapeJsonlForTerminal (--json)', () => {
  test('JSON.stringify leaves C1, DEL, bidi and separators raw; the escaped JSONL holds none and parses to the same events', () => {
    // GIVEN JSONL as TranscriptWriter writes it: C0 is escaped by JSON.stringify, the rest is not
    const jsonl = hostileTranscript.slice(0, 15).join('\n') + '\n';
    expect(jsonl).toMatch(RAW_CONTROL);
    const safe = escapeJsonlForTerminal(jsonl);
    // THEN nothing unsafe is left, and every line means what it meant
    expect(safe).not.toMatch(RAW_CONTROL);
    expect(safe.split('\n').map((l) => (l ? JSON.parse(l) : l))).toEqual(jsonl.split('\n').map((l) => (l ? JSON.parse(l) : l)));
  });

  test('a stored line with raw escape sequences (not JSON) is escaped too; CRLF line ends stay', () => {
    const raw = `garbage ${HOSTILE.osc52}\r\n${ev('note', { note: 'ok' })}\r\n`;
    const safe = escapeJsonlForTerminal(raw);
    expect(safe).toBe(`garbage \\u001b]52;c;cm0gLXJmIH4K\\u0007\r\n${ev('note', { note: 'ok' })}\r\n`);
    expect(safe.replace(/\r\n/g, '\n')).not.toMatch(RAW_CONTROL);
  });
});

describe('uplift show', () => {
  const RUN = 'react-classifier-t-simple-s1';
  const SWEEP = 'demo-20250101-000000-abcd';
  const HOSTILE_SWEEPS = [`a${ESC}[31m`, `zz${ESC}]0;title${BEL}`];
  let dataDir: string;

  beforeAll(async () => {
    // GIVEN a hostile transcript stored in the embedded S3, and a stored line with raw ESC
    const t = await embeddedForTest();
    dataDir = t.dataDir;
    const text = `${hostileTranscript.join('\n')}\n${HOSTILE.clear}not json\n`;
    // AND the same run in sweeps whose ids carry escape sequences (sorting before and after it)
    for (const sweep of [SWEEP, ...HOSTILE_SWEEPS]) await t.stores.artifacts.putText(`sweeps/${sweep}/runs/${RUN}/tla/transcript.jsonl`, text, 'application/x-ndjson');
    await t.svc.stop();
  });

  const show = async (...args: string[]) => {
    let out = '';
    let err = '';
    let code = -1;
    const program = new Command('uplift').exitOverride();
    registerShowCommand(program, { out: (s) => (out += s), err: (s) => (err += s) }, (c) => (code = c));
    await program.parseAsync(['node', 'uplift', 'show', RUN, '--data-dir', dataDir, ...args]);
    return { out, err, code };
  };

  test('prints the rendered transcript with every control sequence escaped, the header and notes too', async () => {
    const { out, err, code } = await show();
    expect(code).toBe(0);
    expect(out).toContain(`Run ${RUN} of sweep zz␛]0;title␇`);
    expect(out).not.toMatch(RAW_CONTROL);
    expect(err).toContain(`is also in sweep(s) a␛[31m, ${SWEEP}`);
    expect(err).not.toMatch(RAW_CONTROL);
    expect((await show('--sweep', SWEEP)).out).toContain(`Run ${RUN} of sweep ${SWEEP}`);
    expect(out).toContain('␛[2J␛[Hnot json');
    expect(out).toContain('␛]8;;https://evil.example/');
  });

  test('--json prints the JSONL with unsafe characters as JSON escapes', async () => {
    const { out, code } = await show('--json');
    expect(code).toBe(0);
    expect(out).not.toMatch(RAW_CONTROL);
    const lines = out.split('\n');
    expect(JSON.parse(lines[0])).toEqual(JSON.parse(hostileTranscript[0]));
    expect(out).toContain('\\u001b[2J\\u001b[Hnot json');
  });
});
