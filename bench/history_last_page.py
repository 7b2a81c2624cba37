#!/usr/bin/env python3
"""Benchmark: the last page of a 1 GB Claude Code transcript, ours vs the official SDK.

Generates one ~1 GB session with the shared synthetic corpus tool (cached between runs), then
measures, each in a fresh process (wall time and peak RSS from wait4):
  * ours, latest page:  session-sidecar history ID --limit 100 --json   (release build)
  * ours, middle page:  the same with --before CURSOR, a cursor from the middle of the file
  * the SDK:            claude_agent_sdk.get_session_messages(ID, directory=CWD)
and prints a Markdown table (or, with --json, only the figures as JSON for a bench harness).

    bench/history_last_page.py [--size-mb 1024] [--runs 5] [--json] [--no-sdk]

Environment: SHARED (default: ../shared next to the repository) holds tools/corpus/;
BENCH_DATA (default: target/bench-data) caches the generated corpus; SDK_VENV (default:
.tools/sdk-venv, created with claude-agent-sdk==SDK_VERSION when missing); SESSION_SIDECAR (a
prebuilt binary; default: cargo build --release).
Python 3 stdlib only. Goal: ours under 20 ms and 50 MB.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SDK_VERSION = os.environ.get("SDK_VERSION", "0.2.186")


GNU_TIME = "/usr/bin/time"


def measure(argv, env=None, stdout=subprocess.DEVNULL):
    """Run argv once; returns {"ms": wall ms, "cpu_ms": user+sys ms, "rss_mb": peak RSS, "out"}.

    Peak RSS comes from GNU time's %M when it is installed: wait4's ru_maxrss of a child
    started from this (large) Python process also counts the forked image before exec."""
    rss_file = None
    if os.path.exists(GNU_TIME):
        fd, rss_file = tempfile.mkstemp(prefix="bench-rss-")
        os.close(fd)
        argv = [GNU_TIME, "-f", "%M", "-o", rss_file] + list(argv)
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, env=env, stdout=stdout, stderr=subprocess.PIPE)
    out = p.stdout.read() if stdout == subprocess.PIPE else None
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    ms = (time.perf_counter() - t0) * 1000
    p.returncode = os.waitstatus_to_exitcode(status)
    rss_kb = ru.ru_maxrss
    if rss_file:
        with open(rss_file, encoding="utf-8") as f:
            lines = [l for l in f.read().split() if l.isdigit()]
        os.unlink(rss_file)
        if lines:
            rss_kb = int(lines[-1])
    if p.returncode != 0:
        raise RuntimeError(f"{argv[:3]}… exited {p.returncode}: {err.decode(errors='replace')[-2000:]}")
    return {"ms": ms, "cpu_ms": (ru.ru_utime + ru.ru_stime) * 1000, "rss_mb": rss_kb / 1024.0,
            "out": out}


def shared_dir():
    return os.environ.get("SHARED") or os.path.join(os.path.dirname(REPO), "shared")


def ensure_corpus(size_mb, seed=2):
    """The generated home (cached); returns (home, session id, cwd, manifest row)."""
    base = os.environ.get("BENCH_DATA") or os.path.join(REPO, "target", "bench-data")
    out = os.path.join(base, f"corpus-{size_mb}m-seed{seed}")
    manifest = os.path.join(out, "synth_manifest.jsonl")
    if not os.path.exists(manifest):
        synth = os.path.join(shared_dir(), "tools", "corpus", "synth_claude_corpus.py")
        if not os.path.exists(synth):
            sys.exit(f"synth tool not found at {synth} (set SHARED)")
        print(f"generating a {size_mb} MB transcript (takes ~40 s per GB)…", file=sys.stderr)
        subprocess.run([sys.executable, synth, out, "--sessions", "1", "--size-mb", str(size_mb),
                        "--seed", str(seed)], check=True, stdout=subprocess.DEVNULL)
    rows = [json.loads(l) for l in open(manifest, encoding="utf-8") if l.strip()]
    row = max(rows, key=lambda r: r["bytes"])
    return out, row["session_id"], row["cwd"], row


def ensure_binary():
    b = os.environ.get("SESSION_SIDECAR")
    if b:
        return b
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "session-sidecar"],
                   cwd=REPO, check=True)
    return os.path.join(REPO, "target", "release", "session-sidecar")


def ensure_sdk():
    venv = os.environ.get("SDK_VENV") or os.path.join(REPO, ".tools", "sdk-venv")
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    probe = subprocess.run([py, "-c", "import claude_agent_sdk as s; print(s.__version__)"],
                           capture_output=True, text=True)
    if probe.stdout.strip() != SDK_VERSION:
        subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q",
                        "--disable-pip-version-check", f"claude-agent-sdk=={SDK_VERSION}"], check=True)
    return py


def sidecar_env(home):
    env = {k: v for k, v in os.environ.items()
           if k not in ("CLAUDE_CONFIG_DIR", "QWEN_HOME", "QWEN_RUNTIME_DIR", "CODEX_HOME",
                        "GEMINI_CLI_HOME")}
    env["XDG_CACHE_HOME"] = os.path.join(home, ".bench-xdg-cache")
    env["XDG_DATA_HOME"] = os.path.join(home, ".bench-xdg-data")
    return env


def ours(binary, home, sid, cwd, extra, runs):
    argv = [binary, "--home", home, "--workspace", cwd, "--agent", "claude", "history", sid,
            "--limit", "100", "--json"] + extra
    env = sidecar_env(home)
    first = measure(argv, env, stdout=subprocess.PIPE)
    page = json.loads(first["out"])
    rest = [measure(argv, env) for _ in range(runs)]
    return {
        "first_ms": round(first["ms"], 2),
        "median_ms": round(statistics.median(r["ms"] for r in rest), 2),
        "max_ms": round(max(r["ms"] for r in rest), 2),
        "min_ms": round(min(r["ms"] for r in rest), 2),
        "median_cpu_ms": round(statistics.median(r["cpu_ms"] for r in rest), 2),
        "peak_rss_mb": round(max([first["rss_mb"]] + [r["rss_mb"] for r in rest]), 1),
        "items": len(page["items"]),
        "has_older": page["hasOlder"],
    }


class Lsp:
    """A minimal JSON-RPC client over a `session-sidecar serve` process."""

    def __init__(self, binary, home, cwd):
        self.p = subprocess.Popen([binary, "serve"], env=sidecar_env(home), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.next = 1
        self.notes = []
        r = self.call("initialize", {"processId": None, "rootUri": None, "capabilities": {},
                                     "workspaceFolders": [{"uri": "file://" + cwd, "name": "ws"}],
                                     "initializationOptions": {"home": home, "agents": ["claude"]}})
        assert "result" in r, r
        self.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})

    def send(self, msg):
        body = json.dumps(msg).encode()
        self.p.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.p.stdin.flush()

    def read(self):
        length = None
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise RuntimeError("server closed")
            line = line.strip()
            if not line:
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return json.loads(self.p.stdout.read(length))

    def call(self, method, params):
        i = self.next
        self.next += 1
        self.send({"jsonrpc": "2.0", "id": i, "method": method, "params": params})
        while True:
            m = self.read()
            if m.get("id") == i and "method" not in m:
                return m
            self.notes.append(m)

    def peak_rss_mb(self):
        """VmHWM of the server process (its own peak, unlike wait4 on a forked child)."""
        with open(f"/proc/{self.p.pid}/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
        return float("nan")

    def close(self):
        self.call("shutdown", None)
        self.send({"jsonrpc": "2.0", "method": "exit"})
        self.p.stdin.close()
        _, _, ru = os.wait4(self.p.pid, 0)
        return ru.ru_maxrss / 1024.0


def server(binary, home, sid, cwd, runs, cursor):
    """Round trips of sessions/history on a running server (after its startup indexing)."""
    lsp = Lsp(binary, home, cwd)
    # The server completes the exact counts of large files in the background: let it finish.
    deadline = time.time() + 600
    while not lsp.call("sessions/info", {"session": sid})["result"]["countsExact"]:
        if time.time() > deadline:
            raise RuntimeError("the server did not finish indexing")
        time.sleep(0.1)
    # Let its post-startup work (cache write) finish; the first requests warm up.
    time.sleep(1.0)
    warmup = 5
    out = {}
    for name, extra in (("latest", {}), ("middle", {"before": cursor} if cursor else None)):
        if extra is None:
            continue
        ts = []
        for _ in range(runs + warmup):
            t0 = time.perf_counter()
            r = lsp.call("sessions/history", dict({"session": sid, "limit": 100}, **extra))
            ts.append((time.perf_counter() - t0) * 1000)
            assert "result" in r, r
        out[name + "_median_ms"] = round(statistics.median(ts[warmup:]), 2)
        out[name + "_min_ms"] = round(min(ts[warmup:]), 2)
    # Includes the server's own startup indexing (it reads large files whole once for counts).
    out["peak_rss_mb_incl_startup_indexing"] = round(lsp.peak_rss_mb(), 1)
    lsp.close()
    return out


def middle_cursor(binary, home, sid, cwd, target_items):
    """Walk back with 1000-item pages until about `target_items` items are behind us."""
    env = sidecar_env(home)
    seen, cursor, pages = 0, None, 0
    while seen < target_items:
        argv = [binary, "--home", home, "--workspace", cwd, "--agent", "claude", "history", sid,
                "--limit", "1000", "--json"] + (["--before", cursor] if cursor else [])
        page = json.loads(measure(argv, env, stdout=subprocess.PIPE)["out"])
        pages += 1
        seen += len(page["items"])
        if not page["hasOlder"]:
            break
        cursor = page["olderCursor"]
    return cursor, seen


def sdk(py, home, sid, cwd):
    code = ("import sys, claude_agent_sdk as s\n"
            "m = s.get_session_messages(sys.argv[1], directory=sys.argv[2])\n"
            "print(len(m))\n")
    env = dict(os.environ, HOME=home, CLAUDE_CONFIG_DIR=os.path.join(home, ".claude"))
    r = measure([py, "-c", code, sid, cwd], env, stdout=subprocess.PIPE)
    return {"ms": round(r["ms"], 1), "cpu_ms": round(r["cpu_ms"], 1),
            "peak_rss_mb": round(r["rss_mb"], 1),
            "messages": int(r["out"].decode().strip())}


def run(size_mb=1024, runs=5, with_sdk=True):
    home, sid, cwd, row = ensure_corpus(size_mb)
    path = os.path.join(REPO, row["file"]) if not os.path.isabs(row["file"]) else row["file"]
    size = os.path.getsize(path)
    binary = ensure_binary()
    res = {"file_bytes": size, "file_lines": row.get("lines"), "session": sid,
           "latest": ours(binary, home, sid, cwd, [], runs)}
    cursor, behind = middle_cursor(binary, home, sid, cwd, (row.get("messages") or 0) // 2)
    if cursor:
        res["middle"] = ours(binary, home, sid, cwd, ["--before", cursor], runs)
        res["middle"]["items_behind"] = behind
    res["server"] = server(binary, home, sid, cwd, runs, cursor)
    if with_sdk:
        res["sdk"] = sdk(ensure_sdk(), home, sid, cwd)
    res["load_average"] = os.getloadavg()[0]
    res["cpus"] = os.cpu_count()
    return res


def table(r):
    gb = r["file_bytes"] / 1e9
    lines = [f"Transcript: {r['file_bytes']:,} bytes ({gb:.2f} GB), {r['file_lines']:,} lines; "
             f"page = 100 items.", "",
             "| what | wall time (median, min) | CPU time | peak RSS |", "|---|---|---|---|"]
    l = r["latest"]
    lines.append(f"| session-sidecar, latest page (whole CLI process; first run {l['first_ms']} ms) "
                 f"| {l['median_ms']} ms, {l['min_ms']} ms | {l['median_cpu_ms']} ms | {l['peak_rss_mb']} MB |")
    if "middle" in r:
        m = r["middle"]
        lines.append(f"| session-sidecar, middle page by cursor ({m['items_behind']:,} items from the end) "
                     f"| {m['median_ms']} ms, {m['min_ms']} ms | {m['median_cpu_ms']} ms | {m['peak_rss_mb']} MB |")
    if "server" in r:
        v = r["server"]
        lines.append(f"| session-sidecar serve: sessions/history round trip, latest page "
                     f"| {v['latest_median_ms']} ms, {v['latest_min_ms']} ms | | "
                     f"{v['peak_rss_mb_incl_startup_indexing']} MB (whole server) |")
        if "middle_median_ms" in v:
            lines.append(f"| session-sidecar serve: sessions/history round trip, middle page "
                         f"| {v['middle_median_ms']} ms, {v['middle_min_ms']} ms | | |")
    if "sdk" in r:
        s = r["sdk"]
        lines.append(f"| claude-agent-sdk {SDK_VERSION} get_session_messages ({s['messages']:,} messages) "
                     f"| {s['ms'] / 1000:.2f} s | {s['cpu_ms'] / 1000:.2f} s | {s['peak_rss_mb']:,.0f} MB |")
    mem_ok = l["peak_rss_mb"] < 50
    lines += ["",
              f"Goal, latest page under 20 ms and 50 MB: memory {'met' if mem_ok else 'NOT met'} "
              f"({l['peak_rss_mb']} MB); time {'met' if l['median_ms'] < 20 else 'NOT met'} by the "
              f"median wall time ({l['median_ms']} ms), {'met' if l['min_ms'] < 20 else 'NOT met'} "
              f"by the best run ({l['min_ms']} ms), CPU {l['median_cpu_ms']} ms"
              + (f", server round trip {r['server']['latest_median_ms']} ms" if "server" in r else "")
              + ".",
              f"Load average during the run: {r['load_average']:.1f} on {r['cpus']} CPUs "
              "(wall times include waiting for a CPU; CPU time does not)."]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", action="store_true", help="print only the figures, as JSON")
    ap.add_argument("--no-sdk", action="store_true", help="skip the SDK (it needs ~5 GB of RAM)")
    a = ap.parse_args()
    r = run(a.size_mb, a.runs, not a.no_sdk)
    print(json.dumps(r, indent=2) if a.json else table(r))


if __name__ == "__main__":
    main()
