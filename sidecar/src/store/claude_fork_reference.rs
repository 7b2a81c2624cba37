//! The fork's per-line code as it was before the fast path (`json_members` spans): full serde
//! parses into an ordered map of raw values, re-serialised. Kept for tests only, as the
//! reference the fast writer must match byte for byte.

use super::*;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use std::fmt;

// ---------------------------------------------------------------------------------------------
// An order-preserving JSON object (the fork rewrites a few keys and keeps the rest verbatim,
// in place, the way the SDK's `{**original, ...}` does).

#[derive(Debug, Default)]
struct Obj(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Obj {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Obj, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Obj;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> std::result::Result<Obj, A::Error> {
                let mut o = Obj::default();
                while let Some((k, v)) = m.next_entry::<String, Box<RawValue>>()? {
                    o.set_raw(&k, v);
                }
                Ok(o)
            }
        }
        d.deserialize_map(V)
    }
}

fn raw<T: Serialize + ?Sized>(v: &T) -> Box<RawValue> {
    RawValue::from_string(serde_json::to_string(v).expect("serializable")).expect("valid JSON")
}

impl Obj {
    fn get(&self, k: &str) -> Option<&RawValue> {
        self.0.iter().find(|(key, _)| key == k).map(|(_, v)| &**v)
    }
    /// Replace in place (a duplicate key keeps its first position, like a Python dict), or
    /// append.
    fn set_raw(&mut self, k: &str, v: Box<RawValue>) {
        match self.0.iter_mut().find(|(key, _)| key == k) {
            Some(slot) => slot.1 = v,
            None => self.0.push((k.to_string(), v)),
        }
    }
    fn set<T: Serialize + ?Sized>(&mut self, k: &str, v: &T) {
        self.set_raw(k, raw(v));
    }
    fn remove(&mut self, k: &str) {
        self.0.retain(|(key, _)| key != k);
    }
    fn write_to(&self, out: &mut String) {
        out.push('{');
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&serde_json::to_string(k).expect("string"));
            out.push(':');
            out.push_str(v.get());
        }
        out.push('}');
    }
}

// ---------------------------------------------------------------------------------------------
// Fork

/// The fields of a line the fork's first pass needs; every one lenient (any JSON type).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Head<'a> {
    #[serde(rename = "type", borrow)]
    ty: Option<&'a RawValue>,
    #[serde(borrow)]
    uuid: Option<&'a RawValue>,
    #[serde(borrow)]
    parent_uuid: Option<&'a RawValue>,
    #[serde(borrow)]
    is_sidechain: Option<&'a RawValue>,
    #[serde(borrow)]
    session_id: Option<&'a RawValue>,
    #[serde(borrow)]
    replacements: Option<&'a RawValue>,
    #[serde(borrow)]
    leaf_uuid: Option<&'a RawValue>,
    #[serde(borrow)]
    last_prompt: Option<&'a RawValue>,
}

fn raw_string(r: Option<&RawValue>) -> Option<String> {
    super::raw_string(r.map(RawValue::get))
}

/// The line's kind by the writer's own rule (this file keeps only the full-parse reading and
/// rewriting of lines, the part the fast path replaced).
fn classify(h: &Head) -> Kind {
    super::classify(&super::Head {
        ty: h.ty.map(RawValue::get),
        uuid: h.uuid.map(RawValue::get),
        parent_uuid: h.parent_uuid.map(RawValue::get),
        is_sidechain: h.is_sidechain.map(RawValue::get),
        ..Default::default()
    })
}

/// First pass: what the fork needs to know about the source.
pub(super) fn survey(file: &mut File, end: u64, source_id: &str) -> Result<Survey> {
    let mut s = Survey::default();
    for_each_line_upto(file, end, |line| {
        let Ok(h) = serde_json::from_slice::<Head>(line.as_bytes()) else {
            return Ok(true);
        };
        match classify(&h) {
            Kind::Transcript {
                uuid,
                parent,
                progress,
            } => s.metas.push(Meta {
                uuid,
                parent,
                progress,
            }),
            Kind::Other => match raw_string(h.ty).as_deref() {
                Some("content-replacement")
                    if raw_string(h.session_id).as_deref() == Some(source_id) =>
                {
                    if let Some(list) = h
                        .replacements
                        .and_then(|r| serde_json::from_str::<Vec<Box<RawValue>>>(r.get()).ok())
                    {
                        s.content_replacements.extend(list);
                    }
                }
                Some("last-prompt") => s.last_prompts.push((
                    raw_string(h.leaf_uuid),
                    raw_string(h.last_prompt),
                    s.metas.len(),
                )),
                _ => {}
            },
        }
        Ok(true)
    })?;
    Ok(s)
}

