--- Fork on checkout under the `ask` policy: when sessions/branchChanged names a candidate
--- session for the new branch, ask through vim.ui.select whether to fork it onto that branch.
--- Under `auto` the sidecar already forked (params.forked): just say so.
local client = require('session_sidecar.client')
local config = require('session_sidecar.config')
local format = require('session_sidecar.format')

local M = {}

M.choices = {
  { id = 'fork_resume', label = 'Fork it onto %s and resume' },
  { id = 'fork', label = 'Fork it onto %s' },
  { id = 'skip', label = 'Not now' },
}

--- Handle a BranchChangedParams for a state. `done(choice_id, result)` (tests).
function M.on_branch_changed(state, p, done)
  local null = format.null
  local to = not null(p.to) and p.to or nil
  if not null(p.forked) and type(p.forked) == 'table' then
    state.sessions[client.key(p.forked)] = p.forked
    client.notify(('branch %s: forked "%s" onto it'):format(to or '(detached)', format.title(p.forked)))
    if done then
      done('auto', p.forked)
    end
    return
  end
  if config.options.fork_on_checkout ~= 'ask' or p.detached or not to or null(p.candidate) or type(p.candidate) ~= 'table' then
    if done then
      done(nil)
    end
    return
  end
  local cand = p.candidate
  vim.ui.select(M.choices, {
    prompt = ('Switched to %s. Session "%s" (%s) was on %s.'):format(
      to,
      format.title(cand),
      cand.agent,
      null(p.from) and 'another branch' or p.from
    ),
    kind = 'session_sidecar.branch',
    format_item = function(c)
      return c.label:format(to)
    end,
  }, function(choice)
    if not choice or choice.id == 'skip' then
      if done then
        done('skip')
      end
      return
    end
    require('session_sidecar.actions').fork(cand, {
      branch = to,
      state = state,
      resume = choice.id == 'fork_resume',
    }, function(err, res)
      if done then
        done(choice.id, res, err)
      end
    end)
  end)
end

client.on('branch', function(state, p)
  M.on_branch_changed(state, p)
end)

return M
