//! The fork's fast JSON member scanner (`json_members::members`, with SIMD string scanning)
//! against serde_json: whenever the scanner answers for a line, serde_json must read that line
//! as an object with exactly those keys, and each member's raw text must be that key's value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use session_sidecar::json_members::members;

fuzz_target!(|data: &[u8]| {
    for line in session_sidecar::transcript::lines_in(data, false) {
        let Ok(line) = std::str::from_utf8(line) else {
            continue;
        };
        let Some(ms) = members(line) else {
            continue;
        };
        let parsed: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("scanner accepted what serde_json refuses ({e}): {line:?}"));
        assert_eq!(ms.len(), parsed.len(), "member count of {line:?}");
        for m in ms {
            let v: serde_json::Value = serde_json::from_str(m.value)
                .unwrap_or_else(|e| panic!("member {} is not JSON ({e}): {line:?}", m.key));
            assert_eq!(Some(&v), parsed.get(m.key), "member {} of {line:?}", m.key);
        }
    }
});
