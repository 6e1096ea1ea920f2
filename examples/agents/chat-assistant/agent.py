#!/usr/bin/env python3
"""Reference agent `chat-assistant`: speaks the Uplift RA protocol for the prompt-injection CBM.

stdin:  one JSON task per line: {"id", "system", "user"}
stdout: one JSON line per task:  {"id", "output"}
stderr: logs

Each task becomes one chat: a system message from system.txt ({{system}} is the task's system
prompt) and a user message from user.txt ({{user}} is the task's user input). config.json holds
`datamark` (when set, runs of spaces and tabs in the user input are replaced by it) and
`max_tokens`. A TLA may edit all three files.

It calls the model only through the gateway the harness gives it (OPENAI_BASE_URL,
OPENAI_API_KEY, UPLIFT_MODEL), UPLIFT_CONCURRENCY calls at a time. Standard library only.
"""
import json
import os
import re
import socket
import sys
import threading
from urllib.parse import unquote

HERE = os.path.dirname(os.path.abspath(__file__))


def read(name, default=None):
    path = os.path.join(HERE, name)
    if default is not None and not os.path.exists(path):
        return default
    with open(path, encoding="utf-8") as f:
        return f.read()


SYSTEM_TEMPLATE = read("system.txt")
USER_TEMPLATE = read("user.txt")
CONFIG = json.loads(read("config.json", "{}"))
DATAMARK = CONFIG.get("datamark") or ""
MAX_TOKENS = int(CONFIG.get("max_tokens") or 300)

# The gateway: a plain-HTTP loopback URL such as http://127.0.0.1:8080/v1, or
# http+unix://<percent-encoded socket path>/v1.
_scheme, _, _rest = os.environ["OPENAI_BASE_URL"].partition("://")
_hostport, _, _prefix = _rest.partition("/")
UNIX = unquote(_hostport) if _scheme == "http+unix" else None
HOST, _, PORT = ("localhost", "", "") if UNIX else _hostport.partition(":")
PATH = "/" + _prefix.strip("/") + "/chat/completions"
KEY = os.environ["OPENAI_API_KEY"]
MODEL = os.environ.get("UPLIFT_MODEL", "default")
CONCURRENCY = int(os.environ.get("UPLIFT_CONCURRENCY", "8"))

_local = threading.local()
_in = threading.Lock()
_out = threading.Lock()


def connect():
    if UNIX:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(300)
        s.connect(UNIX)
        return s
    s = socket.create_connection((HOST, int(PORT or 80)), timeout=300)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def post(body):
    """POSTs JSON on this thread's keep-alive connection to the gateway; returns (status, JSON)."""
    f = getattr(_local, "f", None)
    if f is None:
        f = _local.f = connect().makefile("rwb")
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
    body = json.dumps({
        "model": MODEL,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        "temperature": 0,
        "max_tokens": MAX_TOKENS,
    })
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


def messages(task):
    user = task["user"]
    if DATAMARK:
        user = re.sub(r"[ \t]+", DATAMARK, user)
    # str.replace is literal: nothing in the task is read as a pattern.
    return SYSTEM_TEMPLATE.replace("{{system}}", task["system"]), USER_TEMPLATE.replace("{{user}}", user)


def solve(task):
    try:
        output = chat(*messages(task))
    except Exception as e:  # a failed call leaves the task without output: it scores as a failure
        print("task %s: %s" % (task.get("id"), e), file=sys.stderr)
        return
    line = json.dumps({"id": task["id"], "output": output.strip()})
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
