//! Claude Code history: pages of the conversation chain as the CLI resumes it, read backwards
//! from the end (O(page)), plus live appends and subagent transcripts.
//!
//! # What a page holds
//! The conversation is the `parentUuid` chain from the leaf back to the root, as Claude Code
//! rebuilds it on `--resume` (formats/claude-code.md §4):
//! * **Leaf**: the `leafUuid` of the last `last-prompt` row when that entry exists, else the
//!   last chain entry (user/assistant/system/attachment, not a sidechain) in file order. When
//!   the file continued *from* that leaf after the row was written (a turn still being written)
//!   the newer entry is the leaf, as the CLI does; a row with `explicit: true` is honoured as
//!   written. The official SDK ignores `last-prompt` (it takes the newest terminal entry); the
//!   CLI wins where they differ. Claude Code writes the row after every response, so the last
//!   one is near the end of the file: once it is met, the scan goes on until its leaf is met
//!   (a dangling `leafUuid` costs a scan to the start of the file); when no row is met before
//!   a page is complete (older CLIs wrote none) the newest chain entry is the leaf.
//! * **Walk** `parentUuid` back from the leaf. Progress rows, attachments, `isMeta` entries
//!   (command caveats), `teamName` entries and entries of unknown type are walked *through* but
//!   are not items (the SDK drops the same ones from its output). Sidechains never join the chain.
//! * **Parallel tool calls** are kept whole exactly like the SDK's
//!   `_recover_orphaned_parallel_tool_results`: the sibling assistant entries of a response
//!   (same `message.id`) and the tool results the walk did not reach are put back right after
//!   the response's last entry on the chain, siblings first, each run in timestamp order.
//! * **Compaction**: at a `compact_boundary` the walk continues through `logicalParentUuid`, so
//!   items read [earlier conversation] → a `compaction` item (role `system`, the boundary's
//!   uuid) → the compact summary → what followed. `preservedSegment` is not spliced (the
//!   preserved entries already appear in the earlier conversation). The user/assistant items
//!   after the last compaction item are exactly what the SDK's `get_session_messages` returns.
//!
//! # Item mapping (Claude entry → `HistoryItem`)
//! One item per chain entry: Claude writes one assistant entry per content block, and each of
//! them is its own item (the uuids are what `sessions/message` and forks refer to). A `user`
//! entry whose content is only `tool_result` blocks has role `tool` (the SDK calls it `user`);
//! other user entries (prompts, compact summaries, slash commands) are `user`; `system` entries
//! with text (`local_command`) are `system`.
//!
//! # Reading backwards
//! Pages are produced by scanning the file backwards from its end (or from a cursor) with
//! [`transcript::for_each_line_rev`]: the wanted uuid is always at a lower offset than its child
//! (the file is append-only), so the walk, the leaf choice and the parallel-tool recovery all
//! happen in one backwards pass that stops as soon as the page is full. Entries the walk passes
//! over are kept only as small records while they may still be recovered into a parallel turn.
//!
//! # Cursors
//! A cursor names the item at the edge of a page (its offset and uuid: a rewritten file is
//! refused) plus where a backwards scan can restart without missing a recovered tool result:
//! the item itself, a "clean" chain entry newer than it (no item older than that entry lies
//! after it in the file), or the end offset of the file when the page was read (`@S`); `^S`
//! marks the newest item as of offset S (subscriptions start there). `before` pages cost the
//! page; `after` pages rescan from the end of the file down to the cursor (the live tail is
//! short; memory stays bounded by the page).

use super::claude::ClaudeStore;
use super::{Appended, HistoryRequest, SessionFile};
use crate::cursor::{cursor_id, Cursor};
use crate::error::{Result, SidecarError};
use crate::protocol::{
    ContentBlock, ErrorCode, HistoryItem, HistoryPage, Role, SubagentSummary, Usage,
};
use crate::transcript;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Records of passed-over entries kept for parallel-tool recovery, at most.
const MAX_PENDING: usize = 100_000;
/// Chain entries remembered in case a later-seen `last-prompt` row moves the leaf.
const MAX_WALKED: usize = 4096;
/// Items pushed in one `sessions/appended` at most.
const MAX_APPENDED_ITEMS: usize = 1000;

// ---------------------------------------------------------------------------------------------
// Line parsing

/// The fields of a line the walk and the item conversion need. `M` is the message: only its
/// ids for the walk ([`MsgIds`], parsed in the same pass), the raw JSON for an item.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "M: Deserialize<'de>"))]
struct Line<'a, M> {
    #[serde(rename = "type", borrow)]
    ty: Option<Cow<'a, str>>,
    #[serde(borrow)]
    subtype: Option<Cow<'a, str>>,
    #[serde(borrow)]
    uuid: Option<Cow<'a, str>>,
    #[serde(borrow)]
    parent_uuid: Option<Cow<'a, str>>,
    #[serde(borrow)]
    logical_parent_uuid: Option<Cow<'a, str>>,
    is_sidechain: Option<bool>,
    is_meta: Option<bool>,
    #[serde(borrow)]
    team_name: Option<&'a RawValue>,
    #[serde(borrow)]
    agent_id: Option<Cow<'a, str>>,
    #[serde(rename = "sourceToolAssistantUUID", borrow)]
    source_tool_assistant_uuid: Option<Cow<'a, str>>,
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(borrow)]
    leaf_uuid: Option<Cow<'a, str>>,
    explicit: Option<bool>,
    message: Option<M>,
    #[serde(borrow)]
    content: Option<&'a RawValue>,
    #[serde(borrow)]
    compact_metadata: Option<&'a RawValue>,
}

type WalkLine<'a> = Line<'a, Loose<MsgIds<'a>>>;
type ItemLine<'a> = Line<'a, &'a RawValue>;

impl<M> Line<'_, M> {
    fn ty(&self) -> &str {
        self.ty.as_deref().unwrap_or("")
    }
    fn sidechain(&self) -> bool {
        self.is_sidechain == Some(true)
    }
    fn team(&self) -> bool {
        // The SDK drops entries whose teamName is truthy.
        self.team_name
            .map(|r| !matches!(r.get(), "null" | "\"\"" | "false" | "0"))
            .unwrap_or(false)
    }
    fn is_boundary(&self) -> bool {
        self.ty() == "system" && self.subtype.as_deref() == Some("compact_boundary")
    }
}

/// `message.id` and the tool ids of the content blocks (a string content has no blocks).
#[derive(Deserialize, Default)]
#[serde(default)]
struct MsgIds<'a> {
    #[serde(borrow)]
    id: LooseStr<'a>,
    #[serde(borrow)]
    content: Blocks<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct BlockIds<'a> {
    #[serde(rename = "type", borrow)]
    ty: LooseStr<'a>,
    #[serde(borrow)]
    id: LooseStr<'a>,
    #[serde(borrow)]
    tool_use_id: LooseStr<'a>,
}

/// An object as `T`, any other JSON value as `None` (read in the same pass; `T`'s own fields
/// are lenient), so an odd `message` never makes the walk drop the whole line.
struct Loose<T>(Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Loose<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
            type Value = Loose<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<Loose<T>, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|t| Loose(Some(t)))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Loose<T>, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Loose(None))
            }
            fn visit_str<E>(self, _: &str) -> std::result::Result<Loose<T>, E> {
                Ok(Loose(None))
            }
            fn visit_bool<E>(self, _: bool) -> std::result::Result<Loose<T>, E> {
                Ok(Loose(None))
            }
            fn visit_i64<E>(self, _: i64) -> std::result::Result<Loose<T>, E> {
                Ok(Loose(None))
            }
            fn visit_u64<E>(self, _: u64) -> std::result::Result<Loose<T>, E> {
                Ok(Loose(None))
            }
            fn visit_f64<E>(self, _: f64) -> std::result::Result<Loose<T>, E> {
                Ok(Loose(None))
            }
            fn visit_unit<E>(self) -> std::result::Result<Loose<T>, E> {
                Ok(Loose(None))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// A string, or `None` for any other JSON value.
#[derive(Default)]
struct LooseStr<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for LooseStr<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = LooseStr<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<LooseStr<'a>, E> {
                Ok(LooseStr(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<LooseStr<'a>, E> {
                Ok(LooseStr(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<LooseStr<'a>, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(LooseStr(None))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<LooseStr<'a>, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(LooseStr(None))
            }
            fn visit_bool<E>(self, _: bool) -> std::result::Result<LooseStr<'a>, E> {
                Ok(LooseStr(None))
            }
            fn visit_i64<E>(self, _: i64) -> std::result::Result<LooseStr<'a>, E> {
                Ok(LooseStr(None))
            }
            fn visit_u64<E>(self, _: u64) -> std::result::Result<LooseStr<'a>, E> {
                Ok(LooseStr(None))
            }
            fn visit_f64<E>(self, _: f64) -> std::result::Result<LooseStr<'a>, E> {
                Ok(LooseStr(None))
            }
            fn visit_unit<E>(self) -> std::result::Result<LooseStr<'a>, E> {
                Ok(LooseStr(None))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// The object blocks of a content array, read in one pass (other values are skipped, like
/// the SDK skips blocks that are not dicts).
#[derive(Default)]
struct Blocks<'a>(Vec<BlockIds<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for Blocks<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Blocks<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("message content")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Blocks<'a>, A::Error> {
                let mut v = Vec::new();
                while let Some(b) = seq.next_element::<Loose<BlockIds<'a>>>()? {
                    if let Some(b) = b.0 {
                        v.push(b);
                    }
                }
                Ok(Blocks(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Blocks<'a>, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Blocks::default())
            }
            fn visit_str<E>(self, _: &str) -> std::result::Result<Blocks<'a>, E> {
                Ok(Blocks::default())
            }
            fn visit_bool<E>(self, _: bool) -> std::result::Result<Blocks<'a>, E> {
                Ok(Blocks::default())
            }
            fn visit_i64<E>(self, _: i64) -> std::result::Result<Blocks<'a>, E> {
                Ok(Blocks::default())
            }
            fn visit_u64<E>(self, _: u64) -> std::result::Result<Blocks<'a>, E> {
                Ok(Blocks::default())
            }
            fn visit_f64<E>(self, _: f64) -> std::result::Result<Blocks<'a>, E> {
                Ok(Blocks::default())
            }
            fn visit_unit<E>(self) -> std::result::Result<Blocks<'a>, E> {
                Ok(Blocks::default())
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// What the walk remembers of one entry.
#[derive(Debug, Clone)]
struct Rec {
    off: u64,
    len: u32,
    uuid: String,
    parent: Option<String>,
    /// `message.id` of an assistant entry.
    msg_id: Option<String>,
    /// tool_use ids (assistant) or the tool_use ids answered (tool-result entry).
    calls: Vec<String>,
    /// A user entry with a parent that carries a tool_result block (the SDK's definition).
    is_result: bool,
    source: Option<String>,
    sidechain: bool,
    agent_id: Option<String>,
    timestamp: String,
    /// Item kind when it is shown: Some(true) = role tool, Some(false) = other role.
    item: Option<bool>,
}

