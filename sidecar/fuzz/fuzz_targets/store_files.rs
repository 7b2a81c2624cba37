//! Every store on a session file made from the input: discovery, the summary scan (full, and
//! incremental after an append, which must agree), history pages followed through their
//! cursors, single messages, live appends, subagents, and the writers (fork, rename, tag).
//! No panic; pages respect their limit; what the writers produce is whole JSON lines.
//!
//! Input: byte 0 = agent, byte 1 = page size, byte 2 = where the "append" splits the file;
//! the rest is the file.
#![no_main]
use libfuzzer_sys::fuzz_target;
use session_sidecar::cursor::Cursor;
use session_sidecar::index::{scan_file, ReadMode};
use session_sidecar::store::{ForkRequest, HistoryRequest, SessionFile};

fn whole_json_lines(path: &std::path::Path) {
    let bytes = std::fs::read(path).unwrap();
    assert!(
        bytes.is_empty() || bytes.ends_with(b"\n"),
        "{} ends mid-line",
        path.display()
    );
    for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        assert!(
            serde_json::from_slice::<serde_json::Value>(line).is_ok(),
            "{} has a line that is not JSON: {}",
            path.display(),
            String::from_utf8_lossy(line)
        );
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let env = session_sidecar_fuzz::env();
    let store = &env.stores[data[0] as usize % env.stores.len()];
    let limit = 1 + data[1] as usize % 50;
    let content = &data[3..];
    let path = session_sidecar_fuzz::session_path(store.root(), store.agent());
    let dir = path.parent().unwrap();
    let _ = std::fs::remove_dir_all(store.root());
    std::fs::create_dir_all(dir).unwrap();

    // Incremental scan: a prefix, then the rest appended.
    let cut = content.len() * data[2] as usize / 255;
    std::fs::write(&path, &content[..cut]).unwrap();
    let (k1, s1) = scan_file(store.as_ref(), &path, None, ReadMode::Full).unwrap();
    std::fs::write(&path, content).unwrap();
    let (_, inc) = scan_file(store.as_ref(), &path, Some((&k1, &s1)), ReadMode::Full).unwrap();
    let (_, full) = scan_file(store.as_ref(), &path, None, ReadMode::Full).unwrap();
    assert_eq!(inc, full, "an appended file scans the same incrementally");
    let _ = scan_file(store.as_ref(), &path, None, ReadMode::Lite);

    let _ = store.discover(Some(&env.workspace));
    let _ = store.discover(None);
    let id = store
        .session_id_of(&path)
        .unwrap_or_else(|| "59e7b833-aace-4821-88a8-f970caa6c194".into());
    let file = SessionFile {
        agent: store.agent(),
        id,
        path: path.clone(),
    };

    let req = |before: Option<Cursor>, after: Option<Cursor>| HistoryRequest {
        limit,
        before,
        after,
        truncate_bytes: 64 + data[2] as usize * 16,
        subagent: None,
    };
    let mut first_id = None;
    if let Ok(page) = store.history(&file, &req(None, None)) {
        assert!(page.items.len() <= limit, "a page holds at most its limit");
        first_id = page.items.first().map(|i| i.id.clone());
        for item in page.items.iter().take(3) {
            let _ = store.message(&file, &item.id, None);
        }
        // Older pages through their cursors.
        let mut older = page.older_cursor.clone();
        for _ in 0..20 {
            let Some(c) = older.take() else { break };
            let c = Cursor::decode(&c).expect("the sidecar decodes its own cursors");
            match store.history(&file, &req(Some(c), None)) {
                Ok(p) => {
                    assert!(p.items.len() <= limit);
                    older = p.older_cursor;
                }
                Err(_) => break,
            }
        }
        if let Some(c) = page.older_cursor.as_deref().map(Cursor::decode) {
            let _ = store.history(&file, &req(None, Some(c.unwrap())));
        }
    }
    let _ = store.message(&file, "59e7b833-aace-4821-88a8-f970caa6c194", None);
    let _ = store.appended(&file, 0, 256);
    let _ = store.appended(&file, cut as u64, 256);
    let _ = store.subscription_start(&file, None);
    let _ = store.subagents(&file);
    let _ = store.companion_paths(&file);
    let _ = store.clean_temp_files(&env.workspace);

    // Writers: a fork (whole, or up to the first message) is whole JSON lines; the source is
    // untouched; rename and tag append whole lines.
    let before = std::fs::read(&path).unwrap();
    for up_to in [None, first_id] {
        let forked = store.fork(
            &file,
            &ForkRequest {
                up_to_message: up_to,
                title: Some("Fuzzed fork".into()),
                branch: Some("main".into()),
                source_title: None,
            },
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "fork leaves the source as it was"
        );
        if let Ok(f) = forked {
            assert_ne!(f.path, path);
            whole_json_lines(&f.path);
            let _ = std::fs::remove_file(&f.path);
        }
    }
    let complete_before = before.is_empty() || before.ends_with(b"\n");
    if store.rename(&file, "Fuzzed title").is_ok() && complete_before {
        let after = std::fs::read(&path).unwrap();
        assert!(after.starts_with(&before) && after.ends_with(b"\n"));
    }
    let _ = store.tag(&file, Some("fuzz"));
    let _ = store.tag(&file, None);
});
