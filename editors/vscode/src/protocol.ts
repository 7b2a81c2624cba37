/**
 * Wire types of the session-sidecar protocol, mirrored from `sidecar/src/protocol.rs` (the one
 * source of truth). One declaration per request and notification; one interface per struct
 * with the same name and camelCase fields; one string union per enum.
 *
 * `test/unit/protocol-mirror.test.ts` parses protocol.rs and fails when a method, a struct
 * field, an enum value or an error code here differs from it.
 *
 * Conventions: `Option<T>` in a result is `T | null`; in params it is `field?: T | null`.
 * Times are ISO 8601 UTC strings.
 */
import { NotificationType, RequestType } from 'vscode-languageclient';

/** Bumped on any incompatible change of protocol.rs. */
export const PROTOCOL_VERSION = 1;

// ---------------------------------------------------------------------------------------------
// Errors

/** Stable error codes (`error.code`); `error.data.kind` carries the camelCase name. */
export const ErrorCodes = {
  InvalidParams: -32602,
  InternalError: -32603,
  RequestCancelled: -32800,
  SessionNotFound: 1001,
  AmbiguousSession: 1002,
  InvalidSessionId: 1003,
  InvalidCursor: 1004,
  StaleCursor: 1005,
  StoreUnreadable: 1006,
  TornLastLine: 1007,
  WriteFailed: 1008,
  AgentNotFound: 1009,
  CwdMissing: 1010,
  NotSupported: 1011,
  AgentFailed: 1012,
  AgentDisabled: 1013,
  TrashConflict: 1014,
  MessageNotFound: 1015,
  NoSession: 1016,
} as const;
export type ErrorCode = keyof typeof ErrorCodes;

/** `error.data` of every sidecar error. */
export interface ErrorData {
  kind: string;
}

// ---------------------------------------------------------------------------------------------
// initialize

export interface InitializationOptions {
  home?: string | null;
  agents?: Agent[] | null;
  storeRoots?: Partial<Record<Agent, string>>;
  agentPaths?: Partial<Record<Agent, string>>;
  workspace?: string | null;
  forkOnCheckout?: ForkOnCheckout | null;
  truncateBytes?: number | null;
  logContent?: boolean | null;
}

/** `capabilities.experimental.sessionSidecar` of the initialize result. */
export interface SidecarCapabilities {
  protocolVersion: number;
  version: string;
  methods: string[];
  notifications: string[];
  agents: Agent[];
}

/** `workspace/didChangeConfiguration`: `{settings: {sessionSidecar: SidecarSettings}}`. */
export interface SidecarSettings {
  forkOnCheckout?: ForkOnCheckout | null;
}

export type ForkOnCheckout = 'off' | 'ask' | 'auto';

// ---------------------------------------------------------------------------------------------
// Sessions

export type Agent = 'claude' | 'qwen' | 'codex' | 'gemini';
export const AGENTS: readonly Agent[] = ['claude', 'qwen', 'codex', 'gemini'];

/** `"agent:id"`, a full id, a unique prefix (≥ 8 characters), or `{agent, id}`. */
export type SessionRef = string | { agent: Agent; id: string };

export interface SessionParams {
  session: SessionRef;
}

export interface SessionSummary {
  id: string;
  agent: Agent;
  title: string | null;
  customTitle: string | null;
  firstPrompt: string | null;
  createdAt: string | null;
  lastModified: string;
  sizeBytes: number;
  cwd: string | null;
  gitBranch: string | null;
  tag: string | null;
  messageCount: number;
  countsExact: boolean;
  model: string | null;
  tokens: TokenTotals;
  context: ContextFill | null;
  forkedFrom: ForkedFrom | null;
  skippedLines: number;
  path: string;
}

export interface TokenTotals {
  input: number;
  output: number;
  cacheRead: number;
  cacheCreation: number;
}

export interface ContextFill {
  usedTokens: number;
  contextWindow: number | null;
  percent: number | null;
}

