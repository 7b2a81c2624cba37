--- Options of `require('session_sidecar').setup(opts)`, their defaults and validation.
local M = {}

M.defaults = {
  --- Path of the `session-sidecar` executable; default: `session-sidecar` on $PATH.
  server_path = nil,
  --- Extra arguments for the server (it serves stdio when given none).
  server_args = {},
  --- Extra environment for the server process (e.g. `{ SESSION_SIDECAR_LOG = 'debug' }`).
  server_env = nil,
  --- The user's home the agents' stores are read from (initializationOptions.home).
  home = nil,
  --- Workspace root: a path, or `function(bufnr) -> path`; default: the git root of the
  --- current buffer (else of the working directory), else the working directory.
  workspace = nil,
  --- Agents to serve (`{ 'claude', 'qwen', 'codex', 'gemini' }` when nil).
  agents = nil,
  --- Executable per agent for resume/compress, e.g. `{ claude = '/opt/bin/claude' }`.
  agent_paths = nil,
  --- Store root per agent (wins over `home` and the environment).
  store_roots = nil,
  --- 'off' | 'ask' | 'auto': what happens when the workspace's git branch changes.
  fork_on_checkout = 'ask',
  --- History text blocks longer than this many bytes are cut (the sidecar's default: 16384).
  truncate_bytes = nil,
  --- Start the sidecar for the working directory when Neovim starts (needed for a live
  --- statusline before any command ran).
  autostart = true,
  --- Context gauge levels, in percent of the context window.
  thresholds = { warn = 70, error = 90 },
  --- Global keymaps (normal mode). None by default. Keys: sessions, history, sidebar,
  --- resume, continue, fork, compress, rename, delete, restore.
  keymaps = {},
  history = {
    --- Messages per page (sessions/history limit).
    page_size = 50,
    --- Ex command that makes the window the history buffer goes into.
    open = 'split',
    --- Buffer-local keys of the history buffer (false disables one).
    keys = {
      older = '[[',
      fork = 'F',
      resume = 'R',
      expand = '<CR>',
      close = 'q',
    },
  },
  sidebar = {
    width = 48,
    --- 'left' or 'right'.
    position = 'left',
    keys = {
      resume = '<CR>',
      history = 'o',
      fork = 'F',
      compress = 'c',
      rename = 'r',
      delete = 'd',
      restore = 'u',
      refresh = 'R',
      close = 'q',
    },
  },
  terminal = {
    --- Ex command that makes the window the agent's terminal goes into.
    open = 'botright split',
    --- Or a function(cmd) that runs `cmd = { argv, cwd, env }` itself (toggleterm & co).
    launch = nil,
  },
  statusline = {
    --- function(ctx) -> string; ctx = { percent, used_tokens, context_window, agent, id, level }.
    format = nil,
  },
}

M.options = vim.deepcopy(M.defaults)

local function check(name, value, types, pred_msg)
  if value == nil then
    return nil
  end
  if type(types) == 'function' then
    if not types(value) then
      return ('%s: expected %s, got %s'):format(name, pred_msg, vim.inspect(value))
    end
    return nil
  end
  for _, t in ipairs(type(types) == 'table' and types or { types }) do
    if type(value) == t then
      return nil
    end
  end
  return ('%s: expected %s, got %s'):format(
    name,
    type(types) == 'table' and table.concat(types, ' or ') or types,
    type(value)
  )
end

local function validate(opts)
  local err = check('server_path', opts.server_path, 'string')
    or check('server_args', opts.server_args, 'table')
    or check('server_env', opts.server_env, 'table')
    or check('home', opts.home, 'string')
    or check('workspace', opts.workspace, { 'string', 'function' })
    or check('agents', opts.agents, 'table')
    or check('agent_paths', opts.agent_paths, 'table')
    or check('store_roots', opts.store_roots, 'table')
    or check('fork_on_checkout', opts.fork_on_checkout, function(v)
      return v == 'off' or v == 'ask' or v == 'auto'
    end, "'off', 'ask' or 'auto'")
    or check('truncate_bytes', opts.truncate_bytes, 'number')
    or check('thresholds', opts.thresholds, 'table')
    or check('keymaps', opts.keymaps, 'table')
    or check('autostart', opts.autostart, 'boolean')
  if err then
    return err
  end
  local protocol = require('session_sidecar.protocol')
  for _, a in ipairs(opts.agents or {}) do
    if not vim.tbl_contains(protocol.agents, a) then
      return ('agents: unknown agent %q (expected %s)'):format(
        tostring(a),
        table.concat(protocol.agents, ', ')
      )
    end
  end
  return nil
end

--- Merge user options over the defaults. Returns an error message for invalid options (the
--- defaults stay in force then).
function M.set(opts)
  opts = opts or {}
  local err = validate(opts)
  if err then
    return err
  end
  M.options = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts)
  -- Lists replace, not merge.
  M.options.agents = opts.agents
  M.options.server_args = opts.server_args or {}
  return nil
end

--- initializationOptions for a workspace root.
function M.init_options(root)
  local o = M.options
  local init = {
    workspace = root,
    forkOnCheckout = o.fork_on_checkout,
  }
  if o.home then
    init.home = vim.fs.normalize(o.home)
  end
  if o.agents then
    init.agents = o.agents
  end
  if o.agent_paths and next(o.agent_paths) then
    init.agentPaths = o.agent_paths
  end
  if o.store_roots and next(o.store_roots) then
    init.storeRoots = o.store_roots
  end
  if o.truncate_bytes then
    init.truncateBytes = o.truncate_bytes
  end
  return init
end

--- The sidecar executable: the option, else `session-sidecar` on $PATH (nil when not found).
function M.server_path()
  local p = M.options.server_path
  if p and p ~= '' then
    p = vim.fs.normalize(p)
    if vim.fn.executable(p) == 1 then
      return p
    end
    return nil, ('server_path %s is not executable'):format(p)
  end
  local found = vim.fn.exepath('session-sidecar')
  if found ~= '' then
    return found
  end
  return nil, 'session-sidecar not found on $PATH (set server_path in setup())'
end

return M
