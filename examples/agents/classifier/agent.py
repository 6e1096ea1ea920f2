#!/usr/bin/env python3
"""Reference agent `classifier`: speaks the Uplift RA protocol.

stdin:  one JSON task per line: {"id", "text", "labels"}
stdout: one JSON line per task:  {"id", "output"}
stderr: logs

It calls the model only through the gateway the harness gives it (OPENAI_BASE_URL,
OPENAI_API_KEY, UPLIFT_MODEL), UPLIFT_CONCURRENCY calls at a time. Standard library only.
"""
import http.client
import json
import os
import sys
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "prompt.txt"), encoding="utf-8") as f:
    TEMPLATE = f.read()

BASE = urllib.parse.urlparse(os.environ["OPENAI_BASE_URL"])
KEY = os.environ["OPENAI_API_KEY"]
MODEL = os.environ.get("UPLIFT_MODEL", "default")
CONCURRENCY = int(os.environ.get("UPLIFT_CONCURRENCY", "8"))

_local = threading.local()
_out = threading.Lock()


def connection():
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = http.client.HTTPConnection(BASE.hostname, BASE.port or 80, timeout=300)
        _local.conn = conn
    return conn


def chat(prompt):
    body = json.dumps({
        "model": MODEL,
        "messages": [{"role": "user", "content": prompt}],
        "temperature": 0,
        "max_tokens": 16,
    })
    headers = {"content-type": "application/json", "authorization": "Bearer " + KEY}
    for attempt in range(2):
        try:
            conn = connection()
            conn.request("POST", BASE.path.rstrip("/") + "/chat/completions", body, headers)
            resp = conn.getresponse()
            data = json.loads(resp.read())
            if resp.status != 200:
                raise RuntimeError("HTTP %d: %s" % (resp.status, data.get("error", {}).get("message", data)))
            return data["choices"][0]["message"]["content"] or ""
        except (http.client.HTTPException, ConnectionError):
            _local.conn = None  # stale keep-alive connection: reconnect once
            if attempt == 1:
                raise
    return ""


def to_label(answer, labels):
    a = answer.strip().strip(".").strip()
    for label in labels:
        if a.lower() == label.lower():
            return label
    # Longest label first, so "non-X" wins over its substring "X".
    for label in sorted(labels, key=len, reverse=True):
        if label.lower() in a.lower():
            return label
    return a


def solve(task):
    prompt = TEMPLATE.replace("{{labels}}", " | ".join(task["labels"])).replace("{{text}}", task["text"].replace("\n", " "))
    try:
        output = to_label(chat(prompt), task["labels"])
    except Exception as e:  # a failed call leaves the task without output: it scores as a failure
        print("task %s: %s" % (task["id"], e), file=sys.stderr)
        return
    line = json.dumps({"id": task["id"], "output": output})
    with _out:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def main():
    tasks = [json.loads(line) for line in sys.stdin if line.strip()]
    with ThreadPoolExecutor(max_workers=max(1, CONCURRENCY)) as pool:
        list(pool.map(solve, tasks))


if __name__ == "__main__":
    main()
