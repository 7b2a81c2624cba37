#!/usr/bin/env python3
"""Pad every tool output of a Gemini CLI session file to at least KB kilobytes, in place.

Usage: bulky_gemini.py SESSION_FILE KB   (run it on a SCRATCH COPY: the file is rewritten)

The CLI keeps each tool result in several places, and sends them on resume
(formats/gemini-cli.md §2, §4): the gemini message's `toolCalls[].result[].functionResponse`,
the user message carrying the same `functionResponse`, and every `$set.messages` snapshot
(`<id>_response` and that user message again). Every `functionResponse.response.output`
string is padded the same way wherever it occurs (the padding depends only on the call id and
the original text), so all copies stay identical and the file stays resumable. The filler is
numbered source lines. Lines without a tool result are kept byte for byte. Prints how many
tool outputs (distinct call ids) were padded.
"""

import sys

from jsonl_rewrite import rewrite


def filler(call_id, start_len, target):
    out = []
    n = 1
    size = start_len
    name = "".join(c if c.isalnum() else "_" for c in call_id)[:24] or "tool"
    while size < target:
        line = f"\n{n:5}  export function {name}_{n}(x) {{ return x * {n} + {n % 7}; }}"
        out.append(line)
        size += len(line.encode("utf-8"))
        n += 1
    return "".join(out)


def pad_value(v, target, padded):
    """Walks a JSON value; pads every functionResponse output. Returns whether it changed."""
    changed = False
    if isinstance(v, dict):
        fr = v.get("functionResponse")
        if isinstance(fr, dict) and isinstance(fr.get("response"), dict):
            resp = fr["response"]
            out = resp.get("output")
            if isinstance(out, str) and len(out.encode("utf-8")) < target:
                cid = str(fr.get("id") or fr.get("name") or "tool")
                resp["output"] = out + filler(cid, len(out.encode("utf-8")), target)
                padded.add(cid)
                changed = True
        for k, x in v.items():
            if k != "functionResponse":
                changed |= pad_value(x, target, padded)
    elif isinstance(v, list):
        for x in v:
            changed |= pad_value(x, target, padded)
    return changed


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: bulky_gemini.py SESSION_FILE KB")
    path, kb = sys.argv[1], int(sys.argv[2])
    target = kb * 1024
    padded = set()
    rewrite(path, lambda rec: pad_value(rec, target, padded), keep_times=True)
    print(len(padded))


if __name__ == "__main__":
    main()
