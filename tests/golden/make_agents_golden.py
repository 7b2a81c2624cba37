#!/usr/bin/env python3
"""Derive tests/golden/agents_list.json from the raw fixture files, independently of the sidecar.

Every expectation is computed here from the session files themselves, following the measured
formats (../shared formats docs: qwen-code.md, codex-cli.md, gemini-cli.md) and the summary
rules documented in the store modules; Claude rows take title/times from the official SDK
golden (sdk_list_sessions.json). The output was then checked by hand against the files (see
the README of this folder). Usage: make_agents_golden.py FIXTURE_HOME > agents_list.json
       make_agents_golden.py FIXTURE_HOME history > agents_history.json
"""
import datetime
import glob
import hashlib
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOME = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "fixtures", "home")
WS = "/home/dev/acme-webapp"


def iso_ms(ms):
    dt = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def norm(ts):
    dt = datetime.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return iso_ms(int(round(dt.timestamp() * 1000)))


def cut(s, n=200):
    return s if len(s) <= n else s[:n].rstrip() + "\u2026"


def title_of(text):
    t = text.replace("\r", " ").replace("\n", " ").strip()
    return cut(t) if t else None


def mtimes():
    out = {}
    for line in open(os.path.join(ROOT, "fixtures", "mtimes.tsv")):
        secs, rel = line.rstrip("\n").split("\t")
        out[rel.removeprefix("./")] = int(secs) * 1000
    return out


MT = mtimes()


def rel(path):
    return os.path.relpath(path, HOME)


def lines(path):
    for l in open(path, encoding="utf-8"):
        l = l.strip()
        if not l:
            continue
        try:
            yield json.loads(l)
        except Exception:
            pass


def row(agent, sid, path, **kw):
    r = {"agent": agent, "id": sid, "lastModified": iso_ms(MT[rel(path)])}
    r.update(kw)
    return r


# ---------------------------------------------------------------- Claude (SDK golden + counts)
def claude():
    sdk = json.load(open(os.path.join(ROOT, "golden", "sdk_list_sessions.json")))["sessions"]
    out = []
    for g in sdk:
        path = os.path.join(HOME, ".claude/projects/-home-dev-acme-webapp", g["session_id"] + ".jsonl")
        count, model = 0, None
        for e in lines(path):
            if e.get("isSidechain") or not e.get("uuid"):
                continue
            if e.get("type") == "user" and not e.get("isMeta"):
                count += 1
            elif e.get("type") == "assistant":
                count += 1
                m = (e.get("message") or {}).get("model")
                if m and not m.startswith("<"):
                    model = m
        out.append(row("claude", g["session_id"], path, title=g["summary"],
                       customTitle=g["custom_title"], firstPrompt=g["first_prompt"],
                       createdAt=iso_ms(g["created_at"]), messageCount=count, model=model,
                       cwd=g["cwd"], gitBranch=g["git_branch"]))
    return out


# ---------------------------------------------------------------- Qwen
def qwen():
    out = []
    for path in sorted(glob.glob(os.path.join(HOME, ".qwen/projects/-home-dev-acme-webapp/chats/*.jsonl"))):
        recs = list(lines(path))
        first = recs[0]
        prompt = custom = ai = model = used = window = None
        count = tin = tout = 0
        branch = None
        for r in recs:
            branch = r.get("gitBranch") or branch
            t = r.get("type")
            if t in ("user", "assistant", "tool_result") and r.get("uuid"):
                count += 1
            if t == "user" and prompt is None and not r.get("subtype"):
                for p in r["message"]["parts"]:
                    if "text" in p and not p.get("thought") and p["text"].strip():
                        prompt = title_of(p["text"])
                        break
            if t == "assistant":
                model = r.get("model") or model
                u = r.get("usageMetadata")
                if u:
                    tin += u.get("promptTokenCount", 0) - u.get("cachedContentTokenCount", 0)
                    tout += u.get("candidatesTokenCount", 0) + u.get("thoughtsTokenCount", 0)
                    used = u.get("promptTokenCount", 0)
                window = r.get("contextWindowSize") or window
            if t == "system" and r.get("subtype") == "custom_title":
                p = r["systemPayload"]
                if p.get("titleSource") == "auto":
                    ai = p["customTitle"]
                else:
                    custom = p["customTitle"]
            if t == "system" and r.get("subtype") == "chat_compression":
                used = r["systemPayload"]["info"]["newTokenCount"]
        ff = next((r["forkedFrom"]["sessionId"] for r in recs if r.get("forkedFrom")), None)
        out.append(row("qwen", os.path.basename(path)[:-6], path, title=custom or ai or prompt,
                       customTitle=custom, firstPrompt=prompt, createdAt=norm(first["timestamp"]),
                       messageCount=count, model=model, cwd=first["cwd"], gitBranch=branch,
                       contextUsed=used, contextWindow=window, tokensIn=tin, tokensOut=tout,
                       forkedFrom=ff))
    return out


