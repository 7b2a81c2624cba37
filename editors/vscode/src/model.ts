/**
 * Client logic with no dependency on the `vscode` module: the live session set, the branch
 * tree, formatting of ages/tokens/percentages, the context gauge and the quick pick items.
 * Unit-tested against the real sidecar in `test/unit`.
 */
import type {
  Agent,
  ChangedParams,
  ContextStatus,
  SessionSummary,
  WindowSource,
} from './protocol';
import { sessionKey } from './protocol';

export const AGENT_LABELS: Record<Agent, string> = {
  claude: 'Claude Code',
  qwen: 'Qwen Code',
  codex: 'Codex',
  gemini: 'Gemini CLI',
};

/** The sessions the sidecar reported, kept current by `sessions/changed`. */
export class SessionSet {
  private readonly byKey = new Map<string, SessionSummary>();
  /** The changes applied since `beginReplace`, replayed over the list that replaces the set. */
  private sinceListStart: ChangedParams[] | undefined;

  constructor(items: SessionSummary[] = []) {
    for (const s of items) this.byKey.set(sessionKey(s), s);
  }

  get size(): number {
    return this.byKey.size;
  }

  /**
   * Call when a `sessions/list` that will `replaceAll` is sent. A `sessions/changed` can arrive
   * before that list's response and describe a newer state than its items (the exact counts of a
   * cold list, a write meanwhile); `replaceAll` applies such changes again over the list.
   */
  beginReplace(): void {
    this.sinceListStart = [];
  }

  /** The list failed: stop keeping changes for it. */
  cancelReplace(): void {
    this.sinceListStart = undefined;
  }

  /** Replaces the set with a list's items, then re-applies the changes received meanwhile. */
  replaceAll(items: SessionSummary[]): void {
    const since = this.sinceListStart ?? [];
    this.sinceListStart = undefined;
    this.byKey.clear();
    for (const s of items) this.byKey.set(sessionKey(s), s);
    for (const p of since) this.apply(p);
  }

  /** Empties the set (the sidecar stopped). */
  clear(): void {
    this.sinceListStart = undefined;
    this.byKey.clear();
  }

  /** Applies a `sessions/changed`; returns whether anything changed. */
  apply(p: ChangedParams): boolean {
    this.sinceListStart?.push(p);
    let changed = false;
    for (const s of [...(p.added ?? []), ...(p.updated ?? [])]) {
      this.byKey.set(sessionKey(s), s);
      changed = true;
    }
    for (const k of p.removed ?? []) {
      changed = this.byKey.delete(sessionKey(k)) || changed;
    }
    return changed;
  }

  get(agent: Agent, id: string): SessionSummary | undefined {
    return this.byKey.get(sessionKey({ agent, id }));
  }

  /** Newest first (lastModified, then agent, then id: the sidecar's own order). */
  all(): SessionSummary[] {
    return [...this.byKey.values()].sort(compareNewestFirst);
  }
}

