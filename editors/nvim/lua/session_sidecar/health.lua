--- `:checkhealth session_sidecar`: the binary and its version, the running sidecar and its
--- protocol, each agent's session store, and the file watcher.
local M = {}

local health = vim.health

--- Where each agent's store is, as the sidecar resolves it (config.rs): the `store_roots`
--- option, else the agent's environment override, else under `home`. Returns
--- { agent = { root = path, sessions = subdir, source = text } }.
function M.store_roots(opts, env)
  env = env or {}
  local function getenv(k)
    local v = env[k]
    if v == nil then
      v = vim.env[k]
    end
    if v == nil or v == '' then
      return nil
    end
    return v
  end
  local home = opts.home and vim.fs.normalize(opts.home) or getenv('HOME') or '/'
  local roots = {
    claude = getenv('CLAUDE_CONFIG_DIR') and { getenv('CLAUDE_CONFIG_DIR'), 'CLAUDE_CONFIG_DIR' }
      or { home .. '/.claude', 'home' },
    qwen = (getenv('QWEN_RUNTIME_DIR') or getenv('QWEN_HOME'))
        and { getenv('QWEN_RUNTIME_DIR') or getenv('QWEN_HOME'), getenv('QWEN_RUNTIME_DIR') and 'QWEN_RUNTIME_DIR' or 'QWEN_HOME' }
      or { home .. '/.qwen', 'home' },
    codex = getenv('CODEX_HOME') and { getenv('CODEX_HOME'), 'CODEX_HOME' } or { home .. '/.codex', 'home' },
    gemini = getenv('GEMINI_CLI_HOME') and { getenv('GEMINI_CLI_HOME') .. '/.gemini', 'GEMINI_CLI_HOME' }
      or { home .. '/.gemini', 'home' },
  }
  local sub = { claude = 'projects', qwen = 'projects', codex = 'sessions', gemini = 'tmp' }
  local out = {}
  for agent, r in pairs(roots) do
    local root, source = r[1], r[2]
    if opts.store_roots and opts.store_roots[agent] then
      root, source = vim.fs.normalize(opts.store_roots[agent]), 'store_roots'
    end
    out[agent] = { root = root, sessions = root .. '/' .. sub[agent], source = source }
  end
  return out
end

--- The sidecar's own stderr lines about watching, from the tail of the LSP log.
function M.watch_warnings(cmd0)
  local path = vim.lsp.get_log_path()
  local f = io.open(path, 'r')
  if not f then
    return {}
  end
  local size = f:seek('end')
  f:seek('set', math.max(0, size - 256 * 1024))
  local text = f:read('*a') or ''
  f:close()
  local out = {}
  for line in text:gmatch('[^\n]+') do
    if line:find('stderr', 1, true) and (not cmd0 or line:find(cmd0, 1, true)) then
      local l = line:lower()
      if l:find('polling', 1, true) or l:find('cannot watch', 1, true) or l:find('watch error', 1, true) or l:find('inotify', 1, true) then
        table.insert(out, line)
      end
    end
  end
  return out
end

local function read_number(path)
  local f = io.open(path, 'r')
  if not f then
    return nil
  end
  local n = tonumber((f:read('*l') or ''):match('%d+'))
  f:close()
  return n
end

