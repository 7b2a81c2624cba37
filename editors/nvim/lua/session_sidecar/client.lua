--- The sidecar connection: one `vim.lsp` client per workspace root, requests that wait for
--- `initialize`, the notification fan-out, and the per-root session cache that the picker,
--- sidebar and statusline read (kept live from `sessions/changed`).
local protocol = require('session_sidecar.protocol')
local config = require('session_sidecar.config')

local M = {}

local NAME = 'session_sidecar'
local has_011 = vim.fn.has('nvim-0.11') == 1

---@class SessionSidecarState
---@field client_id integer
---@field root string
---@field ready boolean initialize answered
---@field caps table? capabilities.experimental.sessionSidecar
---@field version string? serverInfo.version
---@field sessions table<string, table> SessionSummary by "agent:id"
---@field listed boolean the first sessions/list arrived
---@field context table? the latest ContextStatus (sessions/contextUsage or seeded)
---@field branch string? the workspace's current git branch
---@field notifications table<string, integer> count per notification method
---@field last_notification number? vim.uv.now() of the last notification
---@field queue table[] requests waiting for initialize

--- State per client id.
---@type table<integer, SessionSidecarState>
M.states = {}

local listeners = {}

--- Subscribe to an event: 'ready', 'sessions', 'appended', 'context', 'branch', 'exit'.
--- `fn(state, payload)`; returns a function that removes the listener.
function M.on(event, fn)
  listeners[event] = listeners[event] or {}
  table.insert(listeners[event], fn)
  return function()
    for i, f in ipairs(listeners[event] or {}) do
      if f == fn then
        table.remove(listeners[event], i)
        return
      end
    end
  end
end

local function emit(event, state, payload)
  for _, fn in ipairs(vim.list_slice(listeners[event] or {})) do
    local ok, err = pcall(fn, state, payload)
    if not ok then
      vim.notify(('session-sidecar: %s listener failed: %s'):format(event, err), vim.log.levels.ERROR)
    end
  end
end

function M.notify(msg, level)
  vim.notify('session-sidecar: ' .. msg, level or vim.log.levels.INFO, { title = 'session-sidecar' })
end

--- A one-line, human message for a JSON-RPC error (or a transport failure string).
function M.error_message(err)
  if type(err) ~= 'table' then
    return tostring(err)
  end
  local kind = type(err.data) == 'table' and err.data.kind or protocol.error_names[err.code]
  local msg = err.message or vim.inspect(err)
  if kind == 'agentNotFound' then
    msg = msg .. " (setup{ agent_paths = { <agent> = '/path/to/cli' } })"
  end
  return msg
end

--- The error's stable name (`error.data.kind`), or nil.
function M.error_kind(err)
  if type(err) ~= 'table' then
    return nil
  end
  return type(err.data) == 'table' and err.data.kind or protocol.error_names[err.code]
end

-- ---------------------------------------------------------------------------------------------
-- Workspace root and git branch

local function git_dir(dir)
  local dotgit = dir .. '/.git'
  local st = vim.uv.fs_stat(dotgit)
  if not st then
    return nil
  end
  if st.type == 'directory' then
    return dotgit
  end
  local f = io.open(dotgit, 'r')
  if not f then
    return nil
  end
  local text = f:read('*a')
  f:close()
  local target = text:match('gitdir:%s*([^\r\n]+)')
  if not target then
    return nil
  end
  if target:sub(1, 1) ~= '/' then
    target = dir .. '/' .. target
  end
  return target
end

--- The git branch checked out in `dir` (read from HEAD, like the sidecar), nil when detached
--- or not a repository.
function M.git_branch(dir)
  local d = dir
  while d and d ~= '' do
    local g = git_dir(d)
    if g then
      local f = io.open(g .. '/HEAD', 'r')
      if not f then
        return nil
      end
      local head = f:read('*l') or ''
      f:close()
      return head:match('^ref: refs/heads/(.+)$')
    end
    local parent = vim.fs.dirname(d)
    if parent == d then
      break
    end
    d = parent
  end
  return nil
end

local root_cache = {}

