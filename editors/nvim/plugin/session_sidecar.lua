-- session-sidecar user commands. Defined here, loaded lazily: nothing is required until a
-- command runs (or setup() is called from the user's config).
if vim.g.loaded_session_sidecar then
  return
end
vim.g.loaded_session_sidecar = true

if vim.fn.has('nvim-0.10') == 0 then
  vim.notify('session-sidecar needs Neovim 0.10 or newer', vim.log.levels.ERROR)
  return
end

local function sc()
  local m = require('session_sidecar')
  m.ensure_setup()
  return m
end

--- Complete "agent:id" of the sessions the running sidecar already listed (no request).
local function complete_session(arglead, cmdline)
  local ok, client = pcall(require, 'session_sidecar.client')
  if not ok then
    return {}
  end
  -- Only the first argument is a session.
  local args = cmdline:gsub('^%s*%S+%s*', '')
  if args:find('%s') then
    return {}
  end
  local out = {}
  for _, state in pairs(client.states) do
    for _, s in ipairs(client.sorted(state)) do
      local key = s.agent .. ':' .. s.id
      if arglead == '' or vim.startswith(key, arglead) or vim.startswith(s.id, arglead) then
        table.insert(out, key)
      end
    end
  end
  return out
end

local function first_arg(args)
  local a = vim.trim(args or '')
  if a == '' then
    return nil, nil
  end
  local id, rest = a:match('^(%S+)%s*(.*)$')
  return id, (rest ~= '' and rest or nil)
end

local commands = {
  Sessions = {
    function(o)
      sc().sessions({ scope = o.bang and 'all' or nil, query = o.args ~= '' and o.args or nil })
    end,
    { nargs = '?', bang = true, desc = 'Pick a session of the workspace (! = every project)' },
  },
  SessionResume = {
    function(o)
      sc().resume(first_arg(o.args), { fork = o.bang })
    end,
    { nargs = '?', bang = true, complete = complete_session, desc = 'Resume a session in a terminal (! = into a new id)' },
  },
  SessionContinue = {
    function(o)
      sc().continue({ any_branch = o.bang })
    end,
    { nargs = 0, bang = true, desc = 'Continue the latest session of the current branch (! = any branch)' },
  },
  SessionFork = {
    function(o)
      local id, title = first_arg(o.args)
      sc().fork(id, { title = title })
    end,
    { nargs = '*', complete = complete_session, desc = 'Fork a session ([id] [title])' },
  },
  SessionCompress = {
    function(o)
      local id, strategy = first_arg(o.args)
      if id == 'trim' or id == 'agent' then
        id, strategy = nil, id
      end
      sc().compress(id, strategy)
    end,
    {
      nargs = '*',
      complete = function(arglead, cmdline)
        local n = #vim.split(vim.trim(cmdline), '%s+')
        if n >= 2 and not (n == 2 and not cmdline:find('%s$')) then
          return vim.tbl_filter(function(s)
            return vim.startswith(s, arglead)
          end, { 'trim', 'agent' })
        end
        return complete_session(arglead, cmdline)
      end,
      desc = 'Compress a session ([id] [trim|agent])',
    },
  },
  SessionRename = {
    function(o)
      local id, title = first_arg(o.args)
      sc().rename(id, title)
    end,
    { nargs = '*', complete = complete_session, desc = 'Rename a session ([id] [title])' },
  },
  SessionDelete = {
    function(o)
      sc().delete(first_arg(o.args), { confirm = not o.bang })
    end,
    { nargs = '?', bang = true, complete = complete_session, desc = 'Move a session to the trash (! = no prompt)' },
  },
  SessionRestore = {
    function(o)
      sc().restore(first_arg(o.args))
    end,
    { nargs = '?', desc = 'Restore a session from the trash' },
  },
  SessionHistory = {
    function(o)
      sc().history(first_arg(o.args))
    end,
    { nargs = '?', complete = complete_session, desc = "Open a session's conversation" },
  },
  SessionsToggle = {
    function()
      sc().toggle()
    end,
    { nargs = 0, desc = 'Toggle the sessions sidebar' },
  },
}

for name, def in pairs(commands) do
  vim.api.nvim_create_user_command(name, def[1], def[2])
end
