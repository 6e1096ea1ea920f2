#!/usr/bin/env python3
"""Reference agent `mc-answerer`: speaks the Uplift RA protocol for the multiple-choice kind.

stdin:  one JSON task per line: {"id", "question", "choices"}
stdout: one JSON line per task:  {"id", "output"}  (output: the letter of the chosen answer)
stderr: logs

prompt.txt: the lines above a line `[user]` (after an optional `[system]` line) are the system
message, the rest is the user message; `{{question}}` and `{{choices}}` (lines `A. text`) are
filled in. A TLA may edit either part, e.g. add a forget directive to the system part.

It calls the model only through the gateway the harness gives it (OPENAI_BASE_URL,
OPENAI_API_KEY, UPLIFT_MODEL), UPLIFT_CONCURRENCY calls at a time. Standard library only.
"""
import json
import os
import re
import socket
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "prompt.txt"), encoding="utf-8") as f:
    TEMPLATE = f.read()

# The gateway is always a plain-HTTP loopback URL such as http://127.0.0.1:8080/v1.
_hostport, _, _prefix = os.environ["OPENAI_BASE_URL"].split("://", 1)[1].partition("/")
HOST, _, PORT = _hostport.partition(":")
PATH = "/" + _prefix.strip("/") + "/chat/completions"
KEY = os.environ["OPENAI_API_KEY"]
MODEL = os.environ.get("UPLIFT_MODEL", "default")
CONCURRENCY = int(os.environ.get("UPLIFT_CONCURRENCY", "8"))

_local = threading.local()
_in = threading.Lock()
_out = threading.Lock()


def split_template(template):
    """(system, user) parts of the prompt template; system is "" without a [user] line."""
    lines = template.split("\n")
    marks = [i for i, l in enumerate(lines) if l.strip() == "[user]"]
    if not marks:
        return "", template.strip()
    system = "\n".join(l for l in lines[: marks[0]] if l.strip() != "[system]").strip()
    return system, "\n".join(lines[marks[0] + 1 :]).strip()


SYSTEM, USER = split_template(TEMPLATE)


def post(body):
    """POSTs JSON on this thread's keep-alive connection to the gateway; returns (status, JSON).

    A few lines of HTTP/1.1 instead of http.client, whose import alone takes ~20 ms and whose
    header parsing costs more per call than the rest of the agent.
    """
    f = getattr(_local, "f", None)
    if f is None:
        s = socket.create_connection((HOST, int(PORT or 80)), timeout=300)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        f = _local.f = s.makefile("rwb")
    data = body.encode()
    head = "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n"
    f.write((head % (PATH, HOST, KEY, len(data))).encode() + data)
    f.flush()
    status = int(f.readline().split()[1])
    length = 0
    while True:
        line = f.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, json.loads(f.read(length))


def chat(system, user):
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]
    body = json.dumps({"model": MODEL, "messages": messages, "temperature": 0, "max_tokens": 16})
    for attempt in range(2):
        try:
            status, data = post(body)
        except (OSError, ValueError, IndexError):
            _local.f = None  # stale keep-alive connection: reconnect once
            if attempt == 1:
                raise
            continue
        if status != 200:
            raise RuntimeError("HTTP %d: %s" % (status, data.get("error", {}).get("message", data)))
        return data["choices"][0]["message"]["content"] or ""
    return ""


def fill(text, task):
    choices = "\n".join("%s. %s" % (chr(65 + i), " ".join(c.split())) for i, c in enumerate(task["choices"]))
    return text.replace("{{question}}", task["question"]).replace("{{choices}}", choices)


def to_letter(reply, choices):
    """The letter a reply names: a choice's exact text, else `B`, `(B)`, `B.`, `B. text`,
    `Answer: B` or `The answer is B`; else the reply itself, which scores as a wrong answer."""
    a = " ".join(reply.split()).strip().rstrip(".")
    rest = re.sub(r"^(?:the )?(?:correct )?answer\b(?: is)?\s*:?\s*", "", a, flags=re.I)
    for i, c in enumerate(choices):
        if " ".join(c.split()).lower().rstrip(".") in (a.lower(), rest.lower()):
            return chr(65 + i)
    m = re.match(r"^\(?([A-Za-z])\)?(?:[.:)]?\s+.*|[.:)])?$", rest)
    if m and ord(m.group(1).upper()) - 65 < len(choices):
        return m.group(1).upper()
    return a


def solve(task):
    try:
        output = to_letter(chat(fill(SYSTEM, task), fill(USER, task)), task["choices"])
    except Exception as e:  # a failed call leaves the task without output: it scores as a failure
        print("task %s: %s" % (task["id"], e), file=sys.stderr)
        return
    line = json.dumps({"id": task["id"], "output": output})
    with _out:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def worker():
    # Tasks are taken as they arrive on stdin: the first call goes out before the last task is read.
    while True:
        with _in:
            line = sys.stdin.readline()
        if not line:
            return
        if line.strip():
            solve(json.loads(line))


def main():
    workers = [threading.Thread(target=worker) for _ in range(max(1, CONCURRENCY))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


if __name__ == "__main__":
    main()