--- The workspace root for a buffer: the `workspace` option, else the git root of the buffer's
--- file, else the git root of the working directory, else the working directory.
function M.root(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local ws = config.options.workspace
  if type(ws) == 'function' then
    local r = ws(bufnr)
    if r then
      return vim.fs.normalize(r)
    end
  elseif type(ws) == 'string' and ws ~= '' then
    return vim.fs.normalize(ws)
  end
  local cwd = vim.fn.getcwd()
  local name = vim.api.nvim_buf_get_name(bufnr)
  local key = name .. '\0' .. cwd
  if root_cache[key] then
    return root_cache[key]
  end
  local root
  if name ~= '' and vim.bo[bufnr].buftype == '' and not name:match('^%w[%w+.-]*://') then
    root = vim.fs.root(name, '.git')
  end
  root = root or vim.fs.root(cwd, '.git') or cwd
  root = vim.fs.normalize(root)
  root_cache[key] = root
  return root
end

-- ---------------------------------------------------------------------------------------------
-- Clients

local function client_request(client, method, params, handler)
  if has_011 then
    return client:request(method, params, handler)
  end
  return client.request(method, params, handler)
end

local function client_by_id(id)
  return vim.lsp.get_client_by_id(id)
end

local function is_stopped(c)
  if has_011 then
    return c:is_stopped()
  end
  return c.is_stopped()
end

local agent_rank = {}
for i, a in ipairs(protocol.agents) do
  agent_rank[a] = i
end

local function state_for_ctx(ctx)
  return ctx and M.states[ctx.client_id]
end

function M.key(s)
  return s.agent .. ':' .. s.id
end

--- Whether a summary belongs to the state's workspace. Only needed once the client listed
--- `scope: "all"` (the sidecar then reports changes of every project): a session we already
--- hold, or one recorded under the root.
local function in_workspace(state, s)
  if not state.saw_all or state.sessions[M.key(s)] then
    return true
  end
  local cwd = type(s.cwd) == 'string' and s.cwd or nil
  return cwd ~= nil and (cwd == state.root or vim.startswith(cwd, state.root .. '/'))
end

--- Upsert summaries into the cache; removals by SessionKey. While a full list is in flight the
--- change is also kept, to be applied again over that list's items (see M.list).
local function apply_changes(state, p)
  if state.since_list then
    table.insert(state.since_list, p)
  end
  for _, s in ipairs(p.added or {}) do
    if in_workspace(state, s) then
      state.sessions[M.key(s)] = s
    end
  end
  for _, s in ipairs(p.updated or {}) do
    if in_workspace(state, s) then
      state.sessions[M.key(s)] = s
    end
  end
  for _, k in ipairs(p.removed or {}) do
    state.sessions[M.key(k)] = nil
  end
end

local handlers = {}

--- The workspace's active session: the one most recently written.
function M.newest(state)
  local best
  for _, s in pairs(state.sessions) do
    if not best or s.lastModified > best.lastModified then
      best = s
    end
  end
  return best
end

local function set_context(state, status)
  state.context = status
  emit('context', state, status)
end

--- Keep the gauge on the active session (the newest in the cache). Pushes
--- (sessions/contextUsage) are the normal path; a push that arrived while the cache still had its
--- session as older is held and used once the change notice makes it the newest. When no push
--- comes within the protocol's 300 ms (+ margin), one sessions/context makes it up.
local CONTEXT_GRACE_MS = 600
local PUSH_LEAD_MS = 150
function M.follow_active(state, immediate)
  local n = M.newest(state)
  if not n then
    return
  end
  local key = M.key(n)
  local cur = type(state.context) == 'table' and type(state.context.session) == 'table' and state.context.session
  local same = cur and cur.agent == n.agent and cur.id == n.id
  if n.context == nil or n.context == vim.NIL then
    -- The active session has no model turn yet: no gauge rather than another session's.
    if state.context ~= nil and not same then
      state.context = nil
      emit('context', state, nil)
    end
    return
  end
  local stamp = key .. '@' .. n.lastModified
  if state.context_stamp == stamp then
    return
  end
  local now = vim.uv.now()
  local held = state.held[key]
  if held and held.at >= now - CONTEXT_GRACE_MS then
    state.held[key] = nil
    state.context_stamp = stamp
    state.pushed[key] = held.at
    set_context(state, held.params)
    return
  end
  local asked_at = now
  local function fetch()
    if state.context_stamp == stamp then
      return
    end
    local still = M.newest(state)
    if not still or M.key(still) ~= key then
      return -- another session became the newest; its own change notice follows it
    end
    -- A push for it right before (the same write: the sidecar spaces its pushes 300 ms apart)
    -- or after the change notice: nothing to make up.
    if (state.pushed[key] or -math.huge) >= asked_at - PUSH_LEAD_MS then
      state.context_stamp = stamp
      return
    end
    state.context_stamp = stamp
    M.request_state(state, protocol.methods.context, { session = key }, function(err, status)
      local now_newest = M.newest(state)
      if not now_newest or M.key(now_newest) ~= key then
        return
      end
      if not err and type(status) == 'table' then
        set_context(state, status)
      elseif not same then
        -- A sidecar without sessions/context: the summary's fill.
        local c = n.context
        set_context(state, {
          session = { agent = n.agent, id = n.id },
          usedTokens = c.usedTokens,
          contextWindow = c.contextWindow,
          percent = c.percent,
          model = n.model,
        })
      end
    end)
  end
  if immediate then
    fetch()
  else
    vim.defer_fn(fetch, CONTEXT_GRACE_MS)
  end
end

handlers[protocol.notifications.changed] = function(_, params, ctx)
  local state = state_for_ctx(ctx)
  if not state or type(params) ~= 'table' then
    return
  end
  apply_changes(state, params)
  emit('sessions', state, params)
  if state.listed then
    M.follow_active(state)
  end
end

handlers[protocol.notifications.appended] = function(_, params, ctx)
  local state = state_for_ctx(ctx)
  if state and type(params) == 'table' then
    emit('appended', state, params)
  end
end

handlers[protocol.notifications.context_usage] = function(_, params, ctx)
  local state = state_for_ctx(ctx)
  if not state or type(params) ~= 'table' or type(params.session) ~= 'table' then
    return
  end
  -- Only the active session's usage moves the gauge: a push for a session the cache knows to be
  -- older than the newest one is not about the active session.
  local s = state.sessions[M.key(params.session)]
  local n = M.newest(state)
  local key = M.key(params.session)
  if s and n and s.lastModified < n.lastModified then
    -- Not the newest as far as the cache knows: keep it for the change notice that may follow.
    state.held[key] = { params = params, at = vim.uv.now() }
    return
  end
  state.pushed[key] = vim.uv.now()
  set_context(state, params)
end

handlers[protocol.notifications.branch_changed] = function(_, params, ctx)
  local state = state_for_ctx(ctx)
  if state and type(params) == 'table' then
    state.branch = params.to ~= vim.NIL and params.to or nil
    emit('branch', state, params)
  end
end

-- Count every notification (checkhealth shows the live feed is flowing).
local counted = {}
for method, fn in pairs(handlers) do
  counted[method] = function(err, params, ctx)
    local state = state_for_ctx(ctx)
    if state then
      state.notifications[method] = (state.notifications[method] or 0) + 1
      state.last_notification = vim.uv.now()
    end
    return fn(err, params, ctx)
  end
end

--- The handler for a notification method (tests and the branch prompt call it directly).
function M.handler(method)
  return counted[method]
end

local function send(state, method, params, cb)
  local client = client_by_id(state.client_id)
  if not client or is_stopped(client) then
    cb('the sidecar is not running', nil)
    return
  end
  local ok = client_request(client, method, params, function(err, result)
    cb(err, result)
  end)
  if not ok then
    cb('the sidecar is not running', nil)
  end
end

local function on_ready(state)
  -- Fill the session cache, then point the context gauge at the newest session.
  M.list(state, {}, function(err)
    if err then
      return
    end
    state.listed = true
    emit('sessions', state, { added = {}, updated = {}, removed = {}, reset = true })
    M.follow_active(state, true)
  end)
end

--- Start (or reuse) the sidecar for `root`. Returns the state, or nil and an error message.
function M.ensure(root)
  root = root or M.root()
  for _, state in pairs(M.states) do
    if state.root == root then
      local c = client_by_id(state.client_id)
      if c and not is_stopped(c) then
        return state
      end
    end
  end
  local path, perr = config.server_path()
  if not path then
    return nil, perr
  end
  local cmd = { path }
  vim.list_extend(cmd, config.options.server_args or {})
  local state -- filled once the id is known
  local lsp_config = {
    name = NAME,
    cmd = cmd,
    cmd_env = config.options.server_env,
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = vim.fs.basename(root) } },
    init_options = config.init_options(root),
    handlers = counted,
    on_init = function(client, result)
      local st = M.states[client.id]
      if not st then
        return
      end
      st.ready = true
      local caps = result and result.capabilities and result.capabilities.experimental
      st.caps = caps and caps.sessionSidecar or nil
      st.version = result and result.serverInfo and result.serverInfo.version or nil
      local queue = st.queue
      st.queue = {}
      for _, q in ipairs(queue) do
        send(st, q.method, q.params, q.cb)
      end
      emit('ready', st)
      on_ready(st)
    end,
    on_exit = function(code, signal, client_id)
      vim.schedule(function()
        local st = M.states[client_id]
        M.states[client_id] = nil
        if st then
          for _, q in ipairs(st.queue) do
            q.cb(('the sidecar exited (code %s)'):format(code), nil)
          end
          emit('exit', st, { code = code, signal = signal })
        end
      end)
    end,
  }
  local id
  if has_011 then
    id = vim.lsp.start(lsp_config, {
      attach = false,
      reuse_client = function(c, cfg)
        return c.name == NAME and c.root_dir == cfg.root_dir
      end,
    })
  else
    id = vim.lsp.start_client(lsp_config)
  end
  if not id then
    return nil, 'could not start ' .. path
  end
  if M.states[id] then
    return M.states[id]
  end
  state = {
    client_id = id,
    root = root,
    ready = false,
    sessions = {},
    listed = false,
    context = nil,
    branch = M.git_branch(root),
    notifications = {},
    pushed = {},
    held = {},
    queue = {},
  }
  M.states[id] = state
  -- A reused client that is already initialized.
  local c = client_by_id(id)
  if c and c.initialized then
    state.ready = true
  end
  return state
