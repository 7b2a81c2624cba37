#!/usr/bin/env python3
"""Golden files from the official Python SDK (claude-agent-sdk) session functions.

Run through make_sdk_goldens.sh (creates the venv with the pinned SDK). Stdlib + SDK only.

    make_sdk_goldens.py                 # goldens for tests/fixtures/home and tests/fixtures/corpus
    make_sdk_goldens.py --regen-corpus  # first regenerate tests/fixtures/corpus with the synth tool
                                        # (needs --synth PATH/TO/synth_claude_corpus.py)

Inputs are copied to a temp dir and their mtimes restored from the mtimes.tsv next to them, so the
committed fixtures are never touched. All output paths are relative to the repository.
"""
import argparse
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime

import claude_agent_sdk as sdk

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FIX_HOME = os.path.join(REPO, "tests", "fixtures", "home")
FIX_MTIMES = os.path.join(REPO, "tests", "fixtures", "mtimes.tsv")
CORPUS = os.path.join(REPO, "tests", "fixtures", "corpus")
CORPUS_MTIMES = os.path.join(CORPUS, "mtimes.tsv")
FIX_DIRECTORY = "/home/dev/acme-webapp"

# Exact corpus generator arguments (OUT_DIR is prepended). See README.md.
SYNTH_ARGS = ["--sessions", "12", "--size-mb", "3", "--seed", "7", "--compact-frac", "0.5",
              "--fork-frac", "0.2", "--subagent-frac", "0.3", "--max-tool-kb", "16",
              "--no-request-log"]
