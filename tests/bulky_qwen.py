#!/usr/bin/env python3
"""bulky_qwen.py SESSION_FILE KB — make a scratch copy of a Qwen Code session bulky.

Rewrites SESSION_FILE in place (use it on a copy, never on a user's file) so that every tool
output the CLI sends on resume (`functionResponse.response.output` in record messages and in a
`chat_compression`'s `compressedHistory`) is at least KB kilobytes: the original text followed by
deterministic numbered source lines, as a big file read would be. Every other byte of each record
is kept; lines that are not JSON are kept as they are. Prints how many outputs it padded.
"""
import sys

from jsonl_rewrite import rewrite


def filler(n):
    out, i = [], 1
    size = 0
    while size < n:
        line = f"{i:5}\tconst value{i} = compute(input[{i}], options); // line {i} of the module\n"
        out.append(line)
        size += len(line)
        i += 1
    return "".join(out)


def pad_parts(parts, want):
    n = 0
    for p in parts or []:
        resp = (p.get("functionResponse") or {}).get("response")
        if isinstance(resp, dict) and isinstance(resp.get("output"), str):
            out = resp["output"]
            if len(out) < want:
                resp["output"] = out + "\n" + filler(want - len(out))
                n += 1
    return n


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    path, want = sys.argv[1], int(sys.argv[2]) * 1024
    padded = 0

    def pad_record(rec):
        nonlocal padded
        if not isinstance(rec, dict):
            return False
        n = pad_parts((rec.get("message") or {}).get("parts"), want)
        for c in ((rec.get("systemPayload") or {}).get("compressedHistory") or []):
            n += pad_parts(c.get("parts"), want)
        padded += n
        return n > 0

    rewrite(path, pad_record)
    print(padded)


if __name__ == "__main__":
    main()