fn nonempty(c: &Option<Cow<'_, str>>) -> Option<String> {
    c.as_deref().filter(|s| !s.is_empty()).map(str::to_string)
}

/// Whether an entry is shown as an item (`Some(is_tool)`), in main-session or subagent mode.
fn item_kind<M>(l: &Line<'_, M>, subagent: bool, only_tool_results: bool) -> Option<bool> {
    if l.is_meta == Some(true) || l.team() || (l.sidechain() && !subagent) {
        return None;
    }
    match l.ty() {
        "user" => Some(only_tool_results),
        "assistant" => Some(false),
        "system" => {
            if l.is_boundary() {
                return Some(false);
            }
            let text = l
                .content
                .and_then(|c| serde_json::from_str::<Cow<str>>(c.get()).ok());
            if text.is_some_and(|t| !t.trim().is_empty()) {
                Some(false)
            } else {
                None
            }
        }
        _ => None,
    }
}

fn make_rec(off: u64, len: usize, l: &WalkLine<'_>, subagent: bool) -> Rec {
    let ty = l.ty();
    let mut msg_id = None;
    let mut calls = Vec::new();
    let mut is_result = false;
    let mut only_results = false;
    let msg = l.message.as_ref().and_then(|m| m.0.as_ref());
    if let Some(m) = msg.filter(|_| ty == "assistant" || ty == "user") {
        let blocks = &m.content.0;
        if ty == "assistant" {
            msg_id = nonempty(&m.id.0);
            for b in blocks {
                if b.ty.0.as_deref() == Some("tool_use") {
                    if let Some(id) = &b.id.0 {
                        calls.push(id.to_string());
                    }
                }
            }
        } else {
            let mut n_results = 0;
            for b in blocks {
                if b.ty.0.as_deref() == Some("tool_result") {
                    n_results += 1;
                    if let Some(id) = &b.tool_use_id.0 {
                        calls.push(id.to_string());
                    }
                }
            }
            only_results = n_results > 0 && n_results == blocks.len();
            is_result = n_results > 0 && nonempty(&l.parent_uuid).is_some();
        }
    }
    Rec {
        off,
        len: len as u32,
        uuid: l.uuid.as_deref().unwrap_or("").to_string(),
        parent: nonempty(&l.parent_uuid),
        msg_id,
        calls,
        is_result,
        source: nonempty(&l.source_tool_assistant_uuid),
        sidechain: l.sidechain(),
        agent_id: l.agent_id.as_deref().map(str::to_string),
        timestamp: l.timestamp.as_deref().unwrap_or("").to_string(),
        item: item_kind(l, subagent, only_results),
    }
}

fn same_writer(a: &Rec, b: &Rec) -> bool {
    a.sidechain == b.sidechain && a.agent_id == b.agent_id
}

// ---------------------------------------------------------------------------------------------
// The backwards walk

/// One item of a page, before its line is read again and converted.
#[derive(Debug, Clone)]
struct ItemRef {
    off: u64,
    len: u32,
    uuid: String,
    /// On the parentUuid chain (false: put back by the parallel-tool recovery).
    chain: bool,
    /// Role `tool`.
    tool: bool,
}

/// Entries passed over by the walk that a parallel turn may still claim.
#[derive(Default)]
struct Pending {
    recs: Vec<Option<Rec>>,
    live: usize,
    by_uuid: HashMap<String, usize>,
    by_msg: HashMap<String, Vec<usize>>,
    by_parent: HashMap<String, Vec<usize>>,
    by_source: HashMap<String, Vec<usize>>,
    by_call: HashMap<String, Vec<usize>>,
}

impl Pending {
    fn add(&mut self, r: Rec) {
        if self.live >= MAX_PENDING {
            // A pathological file (a huge abandoned branch): forget, recovery degrades only.
            *self = Pending::default();
        }
        let i = self.recs.len();
        self.by_uuid.insert(r.uuid.clone(), i);
        if let Some(m) = &r.msg_id {
            self.by_msg.entry(m.clone()).or_default().push(i);
        }
        if r.is_result {
            if let Some(p) = &r.parent {
                self.by_parent.entry(p.clone()).or_default().push(i);
            }
            if let Some(s) = &r.source {
                self.by_source.entry(s.clone()).or_default().push(i);
            }
            for c in &r.calls {
                self.by_call.entry(c.clone()).or_default().push(i);
            }
        }
        self.recs.push(Some(r));
        self.live += 1;
    }
    fn get(&self, i: usize) -> Option<&Rec> {
        self.recs.get(i).and_then(|r| r.as_ref())
    }
    fn take(&mut self, i: usize) -> Option<Rec> {
        let r = self.recs.get_mut(i).and_then(|r| r.take());
        if r.is_some() {
            self.live -= 1;
        }
        r
    }
    fn contains(&self, uuid: &str) -> bool {
        self.by_uuid
            .get(uuid)
            .is_some_and(|&i| self.get(i).is_some_and(|r| r.uuid == uuid))
    }
}

/// Who made a tool call (the SDK's `call_owner`): the last claimant in file order, or none
/// when two different responses claim the id.
struct Owner {
    rec: Rec,
    ambiguous: bool,
}

