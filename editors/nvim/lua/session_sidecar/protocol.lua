--- Wire names of the session-sidecar protocol, mirrored from sidecar/src/protocol.rs (the one
--- source of truth). tests/test_protocol.lua parses protocol.rs and fails when this file and it
--- disagree, so keep both in step.
local M = {}

--- Bumped by the sidecar on any incompatible change (`PROTOCOL_VERSION`).
M.PROTOCOL_VERSION = 1

--- Request methods, in documentation order (`REQUEST_METHODS`).
M.methods = {
  list = 'sessions/list',
  info = 'sessions/info',
  history = 'sessions/history',
  message = 'sessions/message',
  subscribe = 'sessions/subscribe',
  unsubscribe = 'sessions/unsubscribe',
  subagents = 'sessions/subagents',
  resume = 'sessions/resume',
  continue = 'sessions/continue',
  fork = 'sessions/fork',
  rename = 'sessions/rename',
  tag = 'sessions/tag',
  delete = 'sessions/delete',
  restore = 'sessions/restore',
  trash = 'sessions/trash',
  context = 'sessions/context',
  compress = 'sessions/compress',
}

--- Server-to-client notifications (`NOTIFICATION_METHODS`).
M.notifications = {
  changed = 'sessions/changed',
  appended = 'sessions/appended',
  context_usage = 'sessions/contextUsage',
  branch_changed = 'sessions/branchChanged',
}

--- Error codes by their stable name (`error.data.kind`), as `ErrorCode::code()` numbers them.
M.errors = {
  invalidParams = -32602,
  internalError = -32603,
  requestCancelled = -32800,
  sessionNotFound = 1001,
  ambiguousSession = 1002,
  invalidSessionId = 1003,
  invalidCursor = 1004,
  staleCursor = 1005,
  storeUnreadable = 1006,
  tornLastLine = 1007,
  writeFailed = 1008,
  agentNotFound = 1009,
  cwdMissing = 1010,
  notSupported = 1011,
  agentFailed = 1012,
  agentDisabled = 1013,
  trashConflict = 1014,
  messageNotFound = 1015,
  noSession = 1016,
}

--- Error name by code.
M.error_names = {}
for name, code in pairs(M.errors) do
  M.error_names[code] = name
end

--- `initializationOptions` fields (`InitializationOptions`, camelCase on the wire).
M.init_options = {
  'home',
  'agents',
  'storeRoots',
  'agentPaths',
  'workspace',
  'forkOnCheckout',
  'truncateBytes',
  'logContent',
}

--- `Agent` values.
M.agents = { 'claude', 'qwen', 'codex', 'gemini' }

--- `ForkOnCheckout` values.
M.fork_on_checkout = { 'off', 'ask', 'auto' }

--- `CompressStrategy` values.
M.compress_strategies = { 'agent', 'trim' }

--- `ContentBlock` tags (`type`).
M.content_blocks = { 'text', 'thinking', 'toolUse', 'toolResult', 'image', 'compaction' }

--- `Role` values.
M.roles = { 'user', 'assistant', 'system', 'tool' }

--- The branch value that means "the workspace's current branch" (list/continue).
M.CURRENT_BRANCH = '@current'

return M