end

--- The state of a running sidecar for `root` (never starts one).
function M.get(root)
  root = root or M.root()
  for _, state in pairs(M.states) do
    if state.root == root then
      return state
    end
  end
  return nil
end

--- Send a request on a given state; `cb(err, result)` runs on the main loop.
function M.request_state(state, method, params, cb)
  cb = cb or function() end
  local wrapped = vim.schedule_wrap(cb)
  if not state.ready then
    table.insert(state.queue, { method = method, params = params, cb = wrapped })
    return
  end
  send(state, method, params, wrapped)
end

--- Send a request to the sidecar of the current workspace root (started when needed).
function M.request(method, params, cb, root)
  local state, err = M.ensure(root)
  if not state then
    vim.schedule(function()
      cb(err, nil)
    end)
    return nil
  end
  M.request_state(state, method, params, cb)
  return state
end

--- Every workspace session (all pages of sessions/list); refreshes the cache.
function M.list(state, params, cb)
  local items = {}
  if params and params.scope == 'all' then
    state.saw_all = true
  end
  -- A list of every workspace session replaces the cache. A sessions/changed can arrive before
  -- its response and describe a newer state than its items (the exact counts of a cold list, a
  -- write meanwhile): those changes are applied again over the items.
  local replaces = not params or (params.scope ~= 'all' and not params.query and not params.branch and not params.agents)
  local since = {}
  if replaces then
    state.since_list = since
  end
  local function page(cursor)
    local p = vim.tbl_extend('force', { limit = 1000 }, params or {})
    p.cursor = cursor
    M.request_state(state, protocol.methods.list, p, function(err, res)
      if err then
        if state.since_list == since then
          state.since_list = nil
        end
        cb(err, nil)
        return
      end
      vim.list_extend(items, res.items or {})
      if res.nextCursor and res.nextCursor ~= vim.NIL then
        page(res.nextCursor)
        return
      end
      if replaces and state.since_list == since then
        state.since_list = nil
        state.sessions = {}
        for _, s in ipairs(items) do
          state.sessions[M.key(s)] = s
        end
        for _, p in ipairs(since) do
          apply_changes(state, p)
        end
      end
      cb(nil, items)
    end)
  end
  page(nil)
