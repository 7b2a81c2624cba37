--- session-sidecar for Neovim: browse, resume, fork, compress, rename and delete the coding-agent
--- sessions (Claude Code, Qwen Code, Codex, Gemini CLI) of the workspace, through the
--- `session-sidecar` server started per workspace root with vim.lsp.
local M = {}

local configured = false

local highlights = {
  SessionSidecarContextOk = { link = 'DiagnosticOk' },
  SessionSidecarContextWarn = { link = 'DiagnosticWarn' },
  SessionSidecarContextError = { link = 'DiagnosticError' },
  SessionSidecarTitle = { link = 'Title' },
  SessionSidecarBranch = { link = 'Directory' },
  SessionSidecarCurrentBranch = { link = 'Special' },
  SessionSidecarAgent = { link = 'Type' },
  SessionSidecarMeta = { link = 'Comment' },
  SessionSidecarUser = { link = 'Statement' },
  SessionSidecarAssistant = { link = 'Function' },
  SessionSidecarTool = { link = 'Identifier' },
  SessionSidecarError = { link = 'DiagnosticError' },
  SessionSidecarBody = { link = 'NonText' },
}

local function define_highlights()
  for name, hl in pairs(highlights) do
    hl = vim.tbl_extend('force', hl, { default = true })
    vim.api.nvim_set_hl(0, name, hl)
  end
end

local keymap_targets = {
  sessions = 'Sessions',
  history = 'SessionHistory',
  sidebar = 'SessionsToggle',
  resume = 'SessionResume',
  continue = 'SessionContinue',
  fork = 'SessionFork',
  compress = 'SessionCompress',
  rename = 'SessionRename',
  delete = 'SessionDelete',
  restore = 'SessionRestore',
}

--- Configure the plugin (see |session-sidecar-options|). Safe to call again.
function M.setup(opts)
  local config = require('session_sidecar.config')
  local err = config.set(opts)
  if err then
    vim.notify('session-sidecar: invalid option ' .. err, vim.log.levels.ERROR)
    return
  end
  configured = true
  define_highlights()
  -- Running sidecars follow a changed fork_on_checkout policy.
  if package.loaded['session_sidecar.client'] then
    require('session_sidecar.client').push_settings()
  end
  local group = vim.api.nvim_create_augroup('session_sidecar', { clear = true })
  vim.api.nvim_create_autocmd('ColorScheme', { group = group, callback = define_highlights })
  for name, lhs in pairs(config.options.keymaps or {}) do
    local cmd = keymap_targets[name]
    if cmd and lhs then
      vim.keymap.set('n', lhs, '<cmd>' .. cmd .. '<cr>', { desc = 'session-sidecar: ' .. cmd })
    elseif not cmd then
      vim.notify('session-sidecar: unknown keymap ' .. tostring(name), vim.log.levels.WARN)
    end
  end
  -- Branch prompts and history live updates register their listeners on load.
  require('session_sidecar.branch')
  require('session_sidecar.history')
  require('session_sidecar.sidebar')
  if config.options.autostart then
    -- Only inside a project (a git root, or the workspace option): a sidecar for a bare home
    -- directory would treat every session under it as the workspace's.
    local function start()
      if not config.server_path() then
        return
      end
      if config.options.workspace or vim.fs.root(vim.fn.getcwd(), '.git') then
        M.start()
      end
    end
    if vim.v.vim_did_enter == 1 then
      vim.schedule(start)
    else
      vim.api.nvim_create_autocmd('VimEnter', { group = group, once = true, callback = start })
    end
    vim.api.nvim_create_autocmd('DirChanged', { group = group, callback = start })
  end
end

--- Defaults apply when a command runs before setup().
function M.ensure_setup()
  if not configured then
    M.setup({ autostart = false })
  end
end

--- Start (or reuse) the sidecar for the current workspace root; returns its state.
function M.start(root)
  M.ensure_setup()
  local client = require('session_sidecar.client')
  local state, err = client.ensure(root)
  if not state then
    client.notify(err, vim.log.levels.ERROR)
  end
  return state
end

--- The active session's context gauge for 'statusline' (highlighted, '%' escaped).
function M.statusline()
  if not configured then
    return ''
  end
  return require('session_sidecar.statusline').statusline()
end

--- The same gauge as plain text, and as data (see |session-sidecar-statusline|).
function M.statusline_text()
  return require('session_sidecar.statusline').text()
end

function M.context()
  return require('session_sidecar.statusline').context()
end

M.sessions = function(opts)
  M.ensure_setup()
  require('session_sidecar.picker').open(opts)
end

M.history = function(session, opts, done)
  M.ensure_setup()
  require('session_sidecar.history').open(session, opts, done)
end

M.toggle = function()
  M.ensure_setup()
  require('session_sidecar.sidebar').toggle()
end

setmetatable(M, {
  __index = function(_, k)
    -- resume, continue, fork, compress, rename, delete, restore
    local actions = require('session_sidecar.actions')
    if type(actions[k]) == 'function' then
      return function(...)
        M.ensure_setup()
        return actions[k](...)
      end
    end
  end,
})

return M
