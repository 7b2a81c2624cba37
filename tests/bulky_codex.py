#!/usr/bin/env python3
"""Make a SCRATCH COPY of a Codex rollout bulky, in place: every tool output grows to at least
KB kilobytes of realistic filler (numbered source lines), so a trim has something to elide.

    python3 tests/bulky_codex.py ROLLOUT.jsonl KB

Padded, consistently (the same call_id gets the same text everywhere):
* response_item function_call_output / custom_tool_call_output `output` (what Codex sends on
  resume): a string, the `content` string of an object output, or the first text item of a
  list output;
* the same outputs inside a `compacted` record's `replacement_history`;
* the TUI's copy in `event_msg item_completed` CommandExecution `aggregated_output`.
Everything else (ordinals, timestamps, ids, other records, line order) is kept byte-for-byte, so
the file still resumes. Prints how many outputs it padded (a number, as tests/compress_check.sh
expects). Stdlib only; deterministic.
"""
import sys

from jsonl_rewrite import rewrite


def filler(call_id, need):
    """At least `need` bytes of numbered JavaScript-like lines, seeded by the call id."""
    seed = sum(call_id.encode()) % 97
    out, n, size = [], 0, 0
    while size < need:
        line = "%05d: export function handler%d(req, res) { return res.json({ id: %d, ok: true }); }\n" % (
            n + 1, (n + seed) % 1000, n * 7 + seed)
        out.append(line)
        size += len(line.encode())
        n += 1
    return "".join(out)


def padded_text(text, call_id, min_bytes):
    have = len(text.encode())
    if have >= min_bytes:
        return text
    sep = "" if text.endswith("\n") or not text else "\n"
    return text + sep + filler(call_id, min_bytes - have - len(sep))


def pad_output(output, call_id, min_bytes):
    """The output value padded; None when it was already big enough or has no text to pad."""
    if isinstance(output, str):
        new = padded_text(output, call_id, min_bytes)
        return None if new == output else new
    if isinstance(output, dict) and isinstance(output.get("content"), str):
        new = padded_text(output["content"], call_id, min_bytes)
        if new == output["content"]:
            return None
        return dict(output, content=new)
    if isinstance(output, list):
        for i, item in enumerate(output):
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                new = padded_text(item["text"], call_id, min_bytes)
                if new == item["text"]:
                    return None
                out = list(output)
                out[i] = dict(item, text=new)
                return out
    return None


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: bulky_codex.py ROLLOUT.jsonl KB")
    path, kb = sys.argv[1], int(sys.argv[2])
    min_bytes = kb * 1024
    padded_ids = set()

    def pad_record(rec):
        changed = False
        p = rec.get("payload") if isinstance(rec, dict) else None
        if isinstance(p, dict):
            if rec.get("type") == "response_item" and p.get("type") in (
                "function_call_output",
                "custom_tool_call_output",
            ):
                new = pad_output(p.get("output"), p.get("call_id", ""), min_bytes)
                if new is not None:
                    p["output"] = new
                    padded_ids.add(p.get("call_id", ""))
                    changed = True
            elif rec.get("type") == "compacted" and isinstance(p.get("replacement_history"), list):
                for item in p["replacement_history"]:
                    if isinstance(item, dict) and item.get("type") in (
                        "function_call_output",
                        "custom_tool_call_output",
                    ):
                        new = pad_output(item.get("output"), item.get("call_id", ""), min_bytes)
                        if new is not None:
                            item["output"] = new
                            changed = True
            elif (
                rec.get("type") == "event_msg"
                and p.get("type") == "item_completed"
                and isinstance(p.get("item"), dict)
                and p["item"].get("type") == "CommandExecution"
                and isinstance(p["item"].get("aggregated_output"), str)
            ):
                item = p["item"]
                new = padded_text(item["aggregated_output"], item.get("id", ""), min_bytes)
                if new != item["aggregated_output"]:
                    item["aggregated_output"] = new
                    changed = True
        return changed

    rewrite(path, pad_record)
    print(len(padded_ids))


if __name__ == "__main__":
    main()