export interface ForkedFrom {
  sessionId: string;
  messageUuid: string | null;
}

export type Scope = 'workspace' | 'all';

export interface ListParams {
  scope?: Scope;
  agents?: Agent[] | null;
  branch?: string | null;
  query?: string | null;
  limit?: number | null;
  cursor?: string | null;
}

export interface ListResult {
  items: SessionSummary[];
  nextCursor: string | null;
}

export interface SessionKey {
  agent: Agent;
  id: string;
}

export interface ChangedParams {
  added: SessionSummary[];
  updated: SessionSummary[];
  removed: SessionKey[];
}

// ---------------------------------------------------------------------------------------------
// History

export interface HistoryParams {
  session: SessionRef;
  limit?: number | null;
  before?: string | null;
  after?: string | null;
  subagent?: string | null;
}

export interface HistoryPage {
  items: HistoryItem[];
  olderCursor: string | null;
  newerCursor: string | null;
  hasOlder: boolean;
  hasNewer: boolean;
}

export type Role = 'user' | 'assistant' | 'system' | 'tool';

export interface HistoryItem {
  id: string;
  parentId: string | null;
  role: Role;
  timestamp: string | null;
  model: string | null;
  usage: Usage | null;
  content: ContentBlock[];
  truncated: boolean;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
}

/** Internally tagged by `type`. */
export type ContentBlock =
  | ContentBlockText
  | ContentBlockThinking
  | ContentBlockToolUse
  | ContentBlockToolResult
  | ContentBlockImage
  | ContentBlockCompaction;

export interface ContentBlockText {
  type: 'text';
  text: string;
}
export interface ContentBlockThinking {
  type: 'thinking';
  text: string;
}
export interface ContentBlockToolUse {
  type: 'toolUse';
  id: string;
  name: string;
  input: unknown;
}
export interface ContentBlockToolResult {
  type: 'toolResult';
  toolUseId: string;
  content: string;
  isError: boolean;
}
export interface ContentBlockImage {
  type: 'image';
  mediaType: string | null;
}
export interface ContentBlockCompaction {
  type: 'compaction';
  trigger: string | null;
  preTokens: number | null;
  postTokens: number | null;
}

export interface MessageParams {
  session: SessionRef;
  id: string;
  subagent?: string | null;
}

export interface SubscribeParams {
  session: SessionRef;
  after?: string | null;
}

export interface SubscribeResult {
  subscription: string;
}

export interface UnsubscribeParams {
  subscription: string;
}

// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface Empty {}

export interface AppendedParams {
  subscription: string;
  session: SessionKey;
  items: HistoryItem[];
  newerCursor: string | null;
}

export interface SubagentSummary {
  id: string;
  agentType: string | null;
  description: string | null;
  toolUseId: string | null;
  messageCount: number;
  path: string;
}

export interface SubagentsResult {
  items: SubagentSummary[];
}

// ---------------------------------------------------------------------------------------------
// Resume, continue, mutations

export interface ResumeParams {
  session: SessionRef;
  fork?: boolean;
  prompt?: string | null;
  model?: string | null;
  permissionMode?: string | null;
}

/** What to run: an argv array (never a shell string), its cwd and extra environment. */
export interface LaunchCommand {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
}

export interface ContinueParams {
  branch?: string | null;
  agent?: Agent | null;
}

export interface ContinueResult {
  session: SessionSummary;
  argv: string[];
  cwd: string;
  env: Record<string, string>;
}

export interface ForkParams {
  session: SessionRef;
  upToMessage?: string | null;
  title?: string | null;
  branch?: string | null;
}

export interface SessionResult {
  session: SessionSummary;
}

export interface RenameParams {
  session: SessionRef;
  title: string;
}

export interface TagParams {
  session: SessionRef;
  tag: string | null;
}

export interface TrashEntry {
  id: string;
  agent: Agent;
  title: string | null;
  deletedAt: string;
  originalPath: string;
}