# ---------------------------------------------------------------- Codex
INJECTED = ("<environment_context>", "<user_instructions>", "# AGENTS.md instructions",
            "<INSTRUCTIONS>", "<skills_instructions>", "<permissions instructions>", "<turn_aborted>")


def codex_item(p):
    t = p.get("type")
    if t == "message":
        if p.get("role") == "user":
            kinds = ((p.get("internal_chat_message_metadata_passthrough") or {}).get("content_item_kinds") or [])
            if kinds:
                return "user" if any(k.startswith("user.") for k in kinds) else None
            texts = [c.get("text", "") for c in p.get("content", [])]
            return None if texts and all(x.lstrip().startswith(INJECTED) for x in texts) else "user"
        return "assistant" if p.get("role") == "assistant" else None
    if t in ("function_call", "custom_tool_call", "local_shell_call", "web_search_call"):
        return "assistant"
    if t in ("function_call_output", "custom_tool_call_output"):
        return "tool"
    if t == "reasoning":
        texts = [x.get("text", "") for x in (p.get("summary") or []) + (p.get("content") or [])]
        return "assistant" if "".join(texts).strip() else None
    return None


def codex():
    out = []
    for path in sorted(glob.glob(os.path.join(HOME, ".codex/sessions/*/*/*/rollout-*.jsonl"))):
        recs = list(lines(path))
        meta = next(r["payload"] for r in recs if r["type"] == "session_meta")
        prompt = model = used = window = None
        count, tin, tout = 0, 0, 0
        for r in recs:
            p = r["payload"]
            if r["type"] == "turn_context":
                model = p.get("model") or model
            if r["type"] == "response_item":
                k = codex_item(p)
                if k:
                    count += 1
                if k == "user" and prompt is None:
                    prompt = title_of(next(c["text"] for c in p["content"] if "text" in c))
            if r["type"] == "event_msg" and p.get("type") == "token_count" and p.get("info"):
                tot = p["info"]["total_token_usage"]
                tin = tot["input_tokens"] - tot.get("cached_input_tokens", 0)
                tout = tot["output_tokens"]
                used = p["info"]["last_token_usage"]["input_tokens"]
                window = p["info"].get("model_context_window") or window
        out.append(row("codex", meta["id"], path, title=prompt, customTitle=None, firstPrompt=prompt,
                       createdAt=norm(meta["timestamp"]), messageCount=count, model=model,
                       cwd=meta["cwd"], gitBranch=(meta.get("git") or {}).get("branch"),
                       contextUsed=used, contextWindow=window, tokensIn=tin, tokensOut=tout,
                       forkedFrom=meta.get("forked_from_id")))
    return out


# ---------------------------------------------------------------- Gemini
def text_of(content):
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content or [] if isinstance(p, dict))