# The generator embeds OUT_DIR in compact summaries ("read the full transcript at: OUT/.claude/...");
# it is rewritten to this HOME so the committed corpus does not depend on where it was generated.
CORPUS_FAKE_HOME = "/home/dev"
UUID_JSONL = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.jsonl$")


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def restore_copy(src_home, mtimes_tsv, tmp_root):
    """Copy src_home into tmp_root/home and restore mtimes; returns the copy's path."""
    home = os.path.join(tmp_root, "home")
    shutil.copytree(src_home, home, symlinks=True)
    with open(mtimes_tsv, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            secs, rel = line.split("\t", 1)
            p = os.path.join(home, rel)
            if os.path.exists(p):
                os.utime(p, (int(secs), int(secs)))
            else:
                print(f"warning: {rel} in {mtimes_tsv} missing", file=sys.stderr)
    return home


def use_home(home):
    os.environ["HOME"] = home
    os.environ["CLAUDE_CONFIG_DIR"] = os.path.join(home, ".claude")


def session_files(project_dir):
    return sorted(n[:-6] for n in os.listdir(project_dir) if UUID_JSONL.match(n))


def first_cwd(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                d = json.loads(line)
            except ValueError:
                continue
            if isinstance(d, dict) and isinstance(d.get("cwd"), str):
                return d["cwd"]
    return None


def dump_list(directory):
    infos = sdk.list_sessions(directory=directory)
    return {"sdk_version": sdk.__version__, "directory": directory,
            "sessions": [dataclasses.asdict(i) for i in infos]}


def dump_messages(sid, directory):
    msgs = sdk.get_session_messages(sid, directory=directory)
    return {"session_id": sid, "messages": [{"type": m.type, "uuid": m.uuid} for m in msgs]}


def dump_subagents(sid, directory):
    agents = sdk.list_subagents(sid, directory=directory)
    if not agents:
        return None
    out = []
    for aid in agents:
        msgs = sdk.get_subagent_messages(sid, aid, directory=directory)
        out.append({"agent_id": aid,
                    "parent_tool_use_id": msgs[0].parent_tool_use_id if msgs else None,
                    "messages": [{"type": m.type, "uuid": m.uuid} for m in msgs]})
    return {"session_id": sid, "subagents": out}


def clear_dir(d):
    if os.path.isdir(d):
        for n in os.listdir(d):
            if n.endswith(".json"):
                os.unlink(os.path.join(d, n))


def goldens_for_project(project_dir, directory, msg_out, sub_out, notes):
    """Messages (+ subagents) goldens for every <uuid>.jsonl in project_dir; returns ids."""
    listed = {i.session_id for i in sdk.list_sessions(directory=directory)}
    ids = session_files(project_dir)
    for sid in ids:
        m = dump_messages(sid, directory)
        write_json(os.path.join(msg_out, sid + ".json"), m)
        if not m["messages"]:
            notes.append(f"{sid}: get_session_messages returned nothing")
        if sid not in listed:
            notes.append(f"{sid}: file present but not in list_sessions({directory})")
        s = dump_subagents(sid, directory)
        if s is not None:
            write_json(os.path.join(sub_out, sid + ".json"), s)
    return ids


def regen_corpus(synth):
    with tempfile.TemporaryDirectory(prefix="corpus-gen-") as tmp:
        out = os.path.join(tmp, "out")
        subprocess.run([sys.executable, synth, out] + SYNTH_ARGS, check=True,
                       stdout=subprocess.DEVNULL)
        shutil.rmtree(CORPUS, ignore_errors=True)
        os.makedirs(CORPUS)
        mtimes = []
        for root, _dirs, files in os.walk(out):
            for n in sorted(files):
                src = os.path.join(root, n)
                rel = os.path.relpath(src, out)
                with open(src, encoding="utf-8") as f:
                    text = f.read()
                text = text.replace(out + "/", CORPUS_FAKE_HOME + "/")
                if n == "synth_manifest.jsonl":
                    continue  # rewritten below with relative paths
                dst = os.path.join(CORPUS, rel)
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                with open(dst, "w", encoding="utf-8") as f:
                    f.write(text)
                if n.endswith(".jsonl"):
                    # mtime = last entry's timestamp (rounded up): distinct and plausible
                    last = None
                    for line in text.splitlines():
                        mm = re.search(r'"timestamp":"([^"]+)"', line)
                        if mm:
                            last = mm.group(1)
                    ts = datetime.fromisoformat(last.replace("Z", "+00:00")).timestamp()
                    mtimes.append((int(ts) + 1, "./" + rel))
        with open(os.path.join(out, "synth_manifest.jsonl"), encoding="utf-8") as f, \
                open(os.path.join(CORPUS, "synth_manifest.jsonl"), "w", encoding="utf-8") as g:
            for line in f:
                d = json.loads(line)
                d["file"] = "./" + os.path.relpath(d["file"], out)
                d["bytes"] = os.path.getsize(os.path.join(CORPUS, d["file"]))  # after the rewrite
                g.write(json.dumps(d) + "\n")
        mtimes.sort(key=lambda t: t[1])
        with open(CORPUS_MTIMES, "w", encoding="utf-8") as f:
            for secs, rel in mtimes:
                f.write(f"{secs}\t{rel}\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--regen-corpus", action="store_true")
    ap.add_argument("--synth", help="path to synth_claude_corpus.py (with --regen-corpus)")
    a = ap.parse_args()
    if a.regen_corpus:
        if not a.synth:
            ap.error("--regen-corpus needs --synth")
        regen_corpus(a.synth)

    notes = []
    saved_env = {k: os.environ.get(k) for k in ("HOME", "CLAUDE_CONFIG_DIR")}
    try:
        # --- fixture home -------------------------------------------------------------------
        with tempfile.TemporaryDirectory(prefix="sdk-golden-") as tmp:
            home = restore_copy(FIX_HOME, FIX_MTIMES, tmp)
            use_home(home)
            write_json(os.path.join(HERE, "sdk_list_sessions.json"), dump_list(FIX_DIRECTORY))
            pdir = os.path.join(home, ".claude", "projects", "-home-dev-acme-webapp")
            for d in ("sdk_messages", "sdk_subagents"):
                clear_dir(os.path.join(HERE, d))
            goldens_for_project(pdir, FIX_DIRECTORY, os.path.join(HERE, "sdk_messages"),
                                os.path.join(HERE, "sdk_subagents"), notes)

        # --- generated corpus ---------------------------------------------------------------
        if os.path.isdir(CORPUS):
            with tempfile.TemporaryDirectory(prefix="sdk-golden-corpus-") as tmp:
                home = restore_copy(CORPUS, CORPUS_MTIMES, tmp)
                use_home(home)
                projects = os.path.join(home, ".claude", "projects")
                for d in ("sdk_messages_corpus", "sdk_subagents_corpus", "sdk_list_sessions_corpus"):
                    clear_dir(os.path.join(HERE, d))
                for enc in sorted(os.listdir(projects)):
                    pdir = os.path.join(projects, enc)
                    ids = session_files(pdir)
                    directory = first_cwd(os.path.join(pdir, ids[0] + ".jsonl"))
                    write_json(os.path.join(HERE, "sdk_list_sessions_corpus", enc + ".json"),
                               dump_list(directory))
                    goldens_for_project(pdir, directory,
                                        os.path.join(HERE, "sdk_messages_corpus"),
                                        os.path.join(HERE, "sdk_subagents_corpus"), notes)
    finally:
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    print(f"claude-agent-sdk {sdk.__version__}: goldens written under tests/golden/")
    for n in notes:
        print("note:", n)


if __name__ == "__main__":
    main()