export function compareNewestFirst(a: SessionSummary, b: SessionSummary): number {
  const ta = Date.parse(a.lastModified) || 0;
  const tb = Date.parse(b.lastModified) || 0;
  if (ta !== tb) return tb - ta;
  if (a.agent !== b.agent) return a.agent < b.agent ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// The branch tree

export interface SessionNode {
  session: SessionSummary;
  /** Forks of this session (on the same branch), newest first. */
  forks: SessionNode[];
  /** The source's title when this is a fork whose source is not its parent in the tree. */
  forkOfTitle?: string;
}

export interface BranchGroup {
  /** null: sessions that recorded no branch. */
  branch: string | null;
  current: boolean;
  sessions: SessionNode[];
  /** Sessions in the group, forks included. */
  count: number;
  newest: number;
}

/** Case-insensitive match over title, first prompt, id, branch, tag and agent. */
export function matchesFilter(s: SessionSummary, filter: string): boolean {
  const f = filter.trim().toLowerCase();
  if (!f) return true;
  const hay = [s.title, s.customTitle, s.firstPrompt, s.id, s.gitBranch, s.tag, s.agent, AGENT_LABELS[s.agent]];
  return f
    .split(/\s+/)
    .every((word) => hay.some((h) => h != null && h.toLowerCase().includes(word)));
}

/**
 * Groups sessions by git branch: the current branch(es) first, then the other branches by
 * their newest session, sessions without a branch last. Within a branch, newest first, and a
 * fork sits under its source when the source is on the same branch.
 */
export function groupByBranch(
  sessions: SessionSummary[],
  currentBranches: Iterable<string>,
  filter = '',
): BranchGroup[] {
  const current = new Set(currentBranches);
  const visible = sessions.filter((s) => matchesFilter(s, filter)).sort(compareNewestFirst);
  const byId = new Map<string, SessionSummary>();
  for (const s of sessions) byId.set(sessionKey(s), s);

  const groups = new Map<string | null, SessionSummary[]>();
  for (const s of visible) {
    const b = s.gitBranch ?? null;
    const list = groups.get(b) ?? [];
    list.push(s);
    groups.set(b, list);
  }
  for (const b of current) if (!groups.has(b) && !filter.trim()) groups.set(b, []);

  const result: BranchGroup[] = [];
  for (const [branch, list] of groups) {
    const inGroup = new Map<string, SessionNode>();
    for (const s of list) inGroup.set(sessionKey(s), { session: s, forks: [] });
    const roots: SessionNode[] = [];
    for (const s of list) {
      const node = inGroup.get(sessionKey(s))!;
      const src = s.forkedFrom ? sourceKey(s) : undefined;
      const parent = src ? inGroup.get(src) : undefined;
      if (parent && parent !== node && !isAncestor(node, parent)) {
        parent.forks.push(node);
      } else {
        if (src) {
          const source = byId.get(src);
          node.forkOfTitle = source ? (source.title ?? shortId(source.id)) : shortId(s.forkedFrom!.sessionId);
        }
        roots.push(node);
      }
    }
    result.push({
      branch,
      current: branch !== null && current.has(branch),
      sessions: roots,
      count: list.length,
      newest: list.length ? Date.parse(list[0].lastModified) || 0 : 0,
    });
  }
  result.sort((a, b) => {
    if (a.current !== b.current) return a.current ? -1 : 1;
    if ((a.branch === null) !== (b.branch === null)) return a.branch === null ? 1 : -1;
    if (a.newest !== b.newest) return b.newest - a.newest;
    return (a.branch ?? '') < (b.branch ?? '') ? -1 : 1;
  });
  return result;
}

function sourceKey(s: SessionSummary): string | undefined {
  return s.forkedFrom ? sessionKey({ agent: s.agent, id: s.forkedFrom.sessionId }) : undefined;
}

function isAncestor(node: SessionNode, maybeDescendant: SessionNode): boolean {
  for (const f of node.forks) {
    if (f === maybeDescendant || isAncestor(f, maybeDescendant)) return true;
  }
  return false;
}

export function shortId(id: string): string {
  return id.length > 8 ? id.slice(0, 8) : id;
}

// ---------------------------------------------------------------------------------------------
// Formatting

/** "now", "5m", "3h", "2d", "4w", "6mo", "2y" (never negative). */
export function formatAge(iso: string | null | undefined, now: number = Date.now()): string {
  const t = iso ? Date.parse(iso) : NaN;
  if (Number.isNaN(t)) return '';
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 60) return 'now';
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 14) return `${d}d`;
  if (d < 60) return `${Math.floor(d / 7)}w`;
  if (d < 365) return `${Math.floor(d / 30)}mo`;
  return `${Math.floor(d / 365)}y`;
}

/** 950 → "950", 1_234 → "1.2k", 180_000 → "180k", 1_000_000 → "1M", 1_500_000 → "1.5M". */
export function formatTokens(n: number): string {
  if (n < 1000) return String(Math.round(n));
  if (n < 10_000) return `${trim1(n / 1000)}k`;
  if (n < 1_000_000) return `${Math.round(n / 1000)}k`;
  if (n < 10_000_000) return `${trim1(n / 1_000_000)}M`;
  return `${Math.round(n / 1_000_000)}M`;
}

function trim1(x: number): string {
  const s = (Math.round(x * 10) / 10).toFixed(1);
  return s.endsWith('.0') ? s.slice(0, -2) : s;
}

export function formatPercent(p: number | null | undefined): string {
  if (p == null || Number.isNaN(p)) return '';
  return `${Math.round(p)}%`;
}

export function contextPercent(s: SessionSummary): number | null {
  const c = s.context;
  if (!c) return null;
  if (c.percent != null) return c.percent;
  if (c.contextWindow) return (100 * c.usedTokens) / c.contextWindow;
  return null;
}

export function messagesLabel(n: number, exact = true): string {
  return `${n}${exact ? '' : '+'} ${n === 1 ? 'message' : 'messages'}`;
}