def gemini():
    projects = json.load(open(os.path.join(HOME, ".gemini/projects.json")))["projects"]
    chats = os.path.join(HOME, ".gemini/tmp", projects[WS], "chats")
    out = []
    for path in sorted(glob.glob(os.path.join(chats, "session-*.jsonl"))):
        meta, msgs, order, first_start, prompt = {}, {}, [], None, None
        tin = tout = 0
        used = model = None
        seen_tokens = set()
        for r in lines(path):
            if isinstance(r.get("$rewindTo"), str):
                raise SystemExit("rewind not expected in the fixtures")
            if isinstance(r.get("id"), str):
                new = [r]
            elif isinstance(r.get("$set"), dict):
                s = r["$set"]
                if isinstance(s.get("messages"), list):
                    msgs, order = {}, []
                    new = s["messages"]
                else:
                    new = []
                meta.update(s)
            elif isinstance(r.get("sessionId"), str) and isinstance(r.get("projectHash"), str):
                if first_start is None:
                    first_start = r["startTime"]
                meta.update(r)
                new = []
            else:
                new = []
            for m in new:
                if m["id"] not in msgs:
                    order.append(m["id"])
                msgs[m["id"]] = m
                t = text_of(m.get("content")).strip()
                if m["type"] == "user" and prompt is None and t and not t.startswith(
                        ("/", "?", "<session_context>", "<hook_context>")):
                    prompt = title_of(" ".join(t.split()))
                if m["type"] == "gemini":
                    model = m.get("model") or model
                    tk = m.get("tokens")
                    if tk:
                        if m["id"] not in seen_tokens:
                            seen_tokens.add(m["id"])
                            tin += tk["input"] - tk.get("cached", 0)
                            tout += tk["output"] + tk.get("thoughts", 0)
                        used = tk["input"]
        # count: user/gemini minus injected context, a response repeated by another message once
        count, answered = 0, {}
        for i in order:
            m = msgs[i]
            if m["type"] == "user":
                t = text_of(m.get("content")).lstrip()
                if t.startswith(("<session_context>", "<hook_context>")):
                    continue
                parts = m.get("content") if isinstance(m.get("content"), list) else []
                calls = [p["functionResponse"]["id"] for p in parts if "functionResponse" in p]
                if calls and len(calls) == len(parts):
                    if all(c in answered and answered[c] != i for c in calls):
                        continue
                    for c in calls:
                        answered[c] = i
                count += 1
            elif m["type"] == "gemini":
                count += 1
        assert meta["projectHash"] == hashlib.sha256(WS.encode()).hexdigest()
        out.append(row("gemini", meta["sessionId"], path, title=meta.get("summary") or prompt,
                       customTitle=None, firstPrompt=prompt, createdAt=norm(first_start),
                       messageCount=count, model=model, cwd=WS, gitBranch=None,
                       contextUsed=used, contextWindow=None, tokensIn=tin, tokensOut=tout,
                       forkedFrom=None))
    return out


# ---------------------------------------------------------------- history expectations
def item(iid, role, blocks):
    """blocks: [(type, text-or-None)]; the golden keeps the types and the first text (60 chars)."""
    text = next((t for k, t in blocks if t), None)
    return {"id": iid, "role": role, "blocks": [k for k, _ in blocks],
            "text": text[:60] if text else None}


def part_blocks(parts):
    out = []
    for p in parts if isinstance(parts, list) else []:
        if "text" in p:
            if p.get("thought"):
                out.append(("thinking", p["text"]))
            elif p["text"]:
                out.append(("text", p["text"]))
        elif "functionCall" in p:
            out.append(("toolUse", None))
        elif "functionResponse" in p:
            r = p["functionResponse"].get("response", {})
            out.append(("toolResult", r.get("output") if isinstance(r.get("output"), str) else None))
    if isinstance(parts, str) and parts:
        out.append(("text", parts))
    return out


def qwen_history(sid):
    recs = [r for r in lines(os.path.join(HOME, ".qwen/projects/-home-dev-acme-webapp/chats", sid + ".jsonl"))
            if r.get("uuid") and r.get("sessionId")]
    by = {r["uuid"]: r for r in recs}
    leaf = [r for r in recs if r["type"] in ("user", "assistant", "tool_result")
            or r.get("subtype") == "chat_compression"][-1]
    chain, cur = [], leaf
    while cur is not None:
        chain.append(cur)
        cur = by.get(cur.get("parentUuid"))
    out = []
    for r in reversed(chain):
        t = r["type"]
        if t in ("user", "tool_result", "assistant"):
            b = part_blocks(r["message"]["parts"])
            role = {"assistant": "assistant", "tool_result": "tool"}.get(t, "user")
            if role == "user" and b and all(k == "toolResult" for k, _ in b):
                role = "tool"
            out.append(item(r["uuid"], role, b))
        elif r.get("subtype") == "chat_compression":
            snap = r["systemPayload"]["compressedHistory"][0]["parts"][0]["text"]
            out.append(item(r["uuid"], "system", [("compaction", None), ("text", snap)]))
    return out


