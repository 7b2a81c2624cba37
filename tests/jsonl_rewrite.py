"""Rewrites the records of a JSONL file in place, for the tests/bulky_*.py scratch-copy tools."""
import json
import os


def rewrite(path, change, keep_times=False):
    """Calls change(record) on every line that parses as JSON. A record for which it returns
    True is written back compactly; every other line (and the bytes between lines) stays as it
    was. The result goes to a temp file beside `path`, is fsynced and renamed over it with its
    mode (and with keep_times, its access and modification times)."""
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    out = []
    for raw in lines:
        try:
            rec = json.loads(raw)
        except ValueError:
            out.append(raw)  # garbage, or the empty tail after the last newline
            continue
        if change(rec):
            raw = json.dumps(rec, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        out.append(raw)
    tmp = path + ".bulky-tmp"
    with open(tmp, "wb") as f:
        f.write(b"\n".join(out))
        f.flush()
        os.fsync(f.fileno())
    st = os.stat(path)
    os.chmod(tmp, st.st_mode & 0o777)
    if keep_times:
        os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(tmp, path)