export function oneLine(text: string | null | undefined, max = 120): string {
  if (!text) return '';
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

export function sessionTitle(s: SessionSummary): string {
  return oneLine(s.title ?? s.firstPrompt, 80) || `${AGENT_LABELS[s.agent]} ${shortId(s.id)}`;
}

/** The tree item's description: `age · N msgs · ctx%` (and the tag). */
export function treeDescription(s: SessionSummary, now: number = Date.now()): string {
  const parts = [formatAge(s.lastModified, now), `${s.messageCount}${s.countsExact ? '' : '+'} msgs`];
  const pct = contextPercent(s);
  if (pct != null) parts.push(`${formatPercent(pct)} ctx`);
  if (s.tag) parts.push(`#${s.tag}`);
  return parts.filter(Boolean).join(' · ');
}

/** The detail line of quick picks: `agent · branch · age · messages · context %`. */
export function detailLine(s: SessionSummary, now: number = Date.now()): string {
  const parts = [
    AGENT_LABELS[s.agent],
    s.gitBranch ?? 'no branch',
    formatAge(s.lastModified, now),
    messagesLabel(s.messageCount, s.countsExact),
  ];
  const pct = contextPercent(s);
  if (pct != null) parts.push(`${formatPercent(pct)} context`);
  if (s.tag) parts.push(`#${s.tag}`);
  return parts.filter(Boolean).join(' · ');
}

export interface SessionPickItem {
  label: string;
  description: string;
  detail: string;
  session: SessionSummary;
}

/**
 * Quick pick items: label = title, description = the first prompt when it differs from the
 * title (so typing matches titles and first prompts), detail = agent · branch · age · … .
 */
export function pickItems(sessions: SessionSummary[], now: number = Date.now()): SessionPickItem[] {
  return sessions.map((s) => {
    const title = sessionTitle(s);
    const prompt = oneLine(s.firstPrompt, 100);
    return {
      label: title,
      description: prompt && prompt !== title ? prompt : '',
      detail: detailLine(s, now),
      session: s,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// The context gauge

export type GaugeLevel = 'normal' | 'warning' | 'error';

export interface Gauge {
  text: string;
  level: GaugeLevel;
  percent: number;
  usedTokens: number;
  contextWindow: number;
  autoCompactAt: number | null;
  model: string | null;
  source: WindowSource | null;
}

const SOURCE_LABELS: Record<WindowSource, string> = {
  recorded: 'recorded by the agent',
  modelTable: "the sidecar's model table",
  default: "the agent's documented default",
};

export function windowSourceLabel(s: WindowSource | null): string {
  return s ? SOURCE_LABELS[s] : 'unknown';
}

/**
 * `$(pulse) 68% · 180k/262k`; warning at `warnPercent`, error once the agent's auto-compact
 * point is reached. Null when nothing is known about the window.
 */
export function gaugeFromStatus(c: ContextStatus, warnPercent: number): Gauge {
  const percent = c.percent ?? (c.contextWindow ? (100 * c.usedTokens) / c.contextWindow : 0);
  let level: GaugeLevel = 'normal';
  if (c.autoCompactAt != null && c.usedTokens >= c.autoCompactAt) level = 'error';
  else if (percent >= warnPercent) level = 'warning';
  return {
    text: `$(pulse) ${formatPercent(percent)} · ${formatTokens(c.usedTokens)}/${formatTokens(c.contextWindow)}`,
    level,
    percent,
    usedTokens: c.usedTokens,
    contextWindow: c.contextWindow,
    autoCompactAt: c.autoCompactAt,
    model: c.model,
    source: c.source,
  };
}

/** The gauge from a session summary alone (before or without `sessions/context`). */
export function gaugeFromSummary(s: SessionSummary, warnPercent: number): Gauge | null {
  const c = s.context;
  if (!c || !c.contextWindow) return null;
  const g = gaugeFromStatus(
    {
      session: { agent: s.agent, id: s.id },
      usedTokens: c.usedTokens,
      contextWindow: c.contextWindow,
      percent: c.percent ?? (100 * c.usedTokens) / c.contextWindow,
      autoCompactAt: null,
      autoCompactPercent: null,
      model: s.model,
      source: 'default',
    },
    warnPercent,
  );
  return { ...g, source: null };
}

/** The session the gauge follows when none was picked: the newest on a current branch. */
export function defaultActiveSession(
  sessions: SessionSummary[],
  currentBranches: Iterable<string>,
): SessionSummary | undefined {
  const cur = new Set(currentBranches);
  const sorted = [...sessions].sort(compareNewestFirst);
  if (cur.size) return sorted.find((s) => s.gitBranch != null && cur.has(s.gitBranch));
  return sorted[0];
}

/** The fork-on-checkout question. */
export function forkPrompt(to: string, candidate: SessionSummary): string {
  return `Switched to ${to} — fork '${sessionTitle(candidate)}' for this branch?`;
}
