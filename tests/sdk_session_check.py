"""How the official Claude Agent SDK sees sessions the sidecar wrote, next to what the SDK
and the Claude Code CLI write themselves. Called by tests/resume_check.sh with the SDK venv's
python; HOME must point at the scratch home (the SDK reads ~/.claude).

    sdk_session_check.py WORKSPACE SPEC_JSON

SPEC_JSON: {"titles": {session_id: expected_title}, "tags": {session_id: expected_tag|null},
            "same_title": [[session_a, session_b], ...],
            "sdk_forks": [{"source": id, "ours": fork_id}, ...]}
Prints one `PASS …` / `FAIL …` line per check, and `SDKFORK <source> <new id>` for each fork the
SDK made; exit 0.
"""

import json
import sys

from claude_agent_sdk import fork_session, list_sessions


def main() -> None:
    workspace, spec = sys.argv[1], json.loads(sys.argv[2])
    sessions = {s.session_id: s for s in list_sessions(directory=workspace)}

    def check(name, ok, detail):
        print(("PASS " if ok else "FAIL ") + name + ": " + detail)

    for sid, title in spec.get("titles", {}).items():
        s = sessions.get(sid)
        if s is None:
            check(f"SDK lists {sid[:8]}", False, "not in list_sessions")
            continue
        check(
            f"SDK title of {sid[:8]}",
            s.custom_title == title and s.summary == title,
            f"custom_title={s.custom_title!r} summary={s.summary!r}, expected {title!r}",
        )
    for sid, tag in spec.get("tags", {}).items():
        s = sessions.get(sid)
        got = s.tag if s else "<not listed>"
        check(f"SDK tag of {sid[:8]}", s is not None and got == tag, f"tag={got!r}, expected {tag!r}")
    for a, b in spec.get("same_title", []):
        sa, sb = sessions.get(a), sessions.get(b)
        ok = sa is not None and sb is not None
        fields = lambda s: (s.custom_title, s.summary) if s else None  # noqa: E731
        check(
            f"SDK shows {a[:8]} like {b[:8]}",
            ok and fields(sa)[0] is not None and fields(sa) == fields(sb),
            f"{fields(sa)} vs {fields(sb)}",
        )
    for f in spec.get("sdk_forks", []):
        src, ours = f["source"], f["ours"]
        theirs = fork_session(src, directory=workspace).session_id
        sessions = {s.session_id: s for s in list_sessions(directory=workspace)}
        so, st = sessions.get(ours), sessions.get(theirs)
        check(
            f"fork title like the SDK's fork_session ({src[:8]})",
            so is not None and st is not None and so.custom_title == st.custom_title
            and so.custom_title.endswith(" (fork)"),
            f"ours {so.custom_title if so else None!r}, SDK {st.custom_title if st else None!r}",
        )
        print(f"SDKFORK {src} {theirs}")

if __name__ == "__main__":
    main()
