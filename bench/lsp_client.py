"""A minimal LSP-framed JSON-RPC client for driving session-sidecar in benchmarks (stdlib only)."""
import json
import os
import queue
import subprocess
import threading
import time


class Sidecar:
    def __init__(self, binary, home, workspace, env=None, options=None):
        e = dict(os.environ)
        for k in ("CLAUDE_CONFIG_DIR", "QWEN_HOME", "QWEN_RUNTIME_DIR", "CODEX_HOME", "GEMINI_CLI_HOME"):
            e.pop(k, None)
        e.update(env or {})
        self.t_spawn = time.perf_counter()
        self.p = subprocess.Popen([binary, "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=e)
        self.responses = {}
        self.cv = threading.Condition()
        self.notes = queue.Queue()
        self.next_id = 1
        threading.Thread(target=self._reader, daemon=True).start()
        opts = {"home": home, "workspace": workspace}
        opts.update(options or {})
        self.init_result = self.call("initialize", {"processId": None, "capabilities": {}, "initializationOptions": opts})
        self.t_initialized = time.perf_counter()
        self.notify("initialized", {})

    def _reader(self):
        f = self.p.stdout
        while True:
            length = None
            while True:
                line = f.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            body = json.loads(f.read(length))
            if "id" in body and "method" not in body:
                with self.cv:
                    self.responses[body["id"]] = body
                    self.cv.notify_all()
            else:
                self.notes.put((time.perf_counter(), body))

    def _send(self, msg):
        data = json.dumps(msg).encode()
        self.p.stdin.write(b"Content-Length: %d\r\n\r\n" % len(data) + data)
        self.p.stdin.flush()

    def notify(self, method, params):
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def call(self, method, params, timeout=600):
        i = self.next_id
        self.next_id += 1
        self._send({"jsonrpc": "2.0", "id": i, "method": method, "params": params})
        with self.cv:
            ok = self.cv.wait_for(lambda: i in self.responses, timeout)
            if not ok:
                raise TimeoutError(method)
            r = self.responses.pop(i)
        if "error" in r:
            raise RuntimeError(f"{method}: {r['error']}")
        return r["result"]

    def wait_note(self, method, pred=lambda p: True, timeout=10):
        end = time.perf_counter() + timeout
        while True:
            left = end - time.perf_counter()
            if left <= 0:
                return None
            try:
                t, n = self.notes.get(timeout=left)
            except queue.Empty:
                return None
            if n.get("method") == method and pred(n.get("params")):
                return t, n["params"]

    def rss_kb(self):
        with open(f"/proc/{self.p.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def hwm_kb(self):
        with open(f"/proc/{self.p.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0

    def close(self):
        try:
            self.call("shutdown", None, timeout=10)
            self.notify("exit", None)
            self.p.wait(timeout=10)
        except Exception:
            self.p.kill()
