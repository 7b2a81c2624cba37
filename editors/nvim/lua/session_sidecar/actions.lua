--- Session actions: resume, continue, fork, compress, rename, delete, restore. Each takes a
--- session reference (a SessionSummary, "agent:id", a full id or a unique 8+ char prefix; nil
--- asks through the picker) and an optional `done(err, result)` callback. Every success also
--- fires `User SessionSidecarAction` with `data = { action = name, result = result }`, every
--- failure `User SessionSidecarActionFailed` with `data = { action, error, kind, message }`.
local client = require('session_sidecar.client')
local protocol = require('session_sidecar.protocol')
local format = require('session_sidecar.format')

local M = {}
local m = protocol.methods

--- "agent:id" of a summary, or the trimmed text the user typed.
function M.ref(session)
  if type(session) == 'table' then
    return client.key(session)
  end
  if type(session) == 'string' then
    local s = vim.trim(session)
    return s ~= '' and s or nil
  end
  return nil
end

local function fire(action, result)
  vim.api.nvim_exec_autocmds('User', {
    pattern = 'SessionSidecarAction',
    modeline = false,
    data = { action = action, result = result },
  })
end

local function fail(action, err, done)
  client.notify(('%s failed: %s'):format(action, client.error_message(err)), vim.log.levels.ERROR)
  vim.api.nvim_exec_autocmds('User', {
    pattern = 'SessionSidecarActionFailed',
    modeline = false,
    data = { action = action, error = err, kind = client.error_kind(err), message = client.error_message(err) },
  })
  if done then
    done(err, nil)
  end
end

--- Put a summary the sidecar returned into the cache right away (sessions/changed follows).
local function remember(summary)
  if type(summary) ~= 'table' or not summary.id then
    return
  end
  local state = client.get()
  if state then
    state.sessions[client.key(summary)] = summary
  end
end

--- Call `fn(ref)` with the given session, or with one picked through vim.ui.select.
function M.with_session(session, prompt, fn)
  local ref = M.ref(session)
  if ref then
    fn(ref, type(session) == 'table' and session or nil)
    return
  end
  require('session_sidecar.picker').pick({ prompt = prompt }, function(s)
    if s then
      fn(client.key(s), s)
    end
  end)
end

