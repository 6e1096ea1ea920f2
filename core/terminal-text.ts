/** Text from models and agents, made safe to print: to a terminal, a log file, a JSONL transcript shown in a terminal. */

/**
 * What must not reach a terminal raw: C0 controls but tab and newline (ESC starts CSI, OSC incl.
 * OSC 8 hyperlinks and OSC 52 clipboard writes, DCS; CR and BS overwrite what was printed), DEL,
 * C1 controls (U+009B is a one-character CSI, U+0085 a newline), format characters (bidi
 * overrides and isolates, zero-width and invisible tag characters; ZWJ stays, for emoji), and the
 * line and paragraph separators. A CR right before LF overwrites nothing and is matched with it.
 */
const UNSAFE = /\r\n|(?![\t\n\u200d])[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

const hex4 = (n: number) => n.toString(16).padStart(4, '0');

/**
 * Text from models and agents made safe and readable in a terminal: C0 controls become their
 * Unicode control pictures (ESC → ␛, so `\x1b[31m` shows as `␛[31m`; CR → ␍), DEL → ␡, other
 * unsafe characters `\uXXXX` (`\u{XXXXX}` beyond U+FFFF); CRLF becomes LF. Idempotent.
 */
export function escapeForTerminal(text: string): string {
  return text.replace(UNSAFE, (c) => {
    if (c === '\r\n') return '\n';
    const cp = c.codePointAt(0) as number;
    if (cp < 0x20) return String.fromCodePoint(0x2400 + cp);
    if (cp === 0x7f) return '\u2421';
    return cp > 0xffff ? `\\u{${cp.toString(16)}}` : `\\u${hex4(cp)}`;
  });
}

/**
 * A JSONL transcript made safe for a terminal without changing what it means: JSON.stringify
 * leaves DEL, C1 controls, bidi and other format characters, U+2028/9 raw, and a stored file may
 * hold anything; each unsafe character becomes its JSON escape `\uXXXX`, which inside a JSON
 * string is the same value (outside one, on a line that was not valid JSON, it stays invalid).
 */
export function escapeJsonlForTerminal(text: string): string {
  return text.replace(UNSAFE, (c) => {
    if (c === '\r\n') return c;
    let out = '';
    for (let i = 0; i < c.length; i++) out += `\\u${hex4(c.charCodeAt(i))}`;
    return out;
  });
}

/** An agent's output for a log that the harness also writes to: each line escaped (escapeForTerminal) and prefixed `[agent] `, so none passes for the harness's. */
export function agentLines(text: string): string {
  return escapeForTerminal(text)
    .split('\n')
    .map((l) => `[agent] ${l}`)
    .join('\n');
}
