#!/usr/bin/env python3
"""session-sidecar benchmarks, side by side with the official Claude Agent SDK (Python).

Generates format-faithful Claude Code corpora with the shared corpus tool, then measures, for each
workload, our median time and peak RSS next to the SDK's on the same files, and writes
bench/RESULTS.md. Run it through bench/run.sh (which builds the release binary and the SDK venv).

Workloads (issue 10):
  1. list the 2,000 sessions (1 GB) of one project: cold (no index cache) and warm (cache)
  2. the last 100 messages of a 1 GB transcript; a middle page by cursor
  3. fork a 100 MB transcript (and `cp` of the same file: the physical limit)
  4. agent append -> sessions/changed and sessions/appended latency, p50/p99 over 1,000 appends
  5. sidecar RSS idle with the 2,000-session index loaded; startup to the initialize response
  6. model turn -> sessions/contextUsage latency, p50/p99 over 100 turns (issue 6: <= 500 ms)
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from lsp_client import Sidecar  # noqa: E402

SDK_RUNNER = r"""
import json, resource, sys, time, shutil
from claude_agent_sdk import list_sessions, get_session_messages, fork_session
op, *args = sys.argv[1:]
t0 = time.perf_counter()
if op == "list":
    r = list_sessions(directory=args[0]); n = len(r)
elif op == "messages":
    r = get_session_messages(args[0], directory=args[1]); n = len(r)
elif op == "messages_page":
    r = get_session_messages(args[0], directory=args[1], limit=100, offset=int(args[2])); n = len(r)
elif op == "fork":
    r = fork_session(args[0], directory=args[1]); n = 1
else:
    raise SystemExit("unknown op " + op)
dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt, "n": n, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def human_ms(s):
    return "—" if s is None else (f"{s * 1000:.1f} ms" if s < 10 else f"{s:.1f} s")


def human_mb(kb):
    return "—" if kb is None else f"{kb / 1024:.0f} MB"


def ratio(ours, theirs):
    if ours is None or theirs is None or ours <= 0:
        return "—"
    return f"{theirs / ours:.0f}×" if theirs / ours >= 10 else f"{theirs / ours:.1f}×"


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))] if v else None


def end_line(path, s):
    """Claude leaves its last row without a newline and starts its next append with one: write
    that newline now, give the watcher time to see it, and drop what it caused."""
    with open(path, "rb") as f:
        f.seek(0, 2)
        if f.tell() and (f.seek(-1, 2) or True) and f.read(1) != b"\n":
            with open(path, "ab") as a:
                a.write(b"\n")
    time.sleep(0.5)
    while not s.notes.empty():
        s.notes.get()


