--- `:Sessions`: every session of the workspace through vim.ui.select (so telescope, fzf-lua or
--- snacks users get their own UI), then an action menu.
local client = require('session_sidecar.client')
local format = require('session_sidecar.format')

local M = {}

--- The actions offered for a picked session, in menu order.
M.actions = {
  { id = 'resume', label = 'Resume in a terminal' },
  { id = 'history', label = 'Open history' },
  { id = 'fork', label = 'Fork' },
  { id = 'compress', label = 'Compress' },
  { id = 'rename', label = 'Rename' },
  { id = 'delete', label = 'Delete (to trash)' },
}

--- Fetch the sessions (`opts.scope`, `opts.query`, `opts.branch`) and let the user pick one;
--- `on_choice(summary_or_nil)`.
function M.pick(opts, on_choice)
  opts = opts or {}
  local state, err = client.ensure()
  if not state then
    client.notify(err, vim.log.levels.ERROR)
    return
  end
  local params = { scope = opts.scope, query = opts.query, branch = opts.branch }
  client.list(state, params, function(lerr, items)
    if lerr then
      client.notify('listing sessions failed: ' .. client.error_message(lerr), vim.log.levels.ERROR)
      return
    end
    if #items == 0 then
      client.notify('no sessions for ' .. state.root .. (opts.query and (' matching ' .. opts.query) or ''))
      return
    end
    local now = os.time()
    vim.ui.select(items, {
      prompt = opts.prompt or ('Sessions · ' .. vim.fs.basename(state.root)),
      kind = 'session_sidecar.session',
      format_item = function(s)
        return format.session_line(s, now)
      end,
    }, on_choice)
  end)
end

--- Run action `id` on a session summary.
function M.run(id, s)
  local actions = require('session_sidecar.actions')
  if id == 'resume' then
    actions.resume(s)
  elseif id == 'history' then
    require('session_sidecar.history').open(s)
  elseif id == 'fork' then
    actions.fork(s)
  elseif id == 'compress' then
    actions.compress(s)
  elseif id == 'rename' then
    actions.rename(s)
  elseif id == 'delete' then
    actions.delete(s)
  end
end

--- `:Sessions [query]` (`opts.scope = 'all'` with a bang).
function M.open(opts)
  M.pick(opts, function(s)
    if not s then
      return
    end
    vim.ui.select(M.actions, {
      prompt = format.title(s),
      kind = 'session_sidecar.action',
      format_item = function(a)
        return a.label
      end,
    }, function(a)
      if a then
        M.run(a.id, s)
      end
    end)
  end)
end

return M