export interface TrashResult {
  trashed: TrashEntry;
}

export interface TrashListResult {
  items: TrashEntry[];
}

// ---------------------------------------------------------------------------------------------
// Context and compression

export type WindowSource = 'recorded' | 'modelTable' | 'default';

export interface ContextStatus {
  session: SessionKey;
  usedTokens: number;
  contextWindow: number;
  percent: number;
  autoCompactAt: number | null;
  autoCompactPercent: number | null;
  model: string | null;
  source: WindowSource;
}

/** Flattens `ContextStatus`. */
export type ContextUsageParams = ContextStatus;

export type CompressStrategy = 'agent' | 'trim';

export interface CompressParams {
  session: SessionRef;
  strategy: CompressStrategy;
  keepTurns?: number | null;
  minBytes?: number | null;
  workDoneToken?: string | number | null;
}

export interface CompressResult {
  session: SessionSummary;
  tokensBefore: number;
  tokensAfter: number;
  estimated: boolean;
}

// ---------------------------------------------------------------------------------------------
// Git branches

export interface BranchChangedParams {
  workspace: string;
  from: string | null;
  to: string | null;
  detached: boolean;
  candidate: SessionSummary | null;
  forked: SessionSummary | null;
}

// ---------------------------------------------------------------------------------------------
// Requests (client → server), in protocol.rs order

export const ListSessions = new RequestType<ListParams, ListResult, void>('sessions/list');
export const SessionInfo = new RequestType<SessionParams, SessionSummary, void>('sessions/info');
export const History = new RequestType<HistoryParams, HistoryPage, void>('sessions/history');
export const Message = new RequestType<MessageParams, HistoryItem, void>('sessions/message');
export const Subscribe = new RequestType<SubscribeParams, SubscribeResult, void>('sessions/subscribe');
export const Unsubscribe = new RequestType<UnsubscribeParams, Empty, void>('sessions/unsubscribe');
export const Subagents = new RequestType<SessionParams, SubagentsResult, void>('sessions/subagents');
export const Resume = new RequestType<ResumeParams, LaunchCommand, void>('sessions/resume');
export const Continue = new RequestType<ContinueParams, ContinueResult, void>('sessions/continue');
export const Fork = new RequestType<ForkParams, SessionResult, void>('sessions/fork');
export const Rename = new RequestType<RenameParams, SessionResult, void>('sessions/rename');
export const Tag = new RequestType<TagParams, SessionResult, void>('sessions/tag');
export const Delete = new RequestType<SessionParams, TrashResult, void>('sessions/delete');
export const Restore = new RequestType<SessionParams, SessionResult, void>('sessions/restore');
export const Trash = new RequestType<Empty, TrashListResult, void>('sessions/trash');
export const Context = new RequestType<SessionParams, ContextStatus, void>('sessions/context');
export const Compress = new RequestType<CompressParams, CompressResult, void>('sessions/compress');

// Notifications (server → client)

export const SessionsChanged = new NotificationType<ChangedParams>('sessions/changed');
export const Appended = new NotificationType<AppendedParams>('sessions/appended');
export const ContextUsage = new NotificationType<ContextUsageParams>('sessions/contextUsage');
export const BranchChanged = new NotificationType<BranchChangedParams>('sessions/branchChanged');

export const REQUESTS = {
  ListSessions,
  SessionInfo,
  History,
  Message,
  Subscribe,
  Unsubscribe,
  Subagents,
  Resume,
  Continue,
  Fork,
  Rename,
  Tag,
  Delete,
  Restore,
  Trash,
  Context,
  Compress,
} as const;

export const NOTIFICATIONS = { SessionsChanged, Appended, ContextUsage, BranchChanged } as const;

/** A session's stable key within one sidecar. */
export function sessionKey(s: { agent: Agent; id: string }): string {
  return `${s.agent}:${s.id}`;
}