class Bench:
    def __init__(self, args):
        self.args = args
        self.bin = args.binary
        self.python = args.sdk_python
        self.work = args.work
        self.shared = args.shared
        self.rows = []
        self.notes = []
        os.makedirs(self.work, exist_ok=True)

    # ---- corpora -------------------------------------------------------------------------
    def corpus(self, name, *gen_args):
        out = os.path.join(self.work, name)
        stamp = os.path.join(out, ".complete")
        if not os.path.exists(stamp):
            shutil.rmtree(out, ignore_errors=True)
            gen = os.path.join(self.shared, "tools/corpus/synth_claude_corpus.py")
            t0 = time.perf_counter()
            subprocess.run([sys.executable, gen, out, *gen_args], check=True, stdout=subprocess.DEVNULL)
            print(f"  generated {name} in {time.perf_counter() - t0:.0f} s", flush=True)
            open(stamp, "w").close()
        manifest = [json.loads(l) for l in open(os.path.join(out, "synth_manifest.jsonl"))]
        return out, manifest

    # ---- runners -------------------------------------------------------------------------
    def sdk(self, home, *argv):
        env = dict(os.environ, HOME=home, CLAUDE_CONFIG_DIR=os.path.join(home, ".claude"))
        p = subprocess.run([self.python, "-c", SDK_RUNNER, *argv], env=env, capture_output=True, text=True, timeout=1800)
        if p.returncode != 0:
            self.notes.append(f"SDK {argv[0]} failed: {p.stderr.strip().splitlines()[-1] if p.stderr.strip() else p.returncode}")
            return None
        return json.loads(p.stdout.strip().splitlines()[-1])

    def server(self, home, workspace, cache):
        return Sidecar(self.bin, home, workspace, env={"XDG_CACHE_HOME": cache, "XDG_DATA_HOME": os.path.join(self.work, "xdg-data")})

    def add(self, workload, ours_s, ours_kb, sdk_s, sdk_kb, target=""):
        self.rows.append((workload, ours_s, ours_kb, sdk_s, sdk_kb, target))
        print(f"  {workload}: ours {human_ms(ours_s)} / {human_mb(ours_kb)}; SDK {human_ms(sdk_s)} / {human_mb(sdk_kb)}", flush=True)

    # ---- workloads -----------------------------------------------------------------------
    def list_2k(self):
        print("1. list 2,000 sessions of one project", flush=True)
        home, manifest = self.corpus("c2k", "--sessions", "2000", "--size-mb", "1024", "--projects", "1", "--seed", "1")
        ws = manifest[0]["cwd"]
        cold, cold_rss, warm, startup = [], [], [], []
        cache = None
        for i in range(self.args.runs):
            cache = tempfile.mkdtemp(dir=self.work)
            s = self.server(home, ws, cache)
            startup.append(s.t_initialized - s.t_spawn)
            t0 = time.perf_counter()
            r = s.call("sessions/list", {"limit": 1000})
            cold.append(time.perf_counter() - t0)
            assert len(r["items"]) == 1000, len(r["items"])
            cold_rss.append(s.hwm_kb())
            # let the background exact counts finish and the cache be written
            deadline = time.time() + 300
            while time.time() < deadline:
                items = s.call("sessions/list", {"limit": 1000})["items"]
                if all(i["countsExact"] for i in items):
                    break
                time.sleep(0.2)
            idle_rss = s.rss_kb()
            s.close()
            # warm: a new process with the persistent index cache
            s = self.server(home, ws, cache)
            t0 = time.perf_counter()
            r = s.call("sessions/list", {"limit": 1000})
            warm.append(time.perf_counter() - t0)
            if i == 0:
                time.sleep(1.0)
                self.idle_rss = s.rss_kb()
                self.idle_rss_after_full = idle_rss
            s.close()
        sdk = [self.sdk(home, "list", ws) for _ in range(max(1, self.args.runs // 2))]
        sdk = [x for x in sdk if x]
        sdk_s = statistics.median(x["seconds"] for x in sdk) if sdk else None
        sdk_kb = max(x["maxrss_kb"] for x in sdk) if sdk else None
        self.add("list 2,000 sessions (1 GB), cold", statistics.median(cold), max(cold_rss), sdk_s, sdk_kb, "≤ 150 ms, ≥ 10× SDK")
        self.add("list 2,000 sessions (1 GB), warm (index cache)", statistics.median(warm), None, sdk_s, sdk_kb, "≤ 20 ms")
        self.add("startup to initialize response", statistics.median(startup), None, None, None, "")
        self.add("idle RSS, 2,000-session index loaded", None, self.idle_rss, None, None, "≤ 40 MB")
        self.list_home, self.list_ws, self.list_manifest = home, ws, manifest

    def history_1g(self):
        print("2. history of a 1 GB transcript", flush=True)
        home, manifest = self.corpus("c1g", "--sessions", "1", "--size-mb", "1024", "--seed", "2")
        sid, ws = manifest[0]["session_id"], manifest[0]["cwd"]
        last, last_rss, mid = [], [], []
        for _ in range(self.args.runs):
            cache = tempfile.mkdtemp(dir=self.work)
            s = self.server(home, ws, cache)
            s.call("sessions/list", {})
            t0 = time.perf_counter()
            page = s.call("sessions/history", {"session": sid, "limit": 100})
            last.append(time.perf_counter() - t0)
            last_rss.append(s.hwm_kb())
            assert len(page["items"]) == 100
            # walk back ~half way with big pages, then time one middle page by cursor
            cur = page["olderCursor"]
            for _ in range(40):
                p = s.call("sessions/history", {"session": sid, "limit": 100, "before": cur})
                if not p["hasOlder"]:
                    break
                cur = p["olderCursor"]
            t0 = time.perf_counter()
            s.call("sessions/history", {"session": sid, "limit": 100, "before": cur})
            mid.append(time.perf_counter() - t0)
            s.close()
        sdk = self.sdk(home, "messages", sid, ws)
        self.add("last 100 messages of a 1 GB transcript", statistics.median(last), max(last_rss),
                 sdk and sdk["seconds"], sdk and sdk["maxrss_kb"], "≤ 20 ms, ≤ 50 MB")
        self.add("a middle page (100) by cursor, 1 GB transcript", statistics.median(mid), None,
                 sdk and sdk["seconds"], sdk and sdk["maxrss_kb"], "")

    def fork_100m(self):
        print("3. fork a 100 MB transcript", flush=True)
        home, manifest = self.corpus("c100m", "--sessions", "1", "--size-mb", "100", "--seed", "5")
        sid, ws, path = manifest[0]["session_id"], manifest[0]["cwd"], manifest[0]["file"]
        times, rss = [], []
        for _ in range(self.args.runs):
            cache = tempfile.mkdtemp(dir=self.work)
            s = self.server(home, ws, cache)
            s.call("sessions/list", {})
            base = s.hwm_kb()
            t0 = time.perf_counter()
            r = s.call("sessions/fork", {"session": sid})
            times.append(time.perf_counter() - t0)
            rss.append(s.hwm_kb())
            s.close()
            os.remove(r["session"]["path"])
        cps = []
        for _ in range(self.args.runs):
            dst = os.path.join(os.path.dirname(path), f"cp-{uuid.uuid4()}.tmp")
            t0 = time.perf_counter()
            subprocess.run(["cp", path, dst], check=True)
            with open(dst, "rb+") as f:
                os.fsync(f.fileno())
            cps.append(time.perf_counter() - t0)
            os.remove(dst)
        sdk = self.sdk(home, "fork", sid, ws)
        if sdk:
            # remove the SDK's fork so the corpus stays as generated
            for name in os.listdir(os.path.dirname(path)):
                if name.endswith(".jsonl") and name != os.path.basename(path):
                    os.remove(os.path.join(os.path.dirname(path), name))
        self.add("fork a 100 MB transcript", statistics.median(times), max(rss), sdk and sdk["seconds"], sdk and sdk["maxrss_kb"], "≤ 0.3 s, ≤ 30 MB")
        self.add("`cp` + fsync of the same file (physical limit)", statistics.median(cps), None, None, None, "")

    def append_target(self):
        """The latency workloads' session: the longest of a 20-session, 10 MB corpus, listed by a
        fresh sidecar. Returns (workspace, session id, path, server)."""
        home, manifest = self.corpus("c-append", "--sessions", "20", "--size-mb", "10", "--projects", "1", "--seed", "9")
        target = max(manifest, key=lambda m: m.get("messages", 0))
        s = self.server(home, manifest[0]["cwd"], tempfile.mkdtemp(dir=self.work))
        s.call("sessions/list", {})
        return manifest[0]["cwd"], target["session_id"], target["file"], s

    def append_latency(self):
        print("4. append latency", flush=True)
        ws, sid, path, s = self.append_target()
        sub = None
        try:
            sub = s.call("sessions/subscribe", {"session": sid})["subscription"]
        except RuntimeError as e:
            self.notes.append(f"subscribe unavailable: {e}")
        end_line(path, s)
        changed, appended = [], []
        n = self.args.appends
        for i in range(n):
            u = str(uuid.uuid4())
            line = json.dumps({"parentUuid": None, "isSidechain": False, "type": "user",
                               "message": {"role": "user", "content": f"bench append {i}"}, "uuid": u,
                               "timestamp": "2026-11-21T07:00:00.000Z", "cwd": ws, "sessionId": sid}) + "\n"
            t0 = time.perf_counter()
            with open(path, "a") as f:
                f.write(line)
            got_c = got_a = None
            deadline = t0 + 5
            while (got_c is None or (sub and got_a is None)) and time.perf_counter() < deadline:
                try:
                    t, msg = s.notes.get(timeout=max(0.001, deadline - time.perf_counter()))
                except Exception:
                    break
                m, p = msg.get("method"), msg.get("params", {})
                if m == "sessions/changed" and any(x["id"] == sid for x in p.get("updated", [])) and got_c is None:
                    got_c = t - t0
                if m == "sessions/appended" and any(it["id"] == u for it in p.get("items", [])):
                    got_a = t - t0
            if got_c is not None:
                changed.append(got_c)
            if got_a is not None:
                appended.append(got_a)
        s.close()
        self.add(f"append → sessions/changed, p50 ({len(changed)}/{n} seen)", pct(changed, 0.5), None, None, None, "")
        self.add(f"append → sessions/changed, p99", pct(changed, 0.99), None, None, None, "≤ 150 ms")
        if appended:
            self.add(f"append → sessions/appended, p50 ({len(appended)}/{n} seen)", pct(appended, 0.5), None, None, None, "")
            self.add(f"append → sessions/appended, p99", pct(appended, 0.99), None, None, None, "≤ 150 ms")

    def context_latency(self):
        """A model turn (an assistant record with usage) appended to the active session ->
        sessions/contextUsage carrying the new figure. Turns are 400 ms apart, past the 300 ms
        push throttle, as an agent's turns are; the figure is the push's own latency."""
        print("6. model turn -> sessions/contextUsage latency", flush=True)
        ws, sid, path, s = self.append_target()
        parent = None
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - (1 << 20)))
            for raw in f.read().split(b"\n"):
                try:
                    parent = json.loads(raw).get("uuid") or parent
                except (ValueError, AttributeError):
                    pass
        end_line(path, s)
        got, n = [], self.args.turns
        for i in range(n):
            u, used = str(uuid.uuid4()), 10_000 + i
            line = json.dumps({"parentUuid": parent, "isSidechain": False, "type": "assistant", "uuid": u,
                               "timestamp": "2026-11-21T07:00:00.000Z", "cwd": ws, "sessionId": sid,
                               "message": {"id": f"msg_{u}", "type": "message", "role": "assistant",
                                           "model": "claude-opus-5-5", "content": [{"type": "text", "text": "ok"}],
                                           "stop_reason": "end_turn", "stop_sequence": None,
                                           "usage": {"input_tokens": used, "cache_creation_input_tokens": 0,
                                                     "cache_read_input_tokens": 0, "output_tokens": 0}}}) + "\n"
            parent = u
            t0 = time.perf_counter()
            with open(path, "a") as f:
                f.write(line)
            deadline = t0 + 5
            while time.perf_counter() < deadline:
                try:
                    t, msg = s.notes.get(timeout=max(0.001, deadline - time.perf_counter()))
                except Exception:
                    break
                p = msg.get("params", {})
                if msg.get("method") == "sessions/contextUsage" and p.get("usedTokens") == used:
                    got.append(t - t0)
                    break
            # The next turn 400 ms after this one, and at least 350 ms after its push, so the
            # 300 ms throttle never holds a turn back (that would be counted as its latency).
            pushed = t0 + got[-1] if len(got) == i + 1 else t0
            time.sleep(max(0.0, max(t0 + 0.4, pushed + 0.35) - time.perf_counter()))
        s.close()
        self.add(f"model turn → sessions/contextUsage, p50 ({len(got)}/{n} seen)", pct(got, 0.5), None, None, None, "")
        self.add("model turn → sessions/contextUsage, p99", pct(got, 0.99), None, None, None, "≤ 500 ms")

    # ---- report --------------------------------------------------------------------------
    def write(self, path):
        cores = os.cpu_count()
        mem_kb = int(next(l for l in open("/proc/meminfo") if l.startswith("MemTotal")).split()[1])
        sdk_ver = subprocess.run([self.python, "-c", "import importlib.metadata as m; print(m.version('claude-agent-sdk'))"],
                                 capture_output=True, text=True).stdout.strip()
        ver = subprocess.run([self.bin, "--version"], capture_output=True, text=True).stdout.strip()
        lines = [
            "# Benchmark results",
            "",
            f"Regenerated by `bench/run.sh` on {time.strftime('%Y-%m-%d')}: {cores} cores, {mem_kb / 1048576:.0f} GiB memory, "
            f"{platform.system()} {platform.machine()}. {ver}; official SDK: claude-agent-sdk {sdk_ver} (Python {platform.python_version()}). "
            f"Medians of {self.args.runs} runs; peak RSS of the process that did the work (ours: the sidecar server; SDK: the Python process).",
            "",
            "| workload | ours | ours peak RSS | SDK | SDK peak RSS | SDK / ours | target |",
            "|---|---|---|---|---|---|---|",
        ]
        for w, os_, ok, ss, sk, tgt in self.rows:
            lines.append(f"| {w} | {human_ms(os_)} | {human_mb(ok)} | {human_ms(ss)} | {human_mb(sk)} | {ratio(os_, ss)} | {tgt} |")
        if self.notes:
            lines += ["", "Notes:", ""] + [f"- {n}" for n in self.notes]
        lines.append("")
        open(path, "w").write("\n".join(lines))
        print("\n".join(lines))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--sdk-python", required=True)
    ap.add_argument("--shared", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--appends", type=int, default=1000)
    ap.add_argument("--turns", type=int, default=100)
    ap.add_argument("--only", default="list,history,fork,append,context")
    ap.add_argument("--out", default=os.path.join(HERE, "RESULTS.md"))
    args = ap.parse_args()
    args.work = os.path.abspath(args.work)  # the corpora's HOME must be absolute
    b = Bench(args)
    for w in args.only.split(","):
        try:
            {"list": b.list_2k, "history": b.history_1g, "fork": b.fork_100m, "append": b.append_latency,
             "context": b.context_latency}[w]()
        except Exception as e:  # a failed workload is reported, the others still run
            b.notes.append(f"workload {w} failed: {e}")
            print(f"  workload {w} failed: {e}", flush=True)
    b.write(args.out)


if __name__ == "__main__":
    main()
