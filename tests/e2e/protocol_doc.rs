//! protocol.md mirrors sidecar/src/protocol.rs: every method, notification, type, field, enum
//! value and error code defined there must be documented. This fails when protocol.rs changes
//! without protocol.md.

use crate::support::repo_root;

fn camel(snake: &str) -> String {
    let mut out = String::new();
    let mut up = false;
    for c in snake.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

struct Parsed {
    methods: Vec<String>,
    types: Vec<String>,
    fields: Vec<(String, String)>,
    variants: Vec<(String, String)>,
    error_codes: Vec<(String, i64)>,
}

fn parse_protocol(src: &str) -> Parsed {
    let mut p = Parsed {
        methods: vec![],
        types: vec![],
        fields: vec![],
        variants: vec![],
        error_codes: vec![],
    };
    // Macro invocations may span lines (rustfmt): take each up to its closing `);`.
    for mac in ["\nrequest!(", "\nnotification!("] {
        for (start, _) in src.match_indices(mac) {
            let body = &src[start + mac.len()..];
            let body = &body[..body.find(");").unwrap_or(body.len())];
            if let Some(q) = body.split('"').nth(1) {
                p.methods.push(q.to_string());
            }
        }
    }
    let lines: Vec<&str> = src.lines().collect();
    let mut i = 0;
    let mut rename_all: Option<String> = None;
    let mut flatten_next = false;
    while i < lines.len() {
        let l = lines[i].trim();
        if l.starts_with("#[serde(") && l.contains("rename_all") {
            rename_all = l
                .split("rename_all = \"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .map(str::to_string);
        }
        if let Some(rest) = l.strip_prefix("pub struct ") {
            let name = rest
                .split(|c: char| !c.is_alphanumeric())
                .next()
                .unwrap()
                .to_string();
            p.types.push(name.clone());
            if rest.contains('{') && !rest.contains('}') {
                i += 1;
                while i < lines.len() && lines[i].trim() != "}" {
                    let f = lines[i].trim();
                    if f.starts_with("#[serde(flatten)]") {
                        flatten_next = true;
                    } else if let Some(field) =
                        f.strip_prefix("pub ").and_then(|x| x.split(':').next())
                    {
                        if !flatten_next {
                            p.fields.push((name.clone(), camel(field)));
                        }
                        flatten_next = false;
                    }
                    i += 1;
                }
            }
            rename_all = None;
        }
        if let Some(rest) = l.strip_prefix("pub enum ") {
            let name = rest
                .split(|c: char| !c.is_alphanumeric())
                .next()
                .unwrap()
                .to_string();
            if rest.contains('{') && !rest.contains("{}") {
                p.types.push(name.clone());
                i += 1;
                let mut depth = 1;
                while i < lines.len() && depth > 0 {
                    let f = lines[i].trim();
                    if depth == 1
                        && !f.starts_with("//")
                        && !f.starts_with("#[")
                        && !f.is_empty()
                        && f != "}"
                    {
                        let v = f.split(|c: char| !c.is_alphanumeric()).next().unwrap_or("");
                        if !v.is_empty() && v.chars().next().unwrap().is_uppercase() {
                            let wire = match rename_all.as_deref() {
                                Some("lowercase") => v.to_lowercase(),
                                Some("camelCase") => lower_first(v),
                                _ => v.to_string(),
                            };
                            if name != "SessionRef" {
                                p.variants.push((name.clone(), wire));
                            }
                        }
                    }
                    if depth == 2 {
                        if let Some(field) = f
                            .split(':')
                            .next()
                            .filter(|_| f.contains(':') && !f.starts_with("//"))
                        {
                            let field = field.trim();
                            if field.chars().all(|c| c.is_alphanumeric() || c == '_') {
                                p.fields.push((name.clone(), camel(field)));
                            }
                        }
                    }
                    depth += f.matches('{').count();
                    depth -= f.matches('}').count();
                    i += 1;
                }
                continue;
            }
            rename_all = None;
        }
        // ErrorCode::Name => code,
        if let Some(rest) = l.strip_prefix("ErrorCode::") {
            if let Some((v, code)) = rest.split_once(" => ") {
                if let Ok(n) = code.trim_end_matches(',').parse::<i64>() {
                    p.error_codes.push((lower_first(v), n));
                }
            }
        }
        i += 1;
    }
    p
}

#[test]
fn protocol_md_documents_everything_in_protocol_rs() {
    let src = std::fs::read_to_string(repo_root().join("sidecar/src/protocol.rs")).unwrap();
    let doc = std::fs::read_to_string(repo_root().join("protocol.md")).unwrap();
    let p = parse_protocol(&src);
    assert!(p.methods.len() >= 21, "parsed {} methods", p.methods.len());
    assert!(
        p.error_codes.len() >= 19,
        "parsed {} error codes",
        p.error_codes.len()
    );
    let mut missing = vec![];
    for m in &p.methods {
        if !doc.contains(&format!("### `{m}`")) {
            missing.push(format!(
                "method/notification {m} (needs a `### `{m}`` section)"
            ));
        }
    }
    for t in &p.types {
        if !doc.contains(&format!("`{t}`")) && !doc.contains(t.as_str()) {
            missing.push(format!("type {t}"));
        }
    }
    for (t, f) in &p.fields {
        if !doc.contains(&format!("`{f}`"))
            && !doc.contains(&format!("\"{f}\""))
            && !doc.contains(&format!("{f},"))
            && !doc.contains(&format!("{f}}}"))
            && !doc.contains(&format!("{f}?"))
        {
            missing.push(format!("field {t}.{f}"));
        }
    }
    for (t, v) in &p.variants {
        if !doc.contains(&format!("\"{v}\"")) && !doc.contains(&format!("`{v}`")) {
            missing.push(format!("enum value {t}::{v}"));
        }
    }
    for (name, code) in &p.error_codes {
        let row = doc
            .lines()
            .any(|l| l.contains(&format!("| {code} |")) && l.contains(&format!("`{name}`")));
        if !row {
            missing.push(format!("error code {code} {name} (needs a table row)"));
        }
    }
    assert!(
        missing.is_empty(),
        "protocol.md is missing:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_parser_sees_a_change() {
    // The check above must be able to fail: a new method or field is reported.
    let src = "\nrequest!(Foo, \"sessions/foo\", P, R);\n#[serde(rename_all = \"camelCase\")]\npub struct P {\n    pub brand_new: u8,\n}\n";
    let p = parse_protocol(src);
    assert_eq!(p.methods, vec!["sessions/foo"]);
    assert_eq!(p.fields, vec![("P".to_string(), "brandNew".to_string())]);
}