local function cached(ref)
  local state = client.get()
  if not state then
    return nil
  end
  if state.sessions[ref] then
    return state.sessions[ref]
  end
  for key, s in pairs(state.sessions) do
    if s.id == ref or (#ref >= 8 and vim.startswith(s.id, ref)) or vim.startswith(key, ref) then
      return s
    end
  end
  return nil
end
M.cached = cached

--- sessions/resume, then a terminal split running the argv.
--- opts: { fork = bool, prompt = string, model = string, permission_mode = string }
function M.resume(session, opts, done)
  opts = opts or {}
  M.with_session(session, 'Resume session', function(ref, summary)
    local params = {
      session = ref,
      fork = opts.fork or false,
      prompt = opts.prompt,
      model = opts.model,
      permissionMode = opts.permission_mode,
    }
    client.request(m.resume, params, function(err, cmd)
      if err then
        return fail('resume', err, done)
      end
      local s = summary or cached(ref)
      local buf, terr = require('session_sidecar.terminal').open(cmd, {
        title = s and format.title(s) or ref,
        insert = opts.insert,
      })
      if not buf then
        return fail('resume', terr, done)
      end
      fire('resume', cmd)
      if done then
        done(nil, cmd, buf)
      end
    end)
  end)
end

--- sessions/continue for the current branch (`opts.any_branch` drops the branch filter).
function M.continue(opts, done)
  opts = opts or {}
  local params = {}
  if not opts.any_branch then
    params.branch = protocol.CURRENT_BRANCH
  end
  if opts.agent then
    params.agent = opts.agent
  end
  client.request(m.continue, params, function(err, res)
    if err then
      if client.error_kind(err) == 'noSession' and not opts.any_branch then
        client.notify(
          'no session on the current branch (:SessionContinue! continues the latest of any branch)',
          vim.log.levels.WARN
        )
        if done then
          done(err, nil)
        end
        return
      end
      return fail('continue', err, done)
    end
    local buf, terr = require('session_sidecar.terminal').open(res, {
      title = res.session and format.title(res.session) or 'continue',
      insert = opts.insert,
    })
    if not buf then
      return fail('continue', terr, done)
    end
    fire('continue', res)
    if done then
      done(nil, res, buf)
    end
  end)
end

--- sessions/fork. opts: { up_to = message id, title = string, branch = string,
--- resume = bool (open the fork in a terminal afterwards) }
function M.fork(session, opts, done)
  opts = opts or {}
  M.with_session(session, 'Fork session', function(ref)
    local params = { session = ref, upToMessage = opts.up_to, title = opts.title, branch = opts.branch }
    local function req(method, p, cb)
      if opts.state then
        return client.request_state(opts.state, method, p, cb)
      end
      return client.request(method, p, cb)
    end
    req(m.fork, params, function(err, res)
      if err then
        return fail('fork', err, done)
      end
      remember(res.session)
      client.notify(('forked into "%s" (%s)'):format(format.title(res.session), client.key(res.session)))
      fire('fork', res)
      if opts.resume then
        M.resume(res.session, {}, function(rerr)
          if done then
            done(rerr, res)
          end
        end)
        return
      end
      if done then
        done(nil, res)
      end
    end)
  end)
end

local strategies = {
  { id = 'trim', label = 'trim: a new, smaller fork without old tool output (no model call)' },
  { id = 'agent', label = "agent: the agent's own compaction (/compact, /compress), in place" },
}

--- Agents whose own compaction can run headless (the others only trim).
local agent_compaction = { claude = true, qwen = true, codex = true }

--- sessions/compress; asks for the strategy when `strategy` is nil.
function M.compress(session, strategy, done)
  M.with_session(session, 'Compress session', function(ref, sess)
    local known = sess or cached(ref)
    local agent = known and known.agent or ref:match('^(%l+):')
    local function run(strat)
      client.notify(('compressing (%s)…'):format(strat))
      local params = { session = ref, strategy = strat, workDoneToken = 'session-sidecar-compress-' .. vim.uv.hrtime() }
      client.request(m.compress, params, function(err, res)
        if err then
          return fail('compress', err, done)
        end
        remember(res.session)
        client.notify(
          ('compressed "%s": %s → %s tokens%s'):format(
            format.title(res.session),
            format.tokens(res.tokensBefore),
            format.tokens(res.tokensAfter),
            res.estimated and ' (estimated)' or ''
          )
        )
        fire('compress', res)
        if done then
          done(nil, res)
        end
      end)
    end
    if strategy then
      if not vim.tbl_contains(protocol.compress_strategies, strategy) then
        return fail('compress', ('unknown strategy %q (trim or agent)'):format(strategy), done)
      end
      return run(strategy)
    end
    if agent and not agent_compaction[agent] then
      -- Gemini has no headless compaction: trimming is the only way.
      return run('trim')
    end
    vim.ui.select(strategies, {
      prompt = 'Compress how?',
      kind = 'session_sidecar.compress',
      format_item = function(i)
        return i.label
      end,
    }, function(choice)
      if choice then
        run(choice.id)
      end
    end)
  end)
end

--- sessions/rename; asks for the title when `title` is nil.
function M.rename(session, title, done)
  M.with_session(session, 'Rename session', function(ref, summary)
    local function run(t)
      if not t or vim.trim(t) == '' then
        return
      end
      client.request(m.rename, { session = ref, title = t }, function(err, res)
        if err then
          return fail('rename', err, done)
        end
        remember(res.session)
        client.notify(('renamed to "%s"'):format(format.title(res.session)))
        fire('rename', res)
        if done then
          done(nil, res)
        end
      end)
    end
    if title then
      return run(title)
    end
    local s = summary or cached(ref)
    vim.ui.input({ prompt = 'New title: ', default = s and format.title(s) or '' }, run)
  end)
end

--- sessions/delete (into the sidecar's trash). opts.confirm (default true) asks first.
function M.delete(session, opts, done)
  opts = opts or {}
  M.with_session(session, 'Delete session', function(ref, summary)
    local function run()
      client.request(m.delete, { session = ref }, function(err, res)
        if err then
          return fail('delete', err, done)
        end
        local t = res.trashed or {}
        local state = client.get()
        if state and t.agent and t.id then
          state.sessions[t.agent .. ':' .. t.id] = nil
        end
        M.last_deleted = t.agent and (t.agent .. ':' .. t.id) or nil
        client.notify(
          ('moved "%s" to the trash (:SessionRestore %s to undo)'):format(
            format.null(t.title) and t.id or t.title,
            M.last_deleted or ref
          )
        )
        fire('delete', res)
        if done then
          done(nil, res)
        end
      end)
    end
    if opts.confirm == false then
      return run()
    end
    local s = summary or cached(ref)
    vim.ui.select({ 'Move to trash', 'Cancel' }, {
      prompt = ('Delete "%s"?'):format(s and format.title(s) or ref),
      kind = 'session_sidecar.confirm',
    }, function(choice)
      if choice == 'Move to trash' then
        run()
      end
    end)
  end)
end

--- sessions/restore; with no session, picks from sessions/trash.
function M.restore(session, done)
  local function run(ref)
    client.request(m.restore, { session = ref }, function(err, res)
      if err then
        return fail('restore', err, done)
      end
      remember(res.session)
      client.notify(('restored "%s"'):format(format.title(res.session)))
      fire('restore', res)
      if done then
        done(nil, res)
      end
    end)
  end
  local ref = M.ref(session)
  if ref then
    return run(ref)
  end
  client.request(m.trash, vim.empty_dict(), function(err, res)
    if err then
      return fail('restore', err, done)
    end
    local items = res.items or {}
    if #items == 0 then
      client.notify('the trash is empty')
      return
    end
    vim.ui.select(items, {
      prompt = 'Restore session',
      kind = 'session_sidecar.trash',
      format_item = function(t)
        return ('%s · %s · deleted %s'):format(
          format.null(t.title) and t.id or t.title,
          t.agent,
          format.age(t.deletedAt)
        )
      end,
    }, function(t)
      if t then
        run(t.agent .. ':' .. t.id)
      end
    end)
  end)
end

return M
