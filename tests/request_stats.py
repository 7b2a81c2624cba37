#!/usr/bin/env python3
"""request_stats.py MOCK_LOG — what the mock model API received in the last main-model request.

Reads the JSONL request log of any mock in ../shared/tools/agents/mocks (Anthropic messages,
OpenAI chat completions, OpenAI responses, Gemini generateContent) and prints one JSON object:
  body_bytes  size of the request body (the mock's own count when it logs one, else the compact
              JSON of the logged body)
  items       messages / input items / contents sent
  tool_calls  tool calls in the history
  history_bytes  bytes of the conversation in it (messages / input / contents): body_bytes minus
              the rest (system prompt, tool definitions, settings: what no history trim can
              shrink; strings the mock's log cut are counted at their full length, unescaped,
              so this is an upper bound)
  unpaired    ids of tool calls without their result and results without their call ([] = all
              paired); "no request" when the log holds no main-model request
"""
import json
import re
import sys


def load(path):
    reqs = []
    for line in open(path, encoding="utf-8"):
        try:
            r = json.loads(line)
        except ValueError:
            continue
        b = r.get("body")
        if not isinstance(b, dict) or r.get("kind", "main") != "main":
            continue
        if any(k in b for k in ("messages", "input", "contents")):
            reqs.append(r)
    return reqs


def size(r):
    if isinstance(r.get("body_bytes"), int):
        return r["body_bytes"]
    return len(json.dumps(r["body"], separators=(",", ":"), ensure_ascii=False).encode())


CUT = re.compile(r"\.\.\.\[cut, total (\d+) chars\]$")


def uncut_len(v):
    """Compact-JSON size of v, counting strings the mock's log cut at their full length."""
    if isinstance(v, str):
        m = CUT.search(v)
        n = len(json.dumps(v, ensure_ascii=False).encode())
        return n if not m else n - len(v) + int(m.group(1))
    if isinstance(v, list):
        return 2 + sum(uncut_len(x) for x in v) + max(len(v) - 1, 0)
    if isinstance(v, dict):
        return 2 + sum(len(json.dumps(k)) + 1 + uncut_len(x) for k, x in v.items()) + max(len(v) - 1, 0)
    return len(json.dumps(v))


def history_size(r, key):
    """Body bytes minus everything that is not the conversation."""
    rest = {k: v for k, v in r["body"].items() if k != key}
    return max(size(r) - uncut_len(rest), 0)


def anthropic(msgs):
    def blocks(m):
        return m["content"] if isinstance(m.get("content"), list) else []
    unpaired, calls = [], 0
    for i, m in enumerate(msgs):
        ids = [b.get("id") for b in blocks(m) if b.get("type") == "tool_use"]
        res = [b.get("tool_use_id") for b in blocks(m) if b.get("type") == "tool_result"]
        calls += len(ids)
        if ids:
            nxt = msgs[i + 1] if i + 1 < len(msgs) else {"content": []}
            got = {b.get("tool_use_id") for b in blocks(nxt) if b.get("type") == "tool_result"}
            unpaired += [x for x in ids if x not in got]
        if res:
            prev = msgs[i - 1] if i > 0 else {"content": []}
            have = {b.get("id") for b in blocks(prev) if b.get("type") == "tool_use"}
            unpaired += [x for x in res if x not in have]
    return calls, unpaired


def openai_chat(msgs):
    calls = [c.get("id") for m in msgs for c in (m.get("tool_calls") or [])]
    results = [m.get("tool_call_id") for m in msgs if m.get("role") == "tool"]
    unpaired = [c for c in calls if c not in results] + [r for r in results if r not in calls]
    return len(calls), unpaired


def responses(items):
    kinds = {"function_call": "function_call_output", "custom_tool_call": "custom_tool_call_output",
             "local_shell_call": "local_shell_call_output"}
    calls = [i.get("call_id") for i in items if i.get("type") in kinds]
    outs = [i.get("call_id") for i in items if i.get("type") in kinds.values()]
    unpaired = [c for c in calls if c not in outs] + [o for o in outs if o not in calls]
    return len(calls), unpaired


def gemini(contents):
    calls, results = [], []
    for c in contents:
        for p in c.get("parts") or []:
            if "functionCall" in p:
                calls.append(p["functionCall"].get("id") or p["functionCall"].get("name"))
            if "functionResponse" in p:
                results.append(p["functionResponse"].get("id") or p["functionResponse"].get("name"))
    unpaired = [c for c in calls if c not in results] + [r for r in set(results) if r not in calls]
    return len(calls), unpaired


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    reqs = load(sys.argv[1])
    if not reqs:
        print(json.dumps({"body_bytes": 0, "history_bytes": 0, "items": 0, "tool_calls": 0,
                          "unpaired": ["no request"]}))
        return
    r = reqs[-1]
    b = r["body"]
    key = next(k for k in ("contents", "input", "messages") if k in b)
    if "contents" in b:
        items = b["contents"]
        calls, unpaired = gemini(items)
    elif "input" in b:
        items = b["input"] if isinstance(b["input"], list) else []
        calls, unpaired = responses(items)
    elif r.get("path", "").endswith("/chat/completions"):
        items = b["messages"]
        calls, unpaired = openai_chat(items)
    else:
        items = b["messages"]
        calls, unpaired = anthropic(items)
    print(json.dumps({"body_bytes": size(r), "history_bytes": history_size(r, key),
                      "items": len(items), "tool_calls": calls, "unpaired": unpaired}))


if __name__ == "__main__":
    main()