struct Group {
    msg_id: String,
    /// Absolute index (dropped + position) of the anchor's place in `items`.
    anchor_abs: usize,
    members: Vec<Rec>,
    suppressed: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Goal {
    /// The newest `need` items.
    Latest { need: usize },
    /// The mark and `need` items older than it.
    Before { need: usize },
    /// Everything newer than the mark (only the `keep` nearest it are kept).
    After { keep: usize },
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum LeafState {
    /// No `last-prompt` row with a leafUuid seen yet.
    Unseen,
    /// The last `last-prompt` row names a leaf not reached yet.
    Pending,
    Resolved,
}

/// Whether an `after` cursor's item, passed over off the chain, can still come back as a
/// recovered parallel call/result: its ancestors within the response are followed down to the
/// first one on the chain, whose response then decides when it closes.
#[derive(PartialEq, Eq, Clone, Copy)]
enum Chase {
    Idle,
    /// Waiting for the line of `chase_uuid` (which must be an assistant entry, of
    /// `chase_msg` when set).
    Chasing,
    /// Reached the chain: decided when the open response closes.
    Wait,
    Dead,
}

struct Gen {
    subagent: bool,
    recover: bool,
    goal: Goal,
    want: Option<String>,
    started: bool,
    walk_done: bool,
    leaf_state: LeafState,
    lp_leaf: Option<String>,
    lp_explicit: bool,
    walked: Vec<Rec>,
    /// The walk started at this entry (a cursor): its response's recovered items are newer.
    resume_first: bool,
    suppress: Option<String>,
    items: VecDeque<ItemRef>,
    dropped: usize,
    open: Option<Group>,
    pending: Pending,
    owners: HashMap<String, Owner>,
    chain_answered: HashSet<String>,
    mark: Option<(u64, String)>,
    mark_found: bool,
    chase: Chase,
    chase_uuid: Option<String>,
    chase_msg: Option<String>,
    stale: bool,
    done: bool,
}

impl Gen {
    fn new(subagent: bool, goal: Goal) -> Gen {
        Gen {
            subagent,
            recover: true,
            goal,
            want: None,
            started: false,
            walk_done: false,
            leaf_state: if subagent {
                LeafState::Resolved
            } else {
                LeafState::Unseen
            },
            lp_leaf: None,
            lp_explicit: false,
            walked: Vec::new(),
            resume_first: false,
            suppress: None,
            items: VecDeque::new(),
            dropped: 0,
            open: None,
            pending: Pending::default(),
            owners: HashMap::new(),
            chain_answered: HashSet::new(),
            mark: None,
            mark_found: false,
            chase: Chase::Idle,
            chase_uuid: None,
            chase_msg: None,
            stale: false,
            done: false,
        }
    }

    /// Start the walk at a chain entry (a cursor) instead of choosing the leaf.
    fn start_at(&mut self, uuid: &str) {
        self.started = true;
        self.want = Some(uuid.to_string());
        self.leaf_state = LeafState::Resolved;
        self.resume_first = true;
    }

    fn with_mark(mut self, off: u64, uuid: &str) -> Gen {
        self.mark = Some((off, uuid.to_string()));
        self
    }

    fn is_mark(&self, off: u64, uuid: &str) -> bool {
        self.mark
            .as_ref()
            .is_some_and(|(o, u)| *o == off && u == uuid)
    }

    fn mark_index(&self) -> Option<usize> {
        let (o, u) = self.mark.as_ref()?;
        self.items.iter().position(|i| i.off == *o && &i.uuid == u)
    }

    fn push_item(&mut self, it: ItemRef) {
        if self.is_mark(it.off, &it.uuid) {
            self.mark_found = true;
        }
        self.items.push_back(it);
        self.trim_front();
    }

    /// `after` pages keep only the items nearest the mark.
    fn trim_front(&mut self) {
        let Goal::After { keep } = self.goal else {
            return;
        };
        if self.mark_found {
            return;
        }
        loop {
            let before_open = match &self.open {
                Some(g) => g.anchor_abs.saturating_sub(self.dropped),
                None => self.items.len(),
            };
            if before_open <= keep || self.items.is_empty() {
                return;
            }
            self.items.pop_front();
            self.dropped += 1;
        }
    }

    fn feed(&mut self, off: u64, line: &[u8]) -> bool {
        self.process(off, line);
        !self.should_stop(off)
    }

    fn process(&mut self, off: u64, line: &[u8]) {
        let wants_lp = self.leaf_state == LeafState::Unseen;
        static UUID: OnceLock<memchr::memmem::Finder<'static>> = OnceLock::new();
        static LAST_PROMPT: OnceLock<memchr::memmem::Finder<'static>> = OnceLock::new();
        let uuid_key = UUID.get_or_init(|| memchr::memmem::Finder::new(b"\"uuid\""));
        let lp_key = LAST_PROMPT.get_or_init(|| memchr::memmem::Finder::new(b"last-prompt"));
        if uuid_key.find(line).is_none() && !(wants_lp && lp_key.find(line).is_some()) {
            return;
        }
        let Ok(l) = serde_json::from_slice::<WalkLine>(line) else {
            return;
        };
        if l.ty() == "last-prompt" {
            if wants_lp {
                if let Some(leaf) = nonempty(&l.leaf_uuid) {
                    self.lp_leaf = Some(leaf);
                    self.lp_explicit = l.explicit == Some(true);
                    self.leaf_state = LeafState::Pending;
                }
            }
            return;
        }
        let Some(uuid) = l.uuid.as_deref().filter(|u| !u.is_empty()) else {
            return;
        };
        if !self.started {
            let leaf_ok = if self.subagent {
                matches!(l.ty(), "user" | "assistant")
            } else {
                matches!(l.ty(), "user" | "assistant" | "system" | "attachment") && !l.sidechain()
            };
            if leaf_ok {
                self.started = true;
                self.want = Some(uuid.to_string());
            }
        }
        let rec = make_rec(off, line.len(), &l, self.subagent);
        let lp_hit = self.leaf_state == LeafState::Pending && self.lp_leaf.as_deref() == Some(uuid);
        if self.chase == Chase::Chasing && self.chase_uuid.as_deref() == Some(uuid) {
            let member_like =
                rec.msg_id.is_some() && (self.chase_msg.is_none() || self.chase_msg == rec.msg_id);
            let on_chain = self.want.as_deref() == Some(uuid) || lp_hit;
            self.chase = match (member_like, on_chain) {
                (false, _) => Chase::Dead,
                (true, true) => Chase::Wait,
                (true, false) => match &rec.parent {
                    Some(p) => {
                        self.chase_uuid = Some(p.clone());
                        self.chase_msg = rec.msg_id.clone();
                        Chase::Chasing
                    }
                    None => Chase::Dead,
                },
            };
        }
        if rec.msg_id.is_some() {
            self.note_owner(&rec);
        }
        if self.want.as_deref() == Some(uuid) {
            if lp_hit {
                self.leaf_state = LeafState::Resolved;
                if self.lp_explicit {
                    // The row names this entry as the leaf: what the walk saw so far is newer.
                    self.restart_walk();
                }
                self.walked.clear();
            }
            self.on_chain(rec, &l);
        } else if lp_hit {
            // The file's newest entry is on another branch: the last-prompt leaf wins.
            self.leaf_state = LeafState::Resolved;
            self.restart_walk();
            self.walked.clear();
            self.want = Some(uuid.to_string());
            self.on_chain(rec, &l);
        } else if rec.msg_id.is_some() || rec.is_result {
            if self.is_mark(rec.off, &rec.uuid) {
                self.chase_uuid = rec.parent.clone();
                // A call is claimed through its response's other calls, a result through the
                // call it answers (any response).
                self.chase_msg = rec.msg_id.clone();
                self.chase = if rec.parent.is_some() {
                    Chase::Chasing
                } else {
                    Chase::Dead
                };
            }
            self.pending.add(rec);
        }
    }

    /// Forget the walk so far (its entries become passed-over entries).
    fn restart_walk(&mut self) {
        for r in std::mem::take(&mut self.walked) {
            if r.msg_id.is_some() || r.is_result {
                self.pending.add(r);
            }
        }
        self.items.clear();
        self.dropped = 0;
        self.open = None;
        self.chain_answered.clear();
        self.mark_found = false;
        self.walk_done = false;
    }

    fn note_owner(&mut self, rec: &Rec) {
        if self.owners.len() > MAX_PENDING {
            self.owners.clear();
        }
        for c in &rec.calls {
            match self.owners.get_mut(c) {
                None => {
                    self.owners.insert(
                        c.clone(),
                        Owner {
                            rec: rec.clone(),
                            ambiguous: false,
                        },
                    );
                }
                Some(o) => {
                    if o.rec.msg_id != rec.msg_id {
                        o.ambiguous = true;
                    }
                }
            }
        }
    }

    fn on_chain(&mut self, rec: Rec, l: &WalkLine<'_>) {
        if let Some(g) = &self.open {
            if rec.msg_id.as_deref() != Some(g.msg_id.as_str()) {
                self.close_group();
            }
        }
        if rec.is_result {
            if self.chain_answered.len() > MAX_PENDING {
                self.chain_answered.clear();
            }
            self.chain_answered.extend(rec.calls.iter().cloned());
        }
        if self.leaf_state != LeafState::Resolved && self.walked.len() < MAX_WALKED {
            self.walked.push(rec.clone());
        }
        if self.resume_first {
            self.resume_first = false;
            self.suppress = rec.msg_id.clone();
        }
        let pos_abs = self.dropped + self.items.len();
        let next = if l.is_boundary() {
            nonempty(&l.logical_parent_uuid).or_else(|| rec.parent.clone())
        } else {
            rec.parent.clone()
        };
        let item = rec.item.map(|tool| ItemRef {
            off: rec.off,
            len: rec.len,
            uuid: rec.uuid.clone(),
            chain: true,
            tool,
        });
        // The response is open before its item is pushed, so `after` paging keeps the items
        // its recovered calls/results will sit next to.
        if self.recover {
            if let Some(m) = rec.msg_id.clone() {
                match &mut self.open {
                    Some(g) => g.members.push(rec),
                    None => {
                        let suppressed = self.suppress.as_deref() == Some(m.as_str());
                        self.open = Some(Group {
                            msg_id: m,
                            anchor_abs: pos_abs,
                            members: vec![rec],
                            suppressed,
                        })
                    }
                }
            }
        }
        if let Some(it) = item {
            self.push_item(it);
        }
        self.want = next;
        if self.want.is_none() {
            self.close_group();
            self.walk_done = true;
        }
    }

    /// The walk left a response: put back its parallel calls and results (SDK semantics).
    fn close_group(&mut self) {
        let Some(g) = self.open.take() else {
            return;
        };
        if g.suppressed {
            self.suppress = None;
            return;
        }
        let m = &g.msg_id;
        let sibling_idx: Vec<usize> = self
            .pending
            .by_msg
            .get(m)
            .map(|v| {
                v.iter()
                    .copied()
                    .filter(|&i| self.pending.get(i).is_some())
                    .collect()
            })
            .unwrap_or_default();
        // The whole response in file order.
        let mut group: Vec<Rec> = g.members.clone();
        group.extend(
            sibling_idx
                .iter()
                .filter_map(|&i| self.pending.get(i).cloned()),
        );
        group.sort_by_key(|r| r.off);
        let member_uuids: HashSet<&str> = group.iter().map(|r| r.uuid.as_str()).collect();

        let mut collected: HashSet<usize> = HashSet::new();
        let mut orphaned_results: Vec<usize> = Vec::new();
        let mut strays: Vec<usize> = Vec::new();
        for member in &group {
            let mut cands: Vec<usize> = Vec::new();
            if let Some(v) = self.pending.by_parent.get(&member.uuid) {
                cands.extend(v.iter().copied());
            }
            if let Some(v) = self.pending.by_source.get(&member.uuid) {
                cands.extend(
                    v.iter()
                        .copied()
                        .filter(|&i| self.pending.get(i).is_some_and(|r| same_writer(r, member))),
                );
            }
            for c in &member.calls {
                let owned = self
                    .owners
                    .get(c)
                    .is_some_and(|o| !o.ambiguous && o.rec.uuid == member.uuid);
                if owned {
                    if let Some(v) = self.pending.by_call.get(c) {
                        cands.extend(v.iter().copied().filter(|&i| {
                            self.pending.get(i).is_some_and(|r| same_writer(r, member))
                        }));
                    }
                }
            }
            cands.retain(|&i| self.pending.get(i).is_some());
            cands.sort_by_key(|&i| self.pending.get(i).map(|r| r.off));
            cands.dedup();
            for i in cands {
                if !collected.insert(i) {
                    continue;
                }
                let r = self.pending.get(i).unwrap();
                if r.parent
                    .as_deref()
                    .is_some_and(|p| member_uuids.contains(p))
                {
                    orphaned_results.push(i);
                } else {
                    strays.push(i);
                }
            }
        }
        if !strays.is_empty() {
            let mut answered: HashSet<String> = self.chain_answered.clone();
            for &i in &orphaned_results {
                answered.extend(self.pending.get(i).unwrap().calls.iter().cloned());
            }
            strays.sort_by_key(|&i| self.pending.get(i).map(|r| r.off));
            for i in strays {
                let r = self.pending.get(i).unwrap();
                let opens = r.calls.iter().any(|c| {
                    !answered.contains(c)
                        && self.owners.get(c).is_some_and(|o| {
                            !o.ambiguous && member_uuids.contains(o.rec.uuid.as_str())
                        })
                });
                if opens {
                    answered.extend(r.calls.iter().cloned());
                    orphaned_results.push(i);
                }
            }
        }
        if sibling_idx.is_empty() && orphaned_results.is_empty() {
            return;
        }
        let mut siblings: Vec<Rec> = sibling_idx
            .iter()
            .filter_map(|&i| self.pending.take(i))
            .collect();
        siblings.sort_by_key(|r| r.off);
        siblings.sort_by(|a, b| a.timestamp.cmp(&b.timestamp));
        let mut results: Vec<Rec> = orphaned_results
            .iter()
            .filter_map(|&i| self.pending.take(i))
            .collect();
        results.sort_by(|a, b| a.timestamp.cmp(&b.timestamp));
        let recovered: Vec<ItemRef> = siblings
            .into_iter()
            .chain(results)
            .filter_map(|r| {
                r.item.map(|tool| ItemRef {
                    off: r.off,
                    len: r.len,
                    uuid: r.uuid,
                    chain: false,
                    tool,
                })
            })
            .collect();
        // Chronologically right after the anchor = just before it in this newest-first list.
        if g.anchor_abs < self.dropped {
            // The anchor's side of the list was dropped (`after` paging): these are newer still.
            self.dropped += recovered.len();
            return;
        }
        let at = (g.anchor_abs - self.dropped).min(self.items.len());
        for it in recovered.into_iter() {
            if self.is_mark(it.off, &it.uuid) {
                self.mark_found = true;
            }
            self.items.insert(at, it);
        }
        self.trim_front();
    }

    fn should_stop(&mut self, off: u64) -> bool {
        if self.leaf_state == LeafState::Pending {
            // Until the last `last-prompt` row's leaf is met the page may still move to it.
            return false;
        }
        if self.walk_done {
            self.done = true;
            return true;
        }
        let open = self.open.is_some();
        match self.goal {
            Goal::Latest { need } => self.items.len() >= need && !open,
            Goal::Before { need } => {
                self.mark_found
                    && !open
                    && self
                        .mark_index()
                        .is_some_and(|i| self.items.len() - i > need)
            }
            Goal::After { .. } => {
                if self.mark_found {
                    return !open;
                }
                let Some((moff, muuid)) = self.mark.clone() else {
                    return false;
                };
                if off >= moff {
                    return false;
                }
                // Passed the mark's line without it joining the walk: it can only still come
                // back as a recovered parallel result/call, through its parent's response.
                if !self.pending.contains(&muuid) {
                    self.stale = true;
                    return true;
                }
                match self.chase {
                    Chase::Idle | Chase::Chasing => false,
                    Chase::Wait if open => false,
                    Chase::Wait | Chase::Dead => {
                        self.stale = true;
                        true
                    }
                }
            }
        }
    }

    /// Run backwards from `end` (the end of a complete line).
    fn run(&mut self, f: &mut File, end: u64) -> io::Result<()> {
        transcript::for_each_line_rev(f, end, |off, line| self.feed(off, line))?;
        // Start of the file (or stopped): finish the open response.
        if !self.done && self.open.is_some() {
            self.close_group();
        }
        Ok(())
    }

    /// Chain entries that a scan can restart from without missing an older recovered item:
    /// role is not `tool` (a response's stray results may follow its on-chain results in the
    /// file) and no item older than it lies after it in the file.
    fn clean_flags(&self) -> Vec<bool> {
        let n = self.items.len();
        let mut flags = vec![false; n];
        let mut max_older: u64 = 0;
        let mut any_older = false;
        for i in (0..n).rev() {
            let it = &self.items[i];
            flags[i] = it.chain && !it.tool && (!any_older || max_older < it.off);
            max_older = max_older.max(it.off);
            any_older = true;
        }
        flags
    }
}

// ---------------------------------------------------------------------------------------------
// Cursor positions

/// Where a backwards scan restarts for a cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
    /// The named item is itself a clean chain entry.
    Itself,
    /// A clean chain entry newer than the item.
    Entry { off: u64, uuid: String },
    /// The file end when the page was read; the item is somewhere below it.
    Tail(u64),
    /// The item was the newest one as of this file end.
    Top(u64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pos {
    off: u64,
    uuid: String,
    origin: Origin,
}

impl Pos {
    /// The cursor's `id`: the uuids as `cursor_id` names them (`check_cursor` restores them).
    fn encode_id(&self) -> String {
        let uuid = cursor_id(&self.uuid);
        match &self.origin {
            Origin::Itself => uuid.into_owned(),
            Origin::Entry { off, uuid: e } => format!("{uuid}|{off}:{}", cursor_id(e)),
            Origin::Tail(s) => format!("{uuid}|@{s}"),
            Origin::Top(s) => format!("{uuid}|^{s}"),
        }
    }

    fn parse(off: u64, id: &str) -> Pos {
        if let Some((u, rest)) = id.rsplit_once('|') {
            let origin = if let Some(s) = rest.strip_prefix('@') {
                s.parse().ok().map(Origin::Tail)
            } else if let Some(s) = rest.strip_prefix('^') {
                s.parse().ok().map(Origin::Top)
            } else {
                rest.split_once(':').and_then(|(o, uu)| {
                    o.parse().ok().map(|off| Origin::Entry {
                        off,
                        uuid: uu.to_string(),
                    })
                })
            };
            if let Some(origin) = origin {
                return Pos {
                    off,
                    uuid: u.to_string(),
                    origin,
                };
            }
        }
        Pos {
            off,
            uuid: id.to_string(),
            origin: Origin::Itself,
        }
    }
}

/// The transcript a request reads: the session file or one of its subagents.
struct Target {
    path: PathBuf,
    subagent: Option<String>,
    dev: u64,
    ino: u64,
}

impl Target {
    fn cursor(&self, p: &Pos) -> String {
        Cursor {
            v: 1,
            dev: self.dev,
            ino: self.ino,
            off: p.off,
            id: p.encode_id(),
            sub: self.subagent.clone(),
        }
        .encode()
    }
}

fn stale(msg: &str) -> SidecarError {
    SidecarError::new(ErrorCode::StaleCursor, msg.to_string())
}

const STALE_REWRITTEN: &str = "history cursor is stale: the session file was rewritten since it was issued; fetch the latest page again";
const STALE_BRANCH: &str = "history cursor is stale: that message is no longer on the conversation's current branch; fetch the latest page again";

/// The complete line starting at `off`: (its bytes, the offset just past its newline).
fn line_at(f: &mut File, off: u64) -> io::Result<Option<(Vec<u8>, u64)>> {
    let mut out = None;
    let end = transcript::for_each_line(f, off, |_, line| {
        out = Some(line.to_vec());
        false
    })?;
    Ok(out.map(|l| (l, end)))
}

fn uuid_of(line: &[u8]) -> Option<String> {
    serde_json::from_slice::<Line<serde::de::IgnoredAny>>(line)
        .ok()
        .and_then(|l| l.uuid.map(|u| u.into_owned()))
}

/// Checks a cursor against the file: same file, and its lines still hold the same entries.
/// Returns the position and the end offset of the cursor item's line.
fn check_cursor(f: &mut File, t: &Target, end: u64, c: &Cursor) -> Result<(Pos, u64)> {
    if c.sub != t.subagent {
        return Err(SidecarError::new(
            ErrorCode::InvalidCursor,
            "invalid history cursor: it belongs to another transcript (session or subagent)",
        ));
    }
    let meta = f
        .metadata()
        .map_err(|e| SidecarError::unreadable(&t.path, &e))?;
    c.check_file(&meta)?;
    let mut pos = Pos::parse(c.off, &c.id);
    let unreadable = |e: io::Error| SidecarError::unreadable(&t.path, &e);
    // The uuid of the line at `off` if the cursor names it (then the real uuid, not its
    // `cursor_id`, goes on).
    let mut named = |off: u64, name: &str| -> Result<(String, u64)> {
        let (line, line_end) = line_at(f, off)
            .map_err(unreadable)?
            .ok_or_else(|| stale(STALE_REWRITTEN))?;
        match uuid_of(&line) {
            Some(u) if line_end <= end && cursor_id(&u) == name => Ok((u, line_end)),
            _ => Err(stale(STALE_REWRITTEN)),
        }
    };
    let (uuid, line_end) = named(pos.off, &pos.uuid)?;
    pos.uuid = uuid;
    match &mut pos.origin {
        Origin::Entry { off, uuid } => {
            *uuid = named(*off, uuid)?.0;
        }
        Origin::Tail(s) | Origin::Top(s) => {
            if *s > end || *s < line_end {
                return Err(stale(STALE_REWRITTEN));
            }
        }
        Origin::Itself => {}
    }
    Ok((pos, line_end))
}

/// Offset just past the last `\n` (a torn last line is not part of the transcript yet).
fn complete_end(f: &File, size: u64) -> io::Result<u64> {
    const CHUNK: u64 = 64 * 1024;
    let mut pos = size;
    let mut buf = vec![0u8; CHUNK as usize];
    while pos > 0 {
        let start = pos.saturating_sub(CHUNK);
        let b = &mut buf[..(pos - start) as usize];
        f.read_exact_at(b, start)?;
        if let Some(i) = memchr::memrchr(b'\n', b) {
            return Ok(start + i as u64 + 1);
        }
        pos = start;
    }
    Ok(0)
}

fn open_target(t: &Target) -> Result<(File, u64)> {
    let f = File::open(&t.path).map_err(|e| SidecarError::unreadable(&t.path, &e))?;
    let size = f
        .metadata()
        .map_err(|e| SidecarError::unreadable(&t.path, &e))?
        .len();
    let end = complete_end(&f, size).map_err(|e| SidecarError::unreadable(&t.path, &e))?;
    Ok((f, end))
}

// ---------------------------------------------------------------------------------------------
// Pages

struct Built {
    gen: Gen,
    origin: Origin,
}

impl Built {
    /// The cursor for the item at `idx`: restart from the nearest clean entry at or above it.
    fn pos_for(&self, idx: usize, clean: &[bool]) -> Pos {
        let it = &self.gen.items[idx];
        for j in (0..=idx).rev() {
            if clean[j] {
                let e = &self.gen.items[j];
                let origin = if j == idx {
                    Origin::Itself
                } else {
                    Origin::Entry {
                        off: e.off,
                        uuid: e.uuid.clone(),
                    }
                };
                return Pos {
                    off: it.off,
                    uuid: it.uuid.clone(),
                    origin,
                };
            }
        }
        Pos {
            off: it.off,
            uuid: it.uuid.clone(),
            origin: self.origin.clone(),
        }
    }
}

fn run_gen(f: &mut File, t: &Target, end: u64, gen: &mut Gen) -> Result<()> {
    gen.run(f, end)
        .map_err(|e| SidecarError::unreadable(&t.path, &e))
}

/// A backwards scan for a `before` cursor: restarts where the cursor says.
fn scan_before(f: &mut File, t: &Target, pos: &Pos, need: usize) -> Result<Built> {
    let mut gen =
        Gen::new(t.subagent.is_some(), Goal::Before { need }).with_mark(pos.off, &pos.uuid);
    let unreadable = |e: io::Error| SidecarError::unreadable(&t.path, &e);
    let origin = match &pos.origin {
        Origin::Itself | Origin::Entry { .. } => {
            let (eoff, euuid) = match &pos.origin {
                Origin::Entry { off, uuid } => (*off, uuid.clone()),
                _ => (pos.off, pos.uuid.clone()),
            };
            let (_, eend) = line_at(f, eoff)
                .map_err(unreadable)?
                .ok_or_else(|| stale(STALE_REWRITTEN))?;
            gen.start_at(&euuid);
            run_gen(f, t, eend, &mut gen)?;
            Origin::Entry {
                off: eoff,
                uuid: euuid,
            }
        }
        Origin::Tail(s) | Origin::Top(s) => {
            run_gen(f, t, *s, &mut gen)?;
            Origin::Tail(*s)
        }
    };
    if !gen.mark_found {
        return Err(stale(STALE_BRANCH));
    }
    Ok(Built { gen, origin })
}

pub fn history(
    store: &ClaudeStore,
    file: &SessionFile,
    req: &HistoryRequest,
) -> Result<HistoryPage> {
    let _ = store;
    let t = target(file, req.subagent.as_deref())?;
    let (mut f, end) = open_target(&t)?;
    let limit = req.limit.max(1);
    let tb = req.truncate_bytes;
    if let Some(c) = &req.before {
        let (pos, _) = check_cursor(&mut f, &t, end, c)?;
        let b = scan_before(&mut f, &t, &pos, limit + 1)?;
        let clean = b.gen.clean_flags();
        let ix = b.gen.mark_index().expect("mark found");
        let from = ix + 1;
        let to = (from + limit).min(b.gen.items.len());
        let has_older = b.gen.items.len() > from + limit;
        let items = read_items(&f, &t, &b.gen.items, from, to, tb)?;
        let (older, newer) = if from < to {
            (
                Some(t.cursor(&b.pos_for(to - 1, &clean))),
                Some(t.cursor(&b.pos_for(from, &clean))),
            )
        } else {
            (None, None)
        };
        return Ok(HistoryPage {
            items,
            older_cursor: older,
            newer_cursor: newer,
            has_older,
            has_newer: true,
        });
    }
    if let Some(c) = &req.after {
        let (pos, _) = check_cursor(&mut f, &t, end, c)?;
        let mut gen = Gen::new(t.subagent.is_some(), Goal::After { keep: limit })
            .with_mark(pos.off, &pos.uuid);
        run_gen(&mut f, &t, end, &mut gen)?;
        if !gen.mark_found {
            return Err(stale(STALE_BRANCH));
        }
        let b = Built {
            gen,
            origin: Origin::Tail(end),
        };
        let clean = b.gen.clean_flags();
        let ix = b.gen.mark_index().expect("mark found");
        let from = ix.saturating_sub(limit);
        let has_newer = b.gen.dropped + from > 0;
        let items = read_items(&f, &t, &b.gen.items, from, ix, tb)?;
        let newer = if from < ix {
            if has_newer {
                b.pos_for(from, &clean)
            } else {
                Pos {
                    origin: Origin::Top(end),
                    ..b.pos_for(from, &clean)
                }
            }
        } else {
            // Nothing newer: the cursor's item is the newest; poll or subscribe from here.
            Pos {
                off: pos.off,
                uuid: pos.uuid.clone(),
                origin: Origin::Top(end),
            }
        };
        let older = (from < ix).then(|| t.cursor(&b.pos_for(ix - 1, &clean)));
        return Ok(HistoryPage {
            items,
            older_cursor: older,
            newer_cursor: Some(t.cursor(&newer)),
            has_older: true,
            has_newer,
        });
    }
    // The latest page.
    let mut gen = Gen::new(t.subagent.is_some(), Goal::Latest { need: limit + 1 });
    run_gen(&mut f, &t, end, &mut gen)?;
    let b = Built {
        gen,
        origin: Origin::Tail(end),
    };
    let clean = b.gen.clean_flags();
    let to = limit.min(b.gen.items.len());
    let items = read_items(&f, &t, &b.gen.items, 0, to, tb)?;
    let (older, newer) = if to > 0 {
        let top = Pos {
            origin: Origin::Top(end),
            ..b.pos_for(0, &clean)
        };
        (
            Some(t.cursor(&b.pos_for(to - 1, &clean))),
            Some(t.cursor(&top)),
        )
    } else {
        (None, None)
    };
    Ok(HistoryPage {
        items,
        older_cursor: older,
        newer_cursor: newer,
        has_older: b.gen.items.len() > limit,
        has_newer: false,
    })
}

/// Read and convert `refs[from..to]` (newest first) into chronological items.
fn read_items(
    f: &File,
    t: &Target,
    refs: &VecDeque<ItemRef>,
    from: usize,
    to: usize,
    truncate: usize,
) -> Result<Vec<HistoryItem>> {
    let mut out = Vec::with_capacity(to.saturating_sub(from));
    let mut buf = Vec::new();
    for i in (from..to).rev() {
        let r = &refs[i];
        buf.resize(r.len as usize, 0);
        f.read_exact_at(&mut buf, r.off)
            .map_err(|e| SidecarError::unreadable(&t.path, &e))?;
        match to_item(&buf, truncate, t.subagent.is_some()) {
            Some(it) => out.push(it),
            None => {
                return Err(stale(STALE_REWRITTEN));
            }
        }
    }
    Ok(out)
}

pub fn message(
    store: &ClaudeStore,
    file: &SessionFile,
    id: &str,
    subagent: Option<&str>,
) -> Result<HistoryItem> {
    let _ = store;
    let not_found = || {
        SidecarError::new(
            ErrorCode::MessageNotFound,
            format!("no message {id:?} in session {}", file.id),
        )
    };
    if id.is_empty() || id.len() > 256 {
        return Err(not_found());
    }
    let t = target(file, subagent)?;
    let (mut f, end) = open_target(&t)?;
    let needle = id.as_bytes();
    let mut found = None;
    transcript::for_each_line_rev(&mut f, end, |_, line| {
        if memchr::memmem::find(line, needle).is_none() {
            return true;
        }
        match serde_json::from_slice::<Line<serde::de::IgnoredAny>>(line) {
            Ok(l) if l.uuid.as_deref() == Some(id) => {
                found = to_item(line, usize::MAX, t.subagent.is_some());
                found.is_none()
            }
            _ => true,
        }
    })
    .map_err(|e| SidecarError::unreadable(&t.path, &e))?;
    found.ok_or_else(not_found)
}

pub fn appended(
    store: &ClaudeStore,
    file: &SessionFile,
    offset: u64,
    truncate_bytes: usize,
) -> Result<Appended> {
    let _ = store;
    let t = target(file, None)?;
    let mut f = File::open(&t.path).map_err(|e| SidecarError::unreadable(&t.path, &e))?;
    let size = f
        .metadata()
        .map_err(|e| SidecarError::unreadable(&t.path, &e))?
        .len();
    if size < offset {
        return Err(stale(
            "the session file shrank below the subscription's position (rewritten)",
        ));
    }
    let mut items = Vec::new();
    let mut last: Option<(u64, String)> = None;
    let mut stop_at: Option<u64> = None;
    let end = transcript::for_each_line(&mut f, offset, |off, line| {
        if items.len() >= MAX_APPENDED_ITEMS {
            stop_at = Some(off);
            return false;
        }
        if let Some(it) = to_item(line, truncate_bytes, false) {
            last = Some((off, it.id.clone()));
            items.push(it);
        }
        true
    })
    .map_err(|e| SidecarError::unreadable(&t.path, &e))?;
    let end = stop_at.unwrap_or(end);
    let newer_cursor = last.map(|(off, uuid)| {
        t.cursor(&Pos {
            off,
            uuid,
            origin: Origin::Top(end),
        })
    });
    Ok(Appended {
        items,
        offset: end,
        newer_cursor,
    })
}

pub fn subscription_start(
    store: &ClaudeStore,
    file: &SessionFile,
    after: Option<&Cursor>,
) -> Result<u64> {
    let _ = store;
    let t = target(file, None)?;
    let (mut f, end) = open_target(&t)?;
    let Some(c) = after else {
        return Ok(end);
    };
    let (pos, line_end) = check_cursor(&mut f, &t, end, c)?;
    Ok(match pos.origin {
        Origin::Top(s) => s,
        _ => line_end,
    })
}

// ---------------------------------------------------------------------------------------------
// Subagents

fn valid_agent_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn subagents_dir(file: &SessionFile) -> PathBuf {
    file.path.with_extension("").join("subagents")
}

/// `agent-<id>.jsonl` files under `dir`, recursively, in the SDK's order (names sorted per
/// directory, subdirectories walked where they sort).
fn agent_files(dir: &Path) -> Vec<(String, PathBuf)> {
    fn walk(d: &Path, out: &mut Vec<(String, PathBuf)>, depth: usize) {
        if depth > 8 {
            return;
        }
        let Ok(rd) = std::fs::read_dir(d) else {
            return;
        };
        let mut ents: Vec<std::fs::DirEntry> = rd.filter_map(|e| e.ok()).collect();
        ents.sort_by_key(|e| e.file_name());
        for e in ents {
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_file() {
                if let Some(id) = name
                    .strip_prefix("agent-")
                    .and_then(|n| n.strip_suffix(".jsonl"))
                {
                    if valid_agent_id(id) {
                        out.push((id.to_string(), e.path()));
                    }
                }
            } else if ft.is_dir() {
                walk(&e.path(), out, depth + 1);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out, 0);
    out
}

fn target(file: &SessionFile, subagent: Option<&str>) -> Result<Target> {
    let (path, sub) = match subagent {
        None => (file.path.clone(), None),
        Some(a) => {
            if !valid_agent_id(a) {
                return Err(SidecarError::invalid_params(format!(
                    "invalid subagent id {a:?} (letters, digits, - and _ only)"
                )));
            }
            let path = agent_files(&subagents_dir(file))
                .into_iter()
                .find(|(id, _)| id == a)
                .map(|(_, p)| p)
                .ok_or_else(|| {
                    SidecarError::not_found(format!(
                        "subagent {a} in session {} (see sessions/subagents)",
                        file.id
                    ))
                })?;
            (path, Some(a.to_string()))
        }
    };
    let meta = std::fs::metadata(&path).map_err(|e| SidecarError::unreadable(&path, &e))?;
    Ok(Target {
        path,
        subagent: sub,
        dev: meta.dev(),
        ino: meta.ino(),
    })
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct AgentMeta {
    agent_type: Option<String>,
    description: Option<String>,
    tool_use_id: Option<String>,
}

pub fn subagents(store: &ClaudeStore, file: &SessionFile) -> Result<Vec<SubagentSummary>> {
    let _ = store;
    let mut out = Vec::new();
    for (id, path) in agent_files(&subagents_dir(file)) {
        let meta_path = path.with_file_name(format!("agent-{id}.meta.json"));
        let meta: AgentMeta = std::fs::read(&meta_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let mut count = 0u64;
        if let Ok(mut f) = File::open(&path) {
            let _ = transcript::for_each_line(&mut f, 0, |_, line| {
                if let Ok(l) = serde_json::from_slice::<Line<serde::de::IgnoredAny>>(line) {
                    if l.uuid.is_some()
                        && matches!(l.ty(), "user" | "assistant")
                        && l.is_meta != Some(true)
                    {
                        count += 1;
                    }
                }
                true
            });
        }
        out.push(SubagentSummary {
            id,
            agent_type: meta.agent_type,
            description: meta.description,
            tool_use_id: meta.tool_use_id,
            message_count: count,
            path: path.display().to_string(),
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Entry → item

#[derive(Deserialize, Default)]
#[serde(default)]
struct FullMessage<'a> {
    #[serde(borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(borrow)]
    content: Option<&'a RawValue>,
    usage: Option<super::claude::ApiUsage>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawBlock<'a> {
    #[serde(rename = "type", borrow)]
    ty: Option<Cow<'a, str>>,
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow)]
    thinking: Option<Cow<'a, str>>,
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    input: Option<&'a RawValue>,
    #[serde(borrow)]
    tool_use_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    content: Option<&'a RawValue>,
    is_error: Option<bool>,
    #[serde(borrow)]
    source: Option<&'a RawValue>,
}

/// Cut `s` to at most `max` bytes on a char boundary; returns whether it was cut.
fn cut(s: &mut String, max: usize) -> bool {
    if s.len() <= max {
        return false;
    }
    let mut i = max;
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    s.truncate(i);
    true
}

/// Cut every long string inside a JSON value.
fn cut_value(v: &mut serde_json::Value, max: usize) -> bool {
    match v {
        serde_json::Value::String(s) => cut(s, max),
        serde_json::Value::Array(a) => a.iter_mut().fold(false, |t, x| cut_value(x, max) | t),
        serde_json::Value::Object(o) => o.values_mut().fold(false, |t, x| cut_value(x, max) | t),
        _ => false,
    }
}

/// A tool_result's content (a string or blocks) as text.
fn result_text(content: Option<&RawValue>) -> String {
    let Some(c) = content else {
        return String::new();
    };
    if let Ok(s) = serde_json::from_str::<String>(c.get()) {
        return s;
    }
    let blocks: Vec<RawBlock> = serde_json::from_str(c.get()).unwrap_or_default();
    let mut parts = Vec::new();
    for b in blocks {
        match b.ty.as_deref() {
            Some("text") => parts.push(b.text.unwrap_or_default().into_owned()),
            Some("image") => parts.push("[image]".to_string()),
            Some(other) => parts.push(format!("[{other}]")),
            None => {}
        }
    }
    parts.join("\n")
}

fn media_type(source: Option<&RawValue>) -> Option<String> {
    #[derive(Deserialize)]
    struct Src {
        media_type: Option<String>,
    }
    source
        .and_then(|s| serde_json::from_str::<Src>(s.get()).ok())
        .and_then(|s| s.media_type)
}

/// Convert one line into an item (None when the entry is not shown).
fn to_item(line: &[u8], max: usize, subagent: bool) -> Option<HistoryItem> {
    let l: ItemLine = serde_json::from_slice(line).ok()?;
    let uuid = l.uuid.as_deref().filter(|u| !u.is_empty())?.to_string();
    let msg: FullMessage = l
        .message
        .and_then(|m| serde_json::from_str(m.get()).ok())
        .unwrap_or_default();
    let mut truncated = false;
    let mut content = Vec::new();
    let mut n_blocks = 0usize;
    let mut n_results = 0usize;
    if l.is_boundary() {
        let m: super::claude::CompactMetadata = l
            .compact_metadata
            .and_then(|m| serde_json::from_str(m.get()).ok())
            .unwrap_or_default();
        content.push(ContentBlock::Compaction {
            trigger: m.trigger,
            pre_tokens: m.pre_tokens,
            post_tokens: m.post_tokens,
        });
    } else if l.ty() == "system" {
        let mut text: String = l
            .content
            .and_then(|c| serde_json::from_str(c.get()).ok())
            .unwrap_or_default();
        truncated |= cut(&mut text, max);
        content.push(ContentBlock::Text { text });
    } else if let Some(c) = msg.content {
        if let Ok(mut s) = serde_json::from_str::<String>(c.get()) {
            truncated |= cut(&mut s, max);
            content.push(ContentBlock::Text { text: s });
        } else {
            let blocks: Vec<RawBlock> = serde_json::from_str(c.get()).unwrap_or_default();
            n_blocks = blocks.len();
            for b in blocks {
                let block = match b.ty.as_deref().unwrap_or("") {
                    "text" => {
                        let mut text = b.text.unwrap_or_default().into_owned();
                        truncated |= cut(&mut text, max);
                        ContentBlock::Text { text }
                    }
                    "thinking" => {
                        let mut text = b.thinking.or(b.text).unwrap_or_default().into_owned();
                        truncated |= cut(&mut text, max);
                        ContentBlock::Thinking { text }
                    }
                    "redacted_thinking" => ContentBlock::Thinking {
                        text: "[redacted]".into(),
                    },
                    "tool_use" | "server_tool_use" => {
                        let mut input: serde_json::Value = b
                            .input
                            .and_then(|i| serde_json::from_str(i.get()).ok())
                            .unwrap_or(serde_json::Value::Null);
                        if b.input.is_some_and(|i| i.get().len() > max) {
                            truncated |= cut_value(&mut input, max);
                        }
                        ContentBlock::ToolUse {
                            id: b.id.unwrap_or_default().into_owned(),
                            name: b.name.unwrap_or_default().into_owned(),
                            input,
                        }
                    }
                    "tool_result" => {
                        n_results += 1;
                        let mut text = result_text(b.content);
                        truncated |= cut(&mut text, max);
                        ContentBlock::ToolResult {
                            tool_use_id: b.tool_use_id.unwrap_or_default().into_owned(),
                            content: text,
                            is_error: b.is_error.unwrap_or(false),
                        }
                    }
                    "image" => ContentBlock::Image {
                        media_type: media_type(b.source),
                    },
                    "" => continue,
                    other => ContentBlock::Text {
                        text: format!("[{other}]"),
                    },
                };
                content.push(block);
            }
        }
    }
    let kind = item_kind(&l, subagent, n_results > 0 && n_results == n_blocks)?;
    let role = match l.ty() {
        "user" if kind => Role::Tool,
        "user" => Role::User,
        "assistant" => Role::Assistant,
        _ => Role::System,
    };
    let parent_id = if l.is_boundary() {
        nonempty(&l.logical_parent_uuid).or_else(|| nonempty(&l.parent_uuid))
    } else {
        nonempty(&l.parent_uuid)
    };
    Some(HistoryItem {
        id: uuid,
        parent_id,
        role,
        timestamp: l
            .timestamp
            .as_deref()
            .map(|t| crate::time::normalize(t).unwrap_or_else(|| t.to_string())),
        model: msg
            .model
            .filter(|m| !m.starts_with('<') && !m.is_empty())
            .map(Cow::into_owned),
        usage: msg.usage.map(|u| Usage {
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
            cache_read_tokens: u.cache_read_input_tokens,
            cache_creation_tokens: u.cache_creation_input_tokens,
        }),
        content,
        truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn entry(ty: &str, uuid: &str, parent: Option<&str>, extra: &str) -> String {
        let p = parent
            .map(|p| format!("\"{p}\""))
            .unwrap_or_else(|| "null".into());
        format!(
            "{{\"type\":\"{ty}\",\"uuid\":\"{uuid}\",\"parentUuid\":{p},\"timestamp\":\"2026-01-01T00:00:00.000Z\"{extra}}}\n"
        )
    }

    fn user(uuid: &str, parent: Option<&str>) -> String {
        entry(
            "user",
            uuid,
            parent,
            ",\"message\":{\"role\":\"user\",\"content\":\"hi\"}",
        )
    }

    fn write(lines: &[String]) -> (tempfile::TempDir, SessionFile) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("00000000-0000-0000-0000-000000000001.jsonl");
        let mut f = File::create(&p).unwrap();
        for l in lines {
            f.write_all(l.as_bytes()).unwrap();
        }
        (
            d,
            SessionFile {
                agent: crate::protocol::Agent::Claude,
                id: "00000000-0000-0000-0000-000000000001".into(),
                path: p,
            },
        )
    }

    fn page(file: &SessionFile, limit: usize, before: Option<&str>) -> HistoryPage {
        let store = ClaudeStore::new(PathBuf::from("/nonexistent"));
        history(
            &store,
            file,
            &HistoryRequest {
                limit,
                before: before.map(|c| Cursor::decode(c).unwrap()),
                after: None,
                truncate_bytes: 100,
                subagent: None,
            },
        )
        .unwrap()
    }

    fn page_after(file: &SessionFile, limit: usize, after: &str) -> Result<HistoryPage> {
        let store = ClaudeStore::new(PathBuf::from("/nonexistent"));
        history(
            &store,
            file,
            &HistoryRequest {
                limit,
                before: None,
                after: Some(Cursor::decode(after).unwrap()),
                truncate_bytes: 100,
                subagent: None,
            },
        )
    }

    fn assistant(uuid: &str, parent: &str, msg: &str, block: &str) -> String {
        entry(
            "assistant",
            uuid,
            Some(parent),
            &format!(
                ",\"message\":{{\"id\":\"{msg}\",\"role\":\"assistant\",\"content\":[{block}]}}"
            ),
        )
    }

    fn result(uuid: &str, parent: &str, call: &str) -> String {
        entry(
            "user",
            uuid,
            Some(parent),
            &format!(",\"message\":{{\"role\":\"user\",\"content\":[{{\"type\":\"tool_result\",\"tool_use_id\":\"{call}\",\"content\":\"ok\"}}]}}"),
        )
    }

    fn tool_use(id: &str) -> String {
        format!("{{\"type\":\"tool_use\",\"id\":\"{id}\",\"name\":\"Bash\",\"input\":{{}}}}")
    }

    /// Every item walking back with `before`, then forward again with `after`.
    fn walk(file: &SessionFile, limit: usize) -> (Vec<String>, Vec<String>) {
        let mut pages = vec![page(file, limit, None)];
        while pages.last().unwrap().has_older {
            let c = pages.last().unwrap().older_cursor.clone().unwrap();
            pages.push(page(file, limit, Some(&c)));
        }
        let back: Vec<String> = pages
            .iter()
            .rev()
            .flat_map(|p| p.items.iter().map(|i| i.id.clone()))
            .collect();
        let oldest = pages.last().unwrap();
        let mut fwd: Vec<String> = oldest.items.iter().map(|i| i.id.clone()).collect();
        let mut c = oldest.newer_cursor.clone();
        while let Some(cur) = c {
            let p = page_after(file, limit, &cur).unwrap();
            assert!(
                !p.items.is_empty() || !p.has_newer,
                "empty page with newer items"
            );
            fwd.extend(p.items.iter().map(|i| i.id.clone()));
            c = if p.has_newer { p.newer_cursor } else { None };
        }
        (back, fwd)
    }

    #[test]
    fn parallel_results_written_late_page_at_any_size() {
        // Three parallel calls; the next turn continues from the third result, and the other
        // two results land after it in the file (so R3 is no place to restart a scan).
        let lines = vec![
            user("p", None),
            assistant("a1", "p", "m1", &tool_use("t1")),
            assistant("a2", "a1", "m1", &tool_use("t2")),
            assistant("a3", "a2", "m1", &tool_use("t3")),
            result("r3", "a3", "t3"),
            result("r1", "a1", "t1"),
            result("r2", "a2", "t2"),
            assistant("x", "r3", "m2", "{\"type\":\"text\",\"text\":\"done\"}"),
            user("u", Some("x")),
        ];
        let (_d, f) = write(&lines);
        let want = ["p", "a1", "a2", "a3", "r1", "r2", "r3", "x", "u"];
        for limit in 1..=10 {
            let (back, fwd) = walk(&f, limit);
            assert_eq!(back, want, "before-paging, limit {limit}");
            assert_eq!(fwd, want, "after-paging, limit {limit}");
        }
        let p = page(&f, 10, None);
        let roles: Vec<Role> = p.items.iter().map(|i| i.role).collect();
        assert_eq!(roles[4], Role::Tool);
        assert_eq!(roles[0], Role::User);
    }

    #[test]
    fn explicit_last_prompt_is_honoured_as_written() {
        let mut lines = vec![user("a", None), user("b", Some("a")), user("c", Some("b"))];
        lines.push("{\"type\":\"last-prompt\",\"leafUuid\":\"b\"}\n".into());
        let (_d, f) = write(&lines);
        assert_eq!(ids(&page(&f, 10, None)), ["a", "b", "c"]);
        lines.push("{\"type\":\"last-prompt\",\"leafUuid\":\"b\",\"explicit\":true}\n".into());
        let (_d, f) = write(&lines);
        assert_eq!(ids(&page(&f, 10, None)), ["a", "b"]);
    }

    #[test]
    fn after_cursor_off_the_current_branch_is_stale() {
        let lines = vec![user("a", None), user("b", Some("a")), user("c", Some("b"))];
        let (_d, f) = write(&lines);
        let p = page(&f, 10, None);
        let newer = p.newer_cursor.clone().unwrap();
        // Nothing newer yet: an empty page that keeps a cursor to poll with.
        let same = page_after(&f, 10, &newer).unwrap();
        assert!(same.items.is_empty() && !same.has_newer && same.newer_cursor.is_some());
        // The conversation is rewound to b and continues on another branch.
        let mut g = std::fs::OpenOptions::new()
            .append(true)
            .open(&f.path)
            .unwrap();
        g.write_all(user("d", Some("b")).as_bytes()).unwrap();
        let e = page_after(&f, 10, &newer).unwrap_err();
        assert_eq!(e.code, ErrorCode::StaleCursor);
        assert_eq!(ids(&page(&f, 10, None)), ["a", "b", "d"]);
    }

    fn ids(p: &HistoryPage) -> Vec<&str> {
        p.items.iter().map(|i| i.id.as_str()).collect()
    }

    #[test]
    fn last_prompt_leaf_and_branches() {
        // a → b → c (branch 1), b → d (branch 2, last in file).
        let mut lines = vec![user("a", None), user("b", Some("a")), user("c", Some("b"))];
        lines.push(user("d", Some("b")));
        let (_d, f) = write(&lines);
        assert_eq!(ids(&page(&f, 10, None)), ["a", "b", "d"]);
        // A last-prompt row naming c: the CLI resumes branch 1.
        lines.push("{\"type\":\"last-prompt\",\"leafUuid\":\"c\"}\n".into());
        let (_d, f) = write(&lines);
        assert_eq!(ids(&page(&f, 10, None)), ["a", "b", "c"]);
        // The file continued from c after the row: the newer entry is the leaf.
        lines.push(user("e", Some("c")));
        let (_d, f) = write(&lines);
        assert_eq!(ids(&page(&f, 10, None)), ["a", "b", "c", "e"]);
        // A dangling leafUuid is ignored.
        lines.push("{\"type\":\"last-prompt\",\"leafUuid\":\"zzz\"}\n".into());
        let (_d, f) = write(&lines);
        assert_eq!(ids(&page(&f, 10, None)), ["a", "b", "c", "e"]);
    }

    #[test]
    fn pages_cursors_and_truncation() {
        let mut lines = vec![user("u0", None)];
        for i in 1..25 {
            lines.push(user(&format!("u{i}"), Some(&format!("u{}", i - 1))));
        }
        lines.push(entry(
            "assistant",
            "big",
            Some("u24"),
            &format!(
                ",\"message\":{{\"id\":\"m\",\"role\":\"assistant\",\"content\":[{{\"type\":\"text\",\"text\":\"{}\"}}]}}",
                "é".repeat(200)
            ),
        ));
        let (_d, f) = write(&lines);
        let p1 = page(&f, 10, None);
        assert_eq!(p1.items.len(), 10);
        assert!(p1.has_older && !p1.has_newer);
        let last = p1.items.last().unwrap();
        assert_eq!(last.id, "big");
        assert!(last.truncated);
        match &last.content[0] {
            ContentBlock::Text { text } => assert!(text.len() <= 100),
            _ => panic!(),
        }
        let p2 = page(&f, 10, p1.older_cursor.as_deref());
        assert_eq!(p2.items.last().unwrap().id, "u15");
        let p3 = page(&f, 10, p2.older_cursor.as_deref());
        assert_eq!(ids(&p3), ["u0", "u1", "u2", "u3", "u4", "u5"]);
        assert!(!p3.has_older);
    }

    // -----------------------------------------------------------------------------------------
    // Differential test: pages (both directions, many sizes) against an in-memory reference.

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn chance(&mut self, pct: u64) -> bool {
            self.below(100) < pct
        }
    }

    fn ts(n: usize) -> String {
        format!(
            "2026-01-01T00:{:02}:{:02}.{:03}Z",
            n / 3600 % 60,
            n / 60 % 60,
            n % 1000
        )
    }

    /// A random transcript shaped like Claude Code's.
    fn random_transcript(seed: u64) -> Vec<String> {
        let mut r = Rng(seed.wrapping_mul(0x9E3779B97F4A7C15) | 1);
        let mut out: Vec<String> = Vec::new();
        let mut n = 0usize;
        let mut id = |pfx: &str| {
            n += 1;
            format!("{pfx}{n:05}")
        };
        let obj = |v: serde_json::Value| format!("{v}\n");
        let mut tip: Option<String> = None;
        let mut prompts: Vec<Option<String>> = Vec::new();
        let mut all: Vec<String> = Vec::new();
        let turns = 3 + r.below(12);
        // Some transcripts have no last-prompt rows at all (older CLIs); otherwise the last
        // turn ends with one, as Claude Code writes them after every response.
        let rows = !r.chance(10);
        for t in 0..turns {
            if t > 0 && r.chance(12) && !prompts.is_empty() {
                // Rewind: the next prompt branches off an earlier one's parent.
                tip = prompts[r.below(prompts.len() as u64) as usize].clone();
            }
            if t > 0 && r.chance(15) {
                let b = id("cb");
                out.push(obj(serde_json::json!({"type":"system","subtype":"compact_boundary","uuid":b,"parentUuid":null,"logicalParentUuid":tip,"timestamp":ts(out.len()),"content":"Conversation compacted","compactMetadata":{"trigger":"auto","preTokens":100,"postTokens":10}})));
                let sm = id("sm");
                out.push(obj(serde_json::json!({"type":"user","uuid":sm,"parentUuid":b,"isCompactSummary":true,"timestamp":ts(out.len()),"message":{"role":"user","content":"summary"}})));
                tip = Some(sm);
            }
            let u = id("u");
            prompts.push(tip.clone());
            out.push(obj(serde_json::json!({"type":"user","uuid":u,"parentUuid":tip,"timestamp":ts(out.len()),"message":{"role":"user","content":format!("prompt {t}")}})));
            tip = Some(u.clone());
            all.push(u);
            for _ in 0..r.below(3) {
                let kind = r.below(4);
                let e = id("x");
                let line = match kind {
                    0 => {
                        serde_json::json!({"type":"attachment","uuid":e,"parentUuid":tip,"timestamp":ts(out.len()),"attachment":{"type":"date"}})
                    }
                    1 => {
                        serde_json::json!({"type":"user","isMeta":true,"uuid":e,"parentUuid":tip,"timestamp":ts(out.len()),"message":{"role":"user","content":"<local-command-caveat>"}})
                    }
                    2 => {
                        serde_json::json!({"type":"progress","uuid":e,"parentUuid":tip,"timestamp":ts(out.len())})
                    }
                    _ => {
                        serde_json::json!({"type":"system","subtype":"local_command","uuid":e,"parentUuid":tip,"timestamp":ts(out.len()),"content":"<local-command-stdout>ok</local-command-stdout>"})
                    }
                };
                out.push(obj(line));
                tip = Some(e);
            }
            let rounds = 1 + r.below(3);
            for _ in 0..rounds {
                let m = id("msg");
                let calls = r.below(4);
                if calls == 0 {
                    let a = id("a");
                    out.push(obj(serde_json::json!({"type":"assistant","uuid":a,"parentUuid":tip,"timestamp":ts(out.len()),"message":{"id":m,"role":"assistant","content":[{"type":"text","text":"reply"}]}})));
                    tip = Some(a);
                    break;
                }
                let mut members = Vec::new();
                for c in 0..calls {
                    let a = id("a");
                    let call = format!("toolu_{a}");
                    out.push(obj(serde_json::json!({"type":"assistant","uuid":a,"parentUuid":tip,"timestamp":ts(out.len()),"message":{"id":m,"role":"assistant","content":[{"type":"tool_use","id":call,"name":"Bash","input":{"command":format!("c{c}")}}]}})));
                    tip = Some(a.clone());
                    members.push((a, call));
                }
                if r.chance(10) {
                    // A sidechain entry interleaved (old main-file layout).
                    let sc = id("sc");
                    out.push(obj(serde_json::json!({"type":"user","isSidechain":true,"uuid":sc,"parentUuid":null,"timestamp":ts(out.len()),"message":{"role":"user","content":"side"}})));
                }
                // Results in completion order; the next request continues from the last one.
                let mut order: Vec<usize> = (0..members.len()).collect();
                for i in (1..order.len()).rev() {
                    order.swap(i, r.below(i as u64 + 1) as usize);
                }
                for &i in &order {
                    let (a, call) = &members[i];
                    let res = id("r");
                    out.push(obj(serde_json::json!({"type":"user","uuid":res,"parentUuid":a,"sourceToolAssistantUUID":a,"timestamp":ts(out.len()),"message":{"role":"user","content":[{"type":"tool_result","tool_use_id":call,"content":"out"}]}})));
                    tip = Some(res);
                }
            }
            if r.chance(10) {
                out.push("not json at all\n".into());
            }
            if r.chance(10) {
                out.push(obj(
                    serde_json::json!({"type":"custom-title","customTitle":"t"}),
                ));
            }
            let last_turn = t + 1 == turns;
            if rows && (r.chance(70) || last_turn) {
                let leaf = match r.below(10) {
                    0 => "dangling-uuid".to_string(),
                    1 if !all.is_empty() => all[r.below(all.len() as u64) as usize].clone(),
                    _ => tip.clone().unwrap_or_default(),
                };
                out.push(obj(
                    serde_json::json!({"type":"last-prompt","lastPrompt":"p","leafUuid":leaf}),
                ));
            }
        }
        if r.chance(30) {
            out.push("{\"type\":\"user\",\"uuid\":\"torn".into());
        }
        out
    }

    /// The same semantics over the whole file in memory (SDK recovery ported directly).
    fn reference(text: &str) -> Vec<String> {
        let complete = &text[..text.rfind('\n').map(|i| i + 1).unwrap_or(0)];
        let mut entries: Vec<serde_json::Value> = Vec::new();
        let mut last_prompt: Option<(String, bool)> = None;
        for l in complete.lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(l) else {
                continue;
            };
            if v["type"] == "last-prompt" {
                if let Some(leaf) = v["leafUuid"].as_str().filter(|s| !s.is_empty()) {
                    last_prompt = Some((leaf.to_string(), v["explicit"] == true));
                }
                continue;
            }
            if v["uuid"].is_string() {
                entries.push(v);
            }
        }
        let by: HashMap<String, usize> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e["uuid"].as_str().unwrap().to_string(), i))
            .collect();
        let parent_of = |e: &serde_json::Value| -> Option<String> {
            let lp = e["logicalParentUuid"].as_str().filter(|s| !s.is_empty());
            if e["type"] == "system" && e["subtype"] == "compact_boundary" && lp.is_some() {
                return lp.map(str::to_string);
            }
            e["parentUuid"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let last_chain = entries.iter().rposition(|e| {
            matches!(
                e["type"].as_str(),
                Some("user" | "assistant" | "system" | "attachment")
            ) && e["isSidechain"] != true
        });
        let Some(last_chain) = last_chain else {
            return Vec::new();
        };
        let mut leaf = last_chain;
        if let Some((p, explicit)) = &last_prompt {
            if let Some(&pi) = by.get(p) {
                let mut descends = false;
                let mut cur = Some(last_chain);
                while let Some(c) = cur {
                    if c == pi {
                        descends = true;
                        break;
                    }
                    cur = parent_of(&entries[c])
                        .and_then(|u| by.get(&u).copied())
                        .filter(|&x| x < c);
                }
                if *explicit || !descends {
                    leaf = pi;
                }
            }
        }
        let mut chain = Vec::new();
        let mut cur = Some(leaf);
        while let Some(c) = cur {
            chain.push(c);
            cur = parent_of(&entries[c])
                .and_then(|u| by.get(&u).copied())
                .filter(|&x| x < c);
        }
        chain.reverse();
        // _recover_orphaned_parallel_tool_results
        let seen: HashSet<usize> = chain.iter().copied().collect();
        let msg_id = |i: usize| -> Option<String> {
            (entries[i]["type"] == "assistant")
                .then(|| entries[i]["message"]["id"].as_str().map(str::to_string))
                .flatten()
        };
        let is_result = |i: usize| {
            entries[i]["type"] == "user"
                && entries[i]["parentUuid"]
                    .as_str()
                    .is_some_and(|p| !p.is_empty())
                && entries[i]["message"]["content"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|b| b["type"] == "tool_result"))
        };
        let mut anchor: HashMap<String, usize> = HashMap::new();
        for &c in &chain {
            if let Some(m) = msg_id(c) {
                anchor.insert(m, c);
            }
        }
        let mut inserts: HashMap<usize, Vec<usize>> = HashMap::new();
        let mut taken: HashSet<usize> = HashSet::new();
        let mut done: HashSet<String> = HashSet::new();
        for &c in &chain {
            let Some(m) = msg_id(c) else { continue };
            if !done.insert(m.clone()) {
                continue;
            }
            let group: Vec<usize> = (0..entries.len())
                .filter(|&i| msg_id(i).as_deref() == Some(&m))
                .collect();
            let members: HashSet<String> = group
                .iter()
                .map(|&i| entries[i]["uuid"].as_str().unwrap().to_string())
                .collect();
            let sib: Vec<usize> = group
                .iter()
                .copied()
                .filter(|i| !seen.contains(i) && !taken.contains(i))
                .collect();
            let res: Vec<usize> = (0..entries.len())
                .filter(|&i| is_result(i) && !seen.contains(&i) && !taken.contains(&i))
                .filter(|&i| members.contains(entries[i]["parentUuid"].as_str().unwrap()))
                .collect();
            if sib.is_empty() && res.is_empty() {
                continue;
            }
            let mut sib = sib;
            sib.sort_by(|&a, &b| {
                entries[a]["timestamp"]
                    .as_str()
                    .cmp(&entries[b]["timestamp"].as_str())
            });
            let mut res = res;
            res.sort_by(|&a, &b| {
                entries[a]["timestamp"]
                    .as_str()
                    .cmp(&entries[b]["timestamp"].as_str())
            });
            let rec: Vec<usize> = sib.into_iter().chain(res).collect();
            taken.extend(rec.iter().copied());
            inserts.insert(anchor[&m], rec);
        }
        let mut full = Vec::new();
        for &c in &chain {
            full.push(c);
            if let Some(v) = inserts.get(&c) {
                full.extend(v.iter().copied());
            }
        }
        full.into_iter()
            .filter(|&i| {
                let e = &entries[i];
                if e["isMeta"] == true || e["isSidechain"] == true {
                    return false;
                }
                match e["type"].as_str() {
                    Some("user" | "assistant") => true,
                    Some("system") => {
                        e["subtype"] == "compact_boundary"
                            || e["content"].as_str().is_some_and(|s| !s.trim().is_empty())
                    }
                    _ => false,
                }
            })
            .map(|i| entries[i]["uuid"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn random_transcripts_page_like_the_reference() {
        let seeds: u64 = std::env::var("HISTORY_FUZZ_SEEDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60);
        for seed in 1..=seeds {
            let lines = random_transcript(seed);
            if std::env::var("HISTORY_FUZZ_DUMP").is_ok() {
                eprintln!("seed {seed}");
                for (i, l) in lines.iter().enumerate() {
                    eprint!("{i}: {l}");
                }
                eprintln!();
                eprintln!("reference {:?}", reference(&lines.concat()));
            }
            let (_d, f) = write(&lines);
            let want = reference(&lines.concat());
            for limit in [1, 2, 3, 5, 8, 1000] {
                let (back, fwd) = walk(&f, limit);
                assert_eq!(back, want, "seed {seed}, limit {limit}: before-paging");
                assert_eq!(fwd, want, "seed {seed}, limit {limit}: after-paging");
            }
        }
    }
}