end

--- Cached sessions of a state, newest first (the sidecar's order: lastModified, agent, id).
function M.sorted(state)
  local out = {}
  for _, s in pairs(state.sessions) do
    table.insert(out, s)
  end
  table.sort(out, function(a, b)
    if a.lastModified ~= b.lastModified then
      return a.lastModified > b.lastModified
    end
    if a.agent ~= b.agent then
      return (agent_rank[a.agent] or 9) < (agent_rank[b.agent] or 9)
    end
    return a.id < b.id
  end)
  return out
end

--- Tell every running sidecar the settings it takes at run time (forkOnCheckout), through
--- `workspace/didChangeConfiguration`.
function M.push_settings()
  local settings = { sessionSidecar = { forkOnCheckout = config.options.fork_on_checkout } }
  for id, state in pairs(M.states) do
    local c = client_by_id(id)
    if c and state.ready and not is_stopped(c) then
      if has_011 then
        c:notify('workspace/didChangeConfiguration', { settings = settings })
      else
        c.notify('workspace/didChangeConfiguration', { settings = settings })
      end
    end
  end
end

--- Stop every sidecar this plugin started.
function M.stop_all()
  for id in pairs(M.states) do
    local c = client_by_id(id)
    if c then
      if has_011 then
        c:stop()
      else
        c.stop()
      end
    end
  end
end

return M
