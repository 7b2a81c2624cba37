//! The fork's fast JSON member scanner (`json_members::members`, with SIMD string scanning)
//! against serde_json: whenever the scanner answers for a line, serde_json must read that line
//! as an object of raw values — the way the fork writer's full parser reads a record — with
//! exactly those keys, in that order, once each, and each member's raw text must be that
//! key's raw value.
//!
//! Raw values, not `serde_json::Value`: like the agents' `JSON.parse`, both the scanner and the
//! writer's fallback take lone surrogate escapes, numbers past f64 and nesting deeper than 128,
//! which a `Value` refuses (the first CI run of this target found such a line).
#![no_main]
use libfuzzer_sys::fuzz_target;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use session_sidecar::json_members::members;

/// Every member in order, duplicates kept.
struct Pairs(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Pairs;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Pairs, A::Error> {
                let mut out = Vec::new();
                while let Some(kv) = m.next_entry()? {
                    out.push(kv);
                }
                Ok(Pairs(out))
            }
        }
        d.deserialize_map(V)
    }
}

fuzz_target!(|data: &[u8]| {
    for line in session_sidecar::transcript::lines_in(data, false) {
        let Ok(line) = std::str::from_utf8(line) else {
            continue;
        };
        let Some(ms) = members(line) else {
            continue;
        };
        let Pairs(parsed) = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("scanner accepted what serde_json refuses ({e}): {line:?}"));
        let ours: Vec<(&str, &str)> = ms.iter().map(|m| (m.key, m.value)).collect();
        let theirs: Vec<(&str, &str)> = parsed.iter().map(|(k, v)| (k.as_str(), v.get())).collect();
        assert_eq!(ours, theirs, "members of {line:?}");
    }
});