def codex_history(sid):
    path = glob.glob(os.path.join(HOME, ".codex/sessions/*/*/*/rollout-*-%s.jsonl" % sid))[0]
    out = []
    for r in lines(path):
        p = r["payload"]
        if r["type"] == "compacted":
            out.append(item(str(r["ordinal"]), "system", [("compaction", None), ("text", p.get("message"))]))
        if r["type"] != "response_item":
            continue
        k = codex_item(p)
        if not k:
            continue
        t = p["type"]
        if t == "message":
            b = [("text", c["text"]) for c in p["content"] if "text" in c]
        elif t.endswith("_output"):
            b = [("toolResult", p["output"] if isinstance(p["output"], str) else None)]
        elif t == "reasoning":
            b = [("thinking", None)]
        else:
            b = [("toolUse", None)]
        out.append(item(str(r["ordinal"]), k, b))
    return out


def gemini_history(sid):
    chats = os.path.join(HOME, ".gemini/tmp/acme-webapp/chats")
    path = glob.glob(os.path.join(chats, "session-*-%s.jsonl" % sid[:8]))[0]
    msgs, order = {}, []
    for r in lines(path):
        new = []
        if isinstance(r.get("id"), str):
            new = [r]
        elif isinstance(r.get("$set"), dict) and isinstance(r["$set"].get("messages"), list):
            msgs, order, new = {}, [], r["$set"]["messages"]
        for m in new:
            if m["id"] not in msgs:
                order.append(m["id"])
            msgs[m["id"]] = m
    out, answered = [], {}
    for i in order:
        m = msgs[i]
        if m["type"] == "user":
            t = text_of(m["content"]).lstrip()
            if t.startswith(("<session_context>", "<hook_context>")):
                continue
            parts = m["content"] if isinstance(m["content"], list) else []
            calls = [p["functionResponse"]["id"] for p in parts if "functionResponse" in p]
            if calls and len(calls) == len(parts):
                if all(c in answered and answered[c] != i for c in calls):
                    continue
                for c in calls:
                    answered[c] = i
            b = part_blocks(m["content"])
            role = "tool" if b and all(k == "toolResult" for k, _ in b) else "user"
            out.append(item(i, role, b))
        elif m["type"] == "gemini":
            b = [("thinking", None) for _ in m.get("thoughts") or []]
            b += part_blocks(m["content"])
            b += [("toolUse", None) for _ in m.get("toolCalls") or []]
            out.append(item(i, "assistant", b))
    return out


if len(sys.argv) > 2 and sys.argv[2] == "history":
    hist = {
        "qwen:7aedba9e-a063-4f3e-9a3f-0c2c65b79dcf": qwen_history("7aedba9e-a063-4f3e-9a3f-0c2c65b79dcf"),
        "qwen:a20c9abf-6786-496f-9996-61005c8ac25c": qwen_history("a20c9abf-6786-496f-9996-61005c8ac25c"),
        "qwen:33467198-b0c9-40b4-8d2e-f3aa9566f785": qwen_history("33467198-b0c9-40b4-8d2e-f3aa9566f785"),
        "codex:01a1fcc8-d54e-7ed0-a7e2-b111c75d7f37": codex_history("01a1fcc8-d54e-7ed0-a7e2-b111c75d7f37"),
        "codex:01a1fcc8-e337-7e13-b5e4-6d6a59106584": codex_history("01a1fcc8-e337-7e13-b5e4-6d6a59106584"),
        "gemini:47d75b93-bf15-4461-8bef-b1f7c7e23d6b": gemini_history("47d75b93-bf15-4461-8bef-b1f7c7e23d6b"),
        "gemini:8867273c-b852-435c-bf91-ca5de067ff18": gemini_history("8867273c-b852-435c-bf91-ca5de067ff18"),
    }
    print(json.dumps(hist, indent=1, ensure_ascii=False))
else:
    rows = claude() + qwen() + codex() + gemini()
    rows.sort(key=lambda r: (r["agent"], r["id"]))
    print(json.dumps({"workspace": WS, "sessions": rows}, indent=1, ensure_ascii=False))