fn remap_compact_metadata(
    cm: &RawValue,
    mapping: &HashMap<String, String>,
) -> Option<Box<RawValue>> {
    let mut o: Obj = serde_json::from_str(cm.get()).ok()?;
    let map_str = |r: &RawValue| -> Option<Box<RawValue>> {
        let s: String = serde_json::from_str(r.get()).ok()?;
        mapping.get(&s).map(raw)
    };
    let map_list = |r: &RawValue| -> Option<Box<RawValue>> {
        let v: Vec<serde_json::Value> = serde_json::from_str(r.get()).ok()?;
        let out: Vec<serde_json::Value> = v
            .into_iter()
            .map(|x| match x.as_str().and_then(|s| mapping.get(s)) {
                Some(n) => serde_json::Value::String(n.clone()),
                None => x,
            })
            .collect();
        Some(raw(&out))
    };
    let mut changed = false;
    for (section, singles, lists) in [
        (
            "preservedSegment",
            &["headUuid", "anchorUuid", "tailUuid"][..],
            &[][..],
        ),
        (
            "preservedMessages",
            &["anchorUuid"][..],
            &["uuids", "allUuids"][..],
        ),
    ] {
        let Some(sec) = o.get(section) else { continue };
        let Ok(mut so) = serde_json::from_str::<Obj>(sec.get()) else {
            continue;
        };
        for k in singles {
            if let Some(n) = so.get(k).and_then(map_str) {
                so.set_raw(k, n);
                changed = true;
            }
        }
        for k in lists {
            if let Some(n) = so.get(k).and_then(map_list) {
                so.set_raw(k, n);
                changed = true;
            }
        }
        let mut s = String::new();
        so.write_to(&mut s);
        o.set_raw(section, RawValue::from_string(s).ok()?);
    }
    if !changed {
        return None;
    }
    let mut s = String::new();
    o.write_to(&mut s);
    RawValue::from_string(s).ok()
}

/// Second pass: write the fork's lines to `out` (the ids, the time and the added rows' uuids
/// now come from `ids`).
pub(super) fn write_fork(
    src: &mut File,
    end: u64,
    plan: &Plan,
    survey: &Survey,
    ids: &ForkIds,
    out: &mut impl Write,
) -> Result<()> {
    let (source_id, new_id, branch) = (ids.source_id, ids.new_id, ids.branch);
    let now = ids.now.to_string();
    let mut idx = 0usize; // transcript entries seen
    let mut written = 0usize; // non-progress entries written
    let mut line_out = String::with_capacity(64 * 1024);
    let mut io_err: Option<io::Error> = None;
    for_each_line_upto(src, end, |line| {
        if idx >= plan.kept {
            return Ok(false);
        }
        let Ok(h) = serde_json::from_slice::<Head>(line.as_bytes()) else {
            return Ok(true);
        };
        let Kind::Transcript {
            uuid,
            parent,
            progress,
        } = classify(&h)
        else {
            return Ok(true);
        };
        let i = idx;
        idx += 1;
        if progress {
            return Ok(true);
        }
        let mut o: Obj = match serde_json::from_slice(line.as_bytes()) {
            Ok(o) => o,
            Err(e) => {
                return Err(SidecarError::internal(format!(
                    "line parsed once but not twice: {e}"
                )))
            }
        };
        let new_uuid = &plan.mapping[&uuid];
        let new_parent = plan.new_parent(parent.as_deref());
        let timestamp = if i == plan.last_writable {
            Some(now.clone())
        } else {
            None
        };
        let logical = o.get("logicalParentUuid").map(|r| r.to_owned());
        o.set("uuid", new_uuid);
        o.set("parentUuid", &new_parent);
        match logical {
            Some(l) if super::truthy(Some(l.get())) => {
                let mapped = raw_string(Some(&l)).and_then(|s| plan.mapping.get(&s).cloned());
                o.set("logicalParentUuid", &mapped);
            }
            Some(l) => o.set_raw("logicalParentUuid", l),
            None => o.set("logicalParentUuid", &serde_json::Value::Null),
        }
        o.set("sessionId", new_id);
        match timestamp {
            Some(t) => o.set("timestamp", &t),
            None => {
                if o.get("timestamp").is_none() {
                    o.set("timestamp", &now);
                }
            }
        }
        o.set("isSidechain", &false);
        o.set(
            "forkedFrom",
            &ForkedFromRef {
                session_id: source_id,
                message_uuid: &uuid,
            },
        );
        for k in ["teamName", "agentName", "slug", "sourceToolAssistantUUID"] {
            o.remove(k);
        }
        if let Some(cm) = o.get("compactMetadata") {
            if let Some(n) = remap_compact_metadata(cm, &plan.mapping) {
                o.set_raw("compactMetadata", n);
            }
        }
        if let Some(b) = branch {
            o.set("gitBranch", b);
        }
        line_out.clear();
        o.write_to(&mut line_out);
        line_out.push('\n');
        if let Err(e) = out.write_all(line_out.as_bytes()) {
            io_err = Some(e);
            return Ok(false);
        }
        written += 1;
        Ok(true)
    })?;
    if let Some(e) = io_err {
        return Err(SidecarError::new(
            ErrorCode::WriteFailed,
            format!("cannot write the fork: {e}"),
        ));
    }
    if written == 0 {
        return Err(no_messages(source_id));
    }
    out.write_all(super::fork_tail(plan, survey, ids).as_bytes())
        .map_err(|e| {
            SidecarError::new(
                ErrorCode::WriteFailed,
                format!("cannot write the fork: {e}"),
            )
        })
}
