//! Every agent's record parser: each line of the input is folded into a summary by every store
//! (`SessionStore::scan_line`), then the summary is built, serialised, and round-tripped
//! through the index cache format. No panic; the cache gives back the same state.
#![no_main]
use libfuzzer_sys::fuzz_target;
use session_sidecar::summary::ScanState;
use session_sidecar::transcript::FileKey;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let env = session_sidecar_fuzz::env();
    for store in &env.stores {
        let mut st = ScanState::default();
        for line in session_sidecar::transcript::lines_in(data, false) {
            let _ = store.lite_metadata_line(line);
            store.scan_line(&mut st, line);
        }
        let _ = store.lite_head_done(&st);
        let _ = store.lite_tail_done(&st);
        let _ = store.is_listable(&st);
        let _ = store.in_workspace(Path::new("/x/y.jsonl"), &st, &env.workspace);
        let (window, _) = store.context_window(&st);
        let _ = store.auto_compact_at(window, &st);
        let _ = store.continue_key(Path::new("/x/y.jsonl"), &st, 0);
        let key = FileKey {
            dev: 1,
            ino: 2,
            size: data.len() as u64,
            mtime_ns: 1_700_000_000_000_000_000,
        };
        let summary = st.to_summary(store.agent(), "59e7b833", Path::new("/x/y.jsonl"), &key);
        serde_json::to_vec(&summary).expect("a summary serialises");
        let cached = serde_json::to_vec(&st).expect("a scan state serialises");
        let back: ScanState = serde_json::from_slice(&cached).expect("the cache reads it back");
        assert_eq!(back, st, "the index cache must give back the same state");
    }
});
