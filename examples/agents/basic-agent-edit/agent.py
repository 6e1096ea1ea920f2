#!/usr/bin/env python3
"""Reference agent `basic-agent-edit`: basic-agent plus an `edit_file` tool (Uplift `workspace` CBM).

Run once per task with the task's workspace as the working directory (cwd).
stdin:  one JSON line: {"id": "<task id>", "instructions": "<what to do>"}
stdout: one JSON line at the end: {"id": "<task id>", "output": "<short summary>"}
stderr: logs

The model (OPENAI_BASE_URL, OPENAI_API_KEY, UPLIFT_MODEL) is called with chat tool-calling and
four tools: `bash` (a command line), `python` (code run with `python3 -c`), both in cwd with a
timeout, `edit_file` (path, old_str, new_str: replaces exactly one occurrence of old_str, or
creates a file when old_str is empty; paths must stay inside cwd) and `submit` (ends the run).
The run ends when the model answers without a tool call (its text is the output), calls `submit`
(its summary is the output), reaches UPLIFT_MAX_STEPS model calls (default 30), or a model call
fails (HTTP 4xx/5xx, e.g. 429 when the token budget is spent). The output line is printed in
every case; the workspace is scored as it is left.

Otherwise as plain as basic-agent: the whole history is re-sent on every call, and a failed
model call is not retried. Self-contained (a copy, not an import, of basic-agent). Standard
library only.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from urllib.parse import urlsplit

sys.dont_write_bytecode = True  # the bundle may be mounted read-only: never write next to it

HERE = os.environ.get("UPLIFT_AGENT_DIR") or os.path.dirname(os.path.abspath(__file__))
PROMPT_FILE = "prompt.md"

MODEL = os.environ.get("UPLIFT_MODEL", "default")
DEFAULT_MAX_STEPS = 30
TOOL_TIMEOUT = 120  # seconds per bash/python call
HEAD = TAIL = 2000  # characters of a long tool output kept from its start and its end
OUTPUT_LIMIT = 1000  # characters of the summary printed as "output"

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "bash",
            "description": "Run a bash command line in the working directory (the repository). "
            "Returns the exit code and the combined stdout and stderr. Times out after %d s." % TOOL_TIMEOUT,
            "parameters": {
                "type": "object",
                "properties": {"command": {"type": "string", "description": "The command line to run."}},
                "required": ["command"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "python",
            "description": "Run Python 3 code (python3 -c) in the working directory. "
            "Returns the exit code and the combined stdout and stderr. Times out after %d s." % TOOL_TIMEOUT,
            "parameters": {
                "type": "object",
                "properties": {"code": {"type": "string", "description": "The Python code to run."}},
                "required": ["code"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "edit_file",
            "description": "Replace exactly one occurrence of old_str with new_str in a file of the working directory, "
            "or create a file when old_str is empty. Nothing changes when old_str is missing or occurs more than once.",
            "parameters": {
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "File path, relative to the working directory."},
                    "old_str": {"type": "string", "description": "The exact text to replace (spaces and line breaks included); it must occur exactly once. Empty: create the file."},
                    "new_str": {"type": "string", "description": "The replacement text."},
                },
                "required": ["path", "old_str", "new_str"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "submit",
            "description": "Finish the task: call this once the work in the working directory is done.",
            "parameters": {
                "type": "object",
                "properties": {"summary": {"type": "string", "description": "One or two sentences on what you changed."}},
                "required": ["summary"],
            },
        },
    },
]


def log(msg):
    sys.stderr.write("basic-agent-edit: %s\n" % msg)
    sys.stderr.flush()


# ---------------------------------------------------------------- model calls over HTTP/1.1


class ModelError(Exception):
    pass


class Gateway:
    """POSTs to OPENAI_BASE_URL/chat/completions on one keep-alive connection (standard library only)."""

    def __init__(self, base_url, key):
        u = urlsplit(base_url)
        self.tls = u.scheme.lower() == "https"
        self.host = u.hostname or "127.0.0.1"
        self.port = u.port or (443 if self.tls else 80)
        self.hostport = u.netloc.rpartition("@")[2]
        self.path = u.path.rstrip("/") + "/chat/completions"
        self.key = key
        self.f = None

    def _connect(self):
        s = socket.create_connection((self.host, self.port), timeout=600)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls:
            import ssl

            s = ssl.create_default_context().wrap_socket(s, server_hostname=self.host)
        return s.makefile("rwb")

    def _exchange(self, data):
        f = self.f
        head = (
            "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nAccept: application/json\r\n"
            "Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n" % (self.path, self.hostport, self.key, len(data))
        )
        f.write(head.encode() + data)
        f.flush()
        status_line = f.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split()[1])
        headers = {}
        while True:
            line = f.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            parts = []
            while True:
                size = int(f.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while f.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(f.read(size))
                f.readline()
            body = b"".join(parts)
        elif "content-length" in headers:
            body = f.read(int(headers["content-length"]))
        else:
            body = f.read()
            headers["connection"] = "close"
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, body

    def close(self):
        if self.f is not None:
            try:
                self.f.close()
            except OSError:
                pass
        self.f = None

    def chat(self, messages):
        data = json.dumps({"model": MODEL, "messages": messages, "tools": TOOLS, "tool_choice": "auto"}).encode()
        for attempt in range(2):
            reused = self.f is not None
            try:
                if not reused:
                    self.f = self._connect()
                status, body = self._exchange(data)
                break
            except (OSError, ValueError, IndexError) as e:
                self.close()
                if not reused or attempt == 1:  # a stale keep-alive connection is reopened once
                    raise ModelError("request failed: %s" % e)
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if status != 200:
            err = parsed.get("error") if isinstance(parsed, dict) else None
            msg = err.get("message") if isinstance(err, dict) else (err or body[:500].decode("utf-8", "replace"))
            raise ModelError("HTTP %d: %s" % (status, msg))
        try:
            return parsed["choices"][0]["message"]
        except (TypeError, KeyError, IndexError):
            raise ModelError("unexpected response: %s" % body[:500].decode("utf-8", "replace"))


# ---------------------------------------------------------------- tools


def truncate(text):
    if len(text) <= HEAD + TAIL:
        return text
    omitted = len(text) - HEAD - TAIL
    return "%s\n\n[... %d characters omitted (the output had %d); show a part with head, tail, grep or sed -n ...]\n\n%s" % (
        text[:HEAD],
        omitted,
        len(text),
        text[-TAIL:],
    )


def run(argv):
    """Runs argv in cwd (its own process group, no stdin); returns 'exit code: N' and the combined output."""
    try:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as e:
        return "error: could not start %s: %s" % (argv[0], e)
    try:
        out, _ = p.communicate(timeout=TOOL_TIMEOUT)
        head = "exit code: %d" % p.returncode
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            out, _ = p.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            out = b""
        head = "error: timed out after %d s; the command was killed. Output so far:" % TOOL_TIMEOUT
    text = out.decode("utf-8", "replace")
    return truncate("%s\n%s" % (head, text if text else "(no output)"))


def line_of(text, i):
    return text.count("\n", 0, i) + 1


def edit_file(args):
    path, old, new = args.get("path"), args.get("old_str"), args.get("new_str")
    if not isinstance(path, str) or not path.strip() or not isinstance(old, str) or not isinstance(new, str):
        return 'error: edit_file needs {"path": "<file>", "old_str": "<exact text>", "new_str": "<replacement>"} (all strings).'
    root = os.path.realpath(os.getcwd())
    full = os.path.realpath(os.path.join(root, path))
    if full != root and not full.startswith(root + os.sep):
        return "error: %s is outside the working directory; give a path inside it." % path
    shown = os.path.relpath(full, root)
    exists = os.path.exists(full)
    if exists and not os.path.isfile(full):
        return "error: %s is not a regular file." % shown
    if old == "":
        if exists and os.path.getsize(full) > 0:
            return "error: old_str is empty, which creates a new file, but %s already exists and is not empty. To change it, give the exact text to replace as old_str." % shown
        parent = os.path.dirname(full)
        if not os.path.isdir(parent):
            os.makedirs(parent)
        with open(full, "w", encoding="utf-8") as f:
            f.write(new)
        return "created %s (%d lines)." % (shown, len(new.splitlines()))
    if not exists:
        return "error: %s does not exist; nothing was changed. To create a file, call edit_file with an empty old_str." % shown
    try:
        with open(full, encoding="utf-8", newline="") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        return "error: cannot read %s as UTF-8 text: %s" % (shown, e)
    at = []
    i = text.find(old)
    while i >= 0:
        at.append(i)
        i = text.find(old, i + 1)
    if not at:
        hint = " It does occur if whitespace is ignored: copy the exact spaces and line breaks." if " ".join(old.split()) in " ".join(text.split()) else " Look at the file (e.g. sed -n 'A,Bp') and copy the exact text."
        return "error: old_str was not found in %s; nothing was changed.%s" % (shown, hint)
    if len(at) > 1:
        return "error: old_str occurs %d times in %s (at lines %s); nothing was changed. Include more surrounding text so that it occurs once." % (
            len(at),
            shown,
            ", ".join(str(line_of(text, j)) for j in at),
        )
    updated = text[: at[0]] + new + text[at[0] + len(old) :]
    with open(full, "w", encoding="utf-8", newline="") as f:
        f.write(updated)
    first = line_of(updated, at[0])
    last = first + new.count("\n")
    lines = updated.split("\n")
    lo, hi = max(1, first - 2), min(len(lines), last + 2)
    snippet = "\n".join("%d\t%s" % (n, lines[n - 1]) for n in range(lo, hi + 1))
    return truncate("edited %s: replaced 1 occurrence (now lines %d-%d). Lines %d-%d now read:\n%s" % (shown, first, last, lo, hi, snippet))


SHELL = shutil.which("bash") or "/bin/sh"
PYTHON = shutil.which("python3") or sys.executable


def call_tool(name, raw_args):
    try:
        args = json.loads(raw_args or "{}")
    except ValueError as e:
        return 'error: the arguments are not valid JSON (%s); send an object such as {"command": "ls"}.' % e
    if not isinstance(args, dict):
        return "error: the arguments must be a JSON object."
    if name == "bash":
        if not isinstance(args.get("command"), str) or not args["command"].strip():
            return 'error: bash needs {"command": "<command line>"}.'
        return run([SHELL, "-c", args["command"]])
    if name == "python":
        if not isinstance(args.get("code"), str) or not args["code"].strip():
            return 'error: python needs {"code": "<python source>"}.'
        return run([PYTHON, "-c", args["code"]])
    if name == "edit_file":
        return edit_file(args)
    return "error: unknown tool %r; the tools are bash, python, edit_file and submit." % name


# ---------------------------------------------------------------- the loop


def max_steps():
    raw = os.environ.get("UPLIFT_MAX_STEPS", "")
    if not raw.strip():
        return DEFAULT_MAX_STEPS
    try:
        n = int(raw)
        if n >= 1:
            return n
    except ValueError:
        pass
    log("UPLIFT_MAX_STEPS=%r is not a positive integer: using %d" % (raw, DEFAULT_MAX_STEPS))
    return DEFAULT_MAX_STEPS


def solve(task):
    """Runs the loop; returns the summary for the output line."""
    with open(os.path.join(HERE, PROMPT_FILE), encoding="utf-8") as f:
        system = f.read()
    messages = [{"role": "system", "content": system}, {"role": "user", "content": task.get("instructions", "")}]
    gateway = Gateway(os.environ["OPENAI_BASE_URL"], os.environ.get("OPENAI_API_KEY", ""))
    limit = max_steps()
    try:
        for step in range(1, limit + 1):
            try:
                reply = gateway.chat(messages)
            except ModelError as e:
                log("step %d: model call failed: %s" % (step, e))
                return "stopped early at step %d: the model call failed (%s)" % (step, e)
            calls = reply.get("tool_calls") or []
            content = reply.get("content") or ""
            message = {"role": "assistant", "content": content or None}
            if calls:
                message["tool_calls"] = calls
            messages.append(message)
            if not calls:
                log("step %d: answered without a tool call: done" % step)
                return content.strip() or "finished (the model gave no summary)"
            for call in calls:
                fn = call.get("function") or {}
                name, raw_args = fn.get("name", ""), fn.get("arguments", "")
                if name == "submit":
                    try:
                        args = json.loads(raw_args or "{}")
                    except ValueError:
                        args = {}
                    summary = (args.get("summary") or args.get("note")) if isinstance(args, dict) else None
                    log("step %d: submit" % step)
                    return str(summary or content or "submitted").strip()
                log("step %d: %s %s" % (step, name, (raw_args or "")[:200].replace("\n", "\\n")))
                result = call_tool(name, raw_args)
                log("step %d: %s" % (step, result.split("\n", 1)[0]))
                messages.append({"role": "tool", "tool_call_id": call.get("id", ""), "content": result})
        log("reached the step limit (%d model calls)" % limit)
        return "stopped early: reached the step limit of %d model calls without finishing" % limit
    finally:
        gateway.close()


def main():
    line = sys.stdin.readline()
    try:
        task = json.loads(line)
        task_id = task["id"]
    except (ValueError, TypeError, KeyError):
        log("expected one JSON line {\"id\": ..., \"instructions\": ...} on stdin, got %r" % line[:200])
        sys.exit(2)
    try:
        summary = solve(task)
    except Exception as e:  # anything unexpected still ends with the output line: the workspace is scored as it is
        log("stopped by an error: %s: %s" % (type(e).__name__, e))
        summary = "stopped early: %s: %s" % (type(e).__name__, e)
    summary = " ".join(summary.split())
    if len(summary) > OUTPUT_LIMIT:
        summary = summary[: OUTPUT_LIMIT - 3] + "..."
    sys.stdout.write(json.dumps({"id": task_id, "output": summary}) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
