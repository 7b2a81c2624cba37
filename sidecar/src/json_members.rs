//! The top-level members of a one-line JSON object, found in one validating pass without
//! building any value: the fast path for code that reads or rewrites a few keys of large JSONL
//! records and copies everything else verbatim.
//!
//! [`members`] only answers for the shape agents write — `{` and `}` with no whitespace between
//! the top-level tokens, keys without escapes, no key twice — and only for text serde_json
//! accepts: every value is validated the way serde_json's `ignore_value` does (strings without
//! control characters and with valid escapes, JSON numbers, `true`/`false`/`null`, nesting of
//! any depth, whitespace inside nested values). For anything else it answers `None`, and the
//! caller falls back to a full parser; so a line it answers for is one serde_json reads with the
//! same keys and the same raw values.
//!
//! "Reads" means as an object of raw values (`RawValue`), which is how both of its callers' full
//! parsers read a record: that takes what `JSON.parse` in the agents' CLIs takes and a
//! `serde_json::Value` would not — a lone surrogate escape (`"\ud800"`), a number past the
//! range of f64 (`1e400`), nesting deeper than 128 — so the fast path takes them too.

/// One top-level member: its key (no escapes, so the raw text is the key) and the raw JSON
/// text of its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member<'a> {
    pub key: &'a str,
    pub value: &'a str,
}

/// The members of `line` in order, or `None` when the line is not a compact, escape-free-keyed,
/// duplicate-free JSON object that serde_json would accept (see the module docs).
pub fn members(line: &str) -> Option<Vec<Member<'_>>> {
    let b = line.as_bytes();
    if b.len() < 2 || b[0] != b'{' || b[b.len() - 1] != b'}' {
        return None;
    }
    let mut out: Vec<Member> = Vec::with_capacity(32);
    if b.len() == 2 {
        return Some(out);
    }
    let mut stack = Vec::new();
    let mut i = 1;
    loop {
        if b[i] != b'"' {
            return None;
        }
        let key_end = skip_string(b, i + 1)?;
        let key = &line[i + 1..key_end - 1];
        if key.contains('\\') || out.iter().any(|m| m.key == key) {
            return None;
        }
        if b.get(key_end) != Some(&b':') {
            return None;
        }
        let start = key_end + 1;
        let end = skip_value(b, start, &mut stack)?;
        out.push(Member {
            key,
            value: &line[start..end],
        });
        match b.get(end) {
            Some(b',') => i = end + 1,
            Some(b'}') if end == b.len() - 1 => return Some(out),
            _ => return None,
        }
        if i >= b.len() {
            return None;
        }
    }
}

/// JSON whitespace, as serde_json skips it.
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

/// Whether a string byte needs a closer look: `"`, `\` or a control character (JSON forbids
/// U+0000..U+001F unescaped).
fn is_special(c: u8) -> bool {
    c == b'"' || c == b'\\' || c < 0x20
}

/// A bit per byte of `b[i..i + 16]`, set for the special ones. Strings are most of a
/// transcript's bytes, so they are looked at 16 bytes at a time (SSE2 is part of every x86_64
/// CPU).
#[cfg(target_arch = "x86_64")]
fn special_mask(b: &[u8], i: usize) -> u32 {
    use std::arch::x86_64::*;
    let block = &b[i..i + 16];
    // SAFETY: SSE2 is always available on x86_64, and the load reads the 16 bytes of `block`.
    unsafe {
        let v = _mm_loadu_si128(block.as_ptr() as *const __m128i);
        let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)) as u32
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn special_mask(b: &[u8], i: usize) -> u32 {
    b[i..i + 16]
        .iter()
        .enumerate()
        .fold(0, |m, (k, &c)| m | (is_special(c) as u32) << k)
}

/// The index after the closing quote of the string whose contents start at `i`.
fn skip_string(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        // The next special byte at or after `i`.
        let at = if i + 16 <= b.len() {
            let mask = special_mask(b, i);
            if mask == 0 {
                i += 16;
                continue;
            }
            i + mask.trailing_zeros() as usize
        } else {
            i + b.get(i..)?.iter().position(|&c| is_special(c))?
        };
        match b[at] {
            b'"' => return Some(at + 1),
            b'\\' => i = skip_escape(b, at)?,
            _ => return None, // a control character
        }
    }
}

/// The index after the escape sequence whose backslash is at `i`.
fn skip_escape(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i + 1)? {
        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(i + 2),
        b'u' => {
            let hex = b.get(i + 2..i + 6)?;
            hex.iter().all(u8::is_ascii_hexdigit).then_some(i + 6)
        }
        _ => None,
    }
}