function M.check()
  local config = require('session_sidecar.config')
  local client = require('session_sidecar.client')
  local protocol = require('session_sidecar.protocol')
  require('session_sidecar').ensure_setup()
  local opts = config.options

  health.start('session-sidecar: Neovim')
  if vim.fn.has('nvim-0.10') == 1 then
    local v = vim.version()
    health.ok(('Neovim %d.%d.%d'):format(v.major, v.minor, v.patch))
  else
    health.error('Neovim 0.10 or newer is required')
  end

  health.start('session-sidecar: binary')
  local path, perr = config.server_path()
  if not path then
    health.error(perr, {
      'Install it (cargo install --path sidecar) or set server_path in setup().',
    })
    return
  end
  local ok, res = pcall(function()
    return vim.system({ path, '--version' }, { text = true }):wait(5000)
  end)
  if not ok or not res or res.code ~= 0 then
    health.error(('%s --version failed: %s'):format(path, ok and res and (res.stderr or res.code) or tostring(res)))
    return
  end
  local version = vim.trim(res.stdout or '')
  health.ok(('%s (%s)'):format(version, path))

  health.start('session-sidecar: server')
  local root = client.root()
  local state, serr = client.ensure(root)
  if not state then
    health.error('could not start the sidecar: ' .. tostring(serr))
    return
  end
  vim.wait(10000, function()
    return state.ready or client.states[state.client_id] == nil
  end, 20)
  if not state.ready then
    health.error(('the sidecar for %s did not answer initialize within 10 s'):format(root), {
      'See :lua vim.cmd.edit(vim.lsp.get_log_path())',
    })
    return
  end
  local caps = state.caps or {}
  health.ok(('running for %s (server %s, client id %d)'):format(root, state.version or '?', state.client_id))
  if caps.protocolVersion == protocol.PROTOCOL_VERSION then
    health.ok(('protocol version %d'):format(caps.protocolVersion))
  else
    health.error(
      ('protocol version %s, this plugin speaks %d'):format(tostring(caps.protocolVersion), protocol.PROTOCOL_VERSION),
      { 'Update the plugin and the sidecar together.' }
    )
  end
  local served = {}
  for _, mth in ipairs(caps.methods or {}) do
    served[mth] = true
  end
  local missing = {}
  for _, mth in pairs(protocol.methods) do
    if not served[mth] then
      table.insert(missing, mth)
    end
  end
  table.sort(missing)
  if #missing > 0 then
    health.warn('the sidecar does not serve: ' .. table.concat(missing, ', '))
  end
  health.info(('fork on checkout: %s'):format(opts.fork_on_checkout or 'ask'))

  health.start('session-sidecar: agents')
  vim.wait(10000, function()
    return state.listed or client.states[state.client_id] == nil
  end, 20)
  local counts = {}
  for _, s in pairs(state.sessions) do
    counts[s.agent] = (counts[s.agent] or 0) + 1
  end
  local enabled = {}
  for _, a in ipairs(caps.agents or opts.agents or protocol.agents) do
    enabled[a] = true
  end
  local roots = M.store_roots(opts, opts.server_env)
  for _, agent in ipairs(protocol.agents) do
    local r = roots[agent]
    if not enabled[agent] then
      health.info(('%s: disabled (agents option)'):format(agent))
    elseif vim.fn.isdirectory(r.sessions) == 1 then
      health.ok(('%s: store %s (%d session%s in this workspace)'):format(
        agent,
        r.root,
        counts[agent] or 0,
        (counts[agent] or 0) == 1 and '' or 's'
      ))
    else
      health.warn(('%s: no sessions store at %s (from %s)'):format(agent, r.sessions, r.source), {
        ('%s never ran with this home, or its store is elsewhere: set home or store_roots.%s'):format(agent, agent),
      })
    end
  end
  local paths = opts.agent_paths or {}
  for _, agent in ipairs(protocol.agents) do
    if enabled[agent] then
      local exe = paths[agent] or vim.fn.exepath(agent)
      if exe ~= nil and exe ~= '' and vim.fn.executable(exe) == 1 then
        health.ok(('%s: executable %s'):format(agent, exe))
      else
        health.info(('%s: no executable found (resume and compress need it; agent_paths.%s)'):format(agent, agent))
      end
    end
  end

  health.start('session-sidecar: watcher')
  local problems = M.watch_warnings(path)
  local n = 0
  for _, c in pairs(state.notifications) do
    n = n + c
  end
  if vim.env.SESSION_SIDECAR_POLL then
    health.warn('SESSION_SIDECAR_POLL is set: the sidecar polls the stores instead of watching them')
  end
  if #problems > 0 then
    health.warn('the sidecar reported watch problems:', vim.list_slice(problems, math.max(1, #problems - 4)))
  end
  local max_watches = read_number('/proc/sys/fs/inotify/max_user_watches')
  if max_watches and max_watches < 8192 then
    health.warn(('fs.inotify.max_user_watches is %d; the sidecar falls back to polling when it runs out'):format(max_watches), {
      'sudo sysctl fs.inotify.max_user_watches=524288',
    })
  end
  if #problems == 0 and not vim.env.SESSION_SIDECAR_POLL then
    health.ok(
      ('watcher ok: no watch errors reported%s; %d live notification%s received'):format(
        max_watches and (', inotify max_user_watches ' .. max_watches) or '',
        n,
        n == 1 and '' or 's'
      )
    )
  end
end

return M