/// The index after a JSON number starting at `i` (serde_json's grammar: no leading zeros, a
/// digit after `-`, `.` and the exponent).
fn skip_number(b: &[u8], mut i: usize) -> Option<usize> {
    let digits = |b: &[u8], mut i: usize| -> Option<usize> {
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        (i > start).then_some(i)
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    i = match b.get(i)? {
        b'0' => i + 1,
        b'1'..=b'9' => digits(b, i)?,
        _ => return None,
    };
    if b.get(i) == Some(&b'.') {
        i = digits(b, i + 1)?;
    }
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        if let Some(b'+' | b'-') = b.get(i) {
            i += 1;
        }
        i = digits(b, i)?;
    }
    Some(i)
}

/// The index after `"key"` + whitespace + `:` of an object member starting at `i`.
fn skip_key_colon(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let i = skip_ws(b, skip_string(b, i + 1)?);
    (b.get(i) == Some(&b':')).then_some(i + 1)
}

/// The index after the JSON value starting at `i` (no leading whitespace: the caller is at the
/// value). Iterative, so nesting depth costs memory in `stack`, not recursion.
fn skip_value(b: &[u8], mut i: usize, stack: &mut Vec<u8>) -> Option<usize> {
    stack.clear();
    let mut first = true;
    loop {
        if !first {
            i = skip_ws(b, i);
        }
        first = false;
        match *b.get(i)? {
            b'"' => i = skip_string(b, i + 1)?,
            open @ (b'{' | b'[') => {
                let close = if open == b'{' { b'}' } else { b']' };
                i = skip_ws(b, i + 1);
                if b.get(i) == Some(&close) {
                    i += 1;
                } else {
                    stack.push(open);
                    if open == b'{' {
                        i = skip_key_colon(b, i)?;
                    }
                    continue;
                }
            }
            b't' => i = literal(b, i, b"true")?,
            b'f' => i = literal(b, i, b"false")?,
            b'n' => i = literal(b, i, b"null")?,
            b'-' | b'0'..=b'9' => i = skip_number(b, i)?,
            _ => return None,
        }
        // After a value: close containers until one takes a comma.
        loop {
            let Some(&open) = stack.last() else {
                return Some(i);
            };
            i = skip_ws(b, i);
            match (*b.get(i)?, open) {
                (b',', b'{') => {
                    i = skip_key_colon(b, skip_ws(b, i + 1))?;
                    break;
                }
                (b',', b'[') => {
                    i += 1;
                    break;
                }
                (b'}', b'{') | (b']', b'[') => {
                    stack.pop();
                    i += 1;
                }
                _ => return None,
            }
        }
    }
}

fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    (b.get(i..i + word.len())? == word).then_some(i + word.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;

    fn pairs(line: &str) -> Option<Vec<(&str, &str)>> {
        members(line).map(|m| m.into_iter().map(|m| (m.key, m.value)).collect())
    }

    /// What serde_json reads: the keys (decoded) and raw values, in order, duplicates kept.
    fn serde_pairs(line: &str) -> Option<Vec<(String, String)>> {
        struct Pairs(Vec<(String, String)>);
        impl<'de> serde::Deserialize<'de> for Pairs {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = Pairs;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("an object")
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        mut m: A,
                    ) -> Result<Pairs, A::Error> {
                        let mut out = Vec::new();
                        while let Some((k, v)) = m.next_entry::<String, Box<RawValue>>()? {
                            out.push((k, v.get().to_string()));
                        }
                        Ok(Pairs(out))
                    }
                }
                d.deserialize_map(V)
            }
        }
        serde_json::from_str::<Pairs>(line).ok().map(|p| p.0)
    }

    /// The contract: whenever `members` answers, serde_json reads the same members.
    fn agrees(line: &str) {
        if let Some(ours) = pairs(line) {
            let theirs = serde_pairs(line)
                .unwrap_or_else(|| panic!("fast path accepted what serde rejects: {line}"));
            let theirs: Vec<(&str, &str)> = theirs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            assert_eq!(ours, theirs, "{line}");
        }
    }

    #[test]
    fn compact_objects_give_their_members_in_order() {
        let line = r#"{"type":"user","n":-1.5e+3,"a":[1, {"x" : "y"} ,[]],"o":{},"t":true,"f":false,"z":null}"#;
        assert_eq!(
            pairs(line).unwrap(),
            [
                ("type", r#""user""#),
                ("n", "-1.5e+3"),
                ("a", r#"[1, {"x" : "y"} ,[]]"#),
                ("o", "{}"),
                ("t", "true"),
                ("f", "false"),
                ("z", "null"),
            ]
        );
        assert_eq!(pairs("{}").unwrap(), []);
        agrees(line);
    }

    #[test]
    fn keys_inside_nested_values_and_strings_are_not_members() {
        let line = r#"{"message":{"uuid":"inner","content":"\"uuid\":\"fake\",{"},"uuid":"outer"}"#;
        assert_eq!(
            pairs(line).unwrap(),
            [
                (
                    "message",
                    r#"{"uuid":"inner","content":"\"uuid\":\"fake\",{"}"#
                ),
                ("uuid", r#""outer""#),
            ]
        );
        agrees(line);
    }

    #[test]
    fn escapes_in_values_are_kept_raw() {
        let line = r#"{"s":"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00\udc00","k":"é😀"}"#;
        assert_eq!(
            pairs(line).unwrap()[0].1,
            r#""a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00\udc00""#
        );
        agrees(line);
    }

    #[test]
    fn shapes_outside_the_fast_path_are_refused() {
        for line in [
            r#"{"u\u0075id":"x"}"#, // escaped key
            r#"{"a":1,"a":2}"#,     // duplicated key
            r#"{ "a":1}"#,          // whitespace between top-level tokens
            r#"{"a" :1}"#,          //
            r#"{"a":1 }"#,          //
            r#"{"a":1, "b":2}"#,    //
            r#" {"a":1}"#,          // leading / trailing whitespace
            r#"{"a":1} "#,          //
            r#"["a",1]"#,           // not an object
            r#""a""#,               //
            "",                     //
            "{",                    //
            "}",                    //
        ] {
            assert_eq!(pairs(line), None, "{line}");
        }
    }

    #[test]
    fn invalid_json_is_refused() {
        for line in [
            r#"{"a":01}"#,
            r#"{"a":-}"#,
            r#"{"a":1.}"#,
            r#"{"a":1e}"#,
            r#"{"a":.5}"#,
            r#"{"a":+1}"#,
            r#"{"a":tru}"#,
            r#"{"a":truex}"#,
            r#"{"a":nul}"#,
            r#"{"a":"x\q"}"#,
            r#"{"a":"x\u12g4"}"#,
            r#"{"a":"x\u12"}"#,
            "{\"a\":\"tab\there\"}",
            "{\"a\":\"nul\u{0}\"}",
            "{\"k\u{1}\":1}",
            r#"{"a":"unterminated}"#,
            r#"{"a":[1,]}"#,
            r#"{"a":[1 2]}"#,
            r#"{"a":{"x":1,}}"#,
            r#"{"a":{"x"}}"#,
            r#"{"a":{1:2}}"#,
            r#"{"a":[}"#,
            r#"{"a":{]}"#,
            r#"{"a":1,}"#,
            r#"{"a":1}}"#,
            r#"{"a":1}{"b":2}"#,
            r#"{"a":1,"b"}"#,
            r#"{"a"}"#,
            r#"{a:1}"#,
            r#"{"a":'x'}"#,
            r#"{"a":NaN}"#,
            r#"{"a":"x"y}"#,
            r#"{"a":}"#,
        ] {
            assert_eq!(pairs(line), None, "{line}");
            assert_eq!(serde_pairs(line), None, "serde accepts {line}");
        }
    }

    #[test]
    fn what_json_parse_takes_and_a_value_would_not_is_taken_raw() {
        let deep = format!(r#"{{"a":{}1{}}}"#, "[".repeat(200), "]".repeat(200));
        for line in [
            r#"{"a":"\ud800"}"#.to_string(),
            r#"{"a":"\udc00x","b":1}"#.to_string(),
            r#"{"a":1e400,"b":-1e400}"#.to_string(),
            deep,
        ] {
            assert!(pairs(&line).is_some(), "{line}");
            assert!(serde_json::from_str::<serde_json::Value>(&line).is_err());
            agrees(&line);
        }
    }

    #[test]
    fn deep_nesting_is_iterative() {
        let deep = format!(r#"{{"a":{}1{}}}"#, "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(pairs(&deep).unwrap().len(), 1);
        let unbalanced = format!(r#"{{"a":{}1{}}}"#, "[".repeat(1000), "]".repeat(999));
        assert_eq!(pairs(&unbalanced), None);
    }

    #[test]
    fn agrees_with_serde_on_every_prefix_and_mutation() {
        let base = r#"{"type":"user","uuid":"88396880-7d4f-4902-8338-1ed916c2d929","message":{"role":"user","content":[{"type":"text","text":"say \"hi\"\n\u00e9"}]},"n":[0,-0.5,1E9,true,false,null],"o":{ "k" : [ ] }}"#;
        for end in 0..=base.len() {
            if base.is_char_boundary(end) {
                agrees(&base[..end]);
            }
        }
        // every single-byte replacement by a JSON-significant byte
        for (i, _) in base.char_indices() {
            for c in [
                "\"", "\\", ",", ":", "{", "}", "[", "]", " ", "0", "e", "-", "x",
            ] {
                if base.is_char_boundary(i + 1) {
                    let mut s = base.to_string();
                    s.replace_range(i..i + 1, c);
                    agrees(&s);
                }
            }
        }
    }
}
