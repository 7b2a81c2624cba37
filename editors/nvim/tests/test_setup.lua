-- Loading and setup: commands defined lazily by plugin/, setup() options and their validation,
-- no keymaps by default, keymaps on request, autostart only inside a project, a sidecar per
-- workspace root.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/helpers.lua')

local function plugin_maps()
  local out = {}
  for _, mode in ipairs({ 'n', 'x', 'i' }) do
    for _, km in ipairs(vim.api.nvim_get_keymap(mode)) do
      if (km.desc or ''):find('session%-sidecar') or (km.rhs or ''):find('Session') then
        table.insert(out, km.lhs)
      end
    end
  end
  return out
end

H.test('plugin/ defines the commands without loading the plugin', function()
  local cmds = vim.api.nvim_get_commands({ builtin = false })
  for _, c in ipairs({ 'Sessions', 'SessionResume', 'SessionContinue', 'SessionFork', 'SessionCompress',
    'SessionRename', 'SessionDelete', 'SessionRestore', 'SessionHistory', 'SessionsToggle' }) do
    H.truthy(cmds[c], ':' .. c .. ' defined')
  end
  for name in pairs(package.loaded) do
    H.truthy(not name:find('^session_sidecar'), name .. ' is not loaded yet')
  end
end)

H.test('setup() with defaults maps no keys and starts nothing outside a project', function()
  vim.cmd('cd ' .. vim.fn.fnameescape((vim.fn.tempname():gsub('[^/]+$', ''))))
  require('session_sidecar').setup({ server_path = H.bin })
  vim.wait(200)
  H.eq({}, plugin_maps(), 'no keymaps')
  H.eq(0, #vim.lsp.get_clients({ name = 'session_sidecar' }), 'no sidecar started outside a git repository')
end)

H.test('invalid options are reported and the previous ones stay', function()
  local notes = H.capture_notify()
  require('session_sidecar').setup({ fork_on_checkout = 'sometimes' })
  H.truthy(notes[1] and notes[1].msg:find('fork_on_checkout', 1, true), 'names the option')
  require('session_sidecar').setup({ agents = { 'claude', 'cursor' } })
  H.truthy(notes[2] and notes[2].msg:find('cursor', 1, true), 'names the unknown agent')
  H.eq(H.bin, require('session_sidecar.config').options.server_path, 'previous options kept')
end)

H.test('keymaps = {...} maps the named commands', function()
  require('session_sidecar').setup({ server_path = H.bin, autostart = false, keymaps = { sessions = '<leader>zs', sidebar = '<leader>zt' } })
  local maps = {}
  for _, km in ipairs(vim.api.nvim_get_keymap('n')) do
    maps[km.lhs:gsub('^ ', '<leader>')] = km.rhs
  end
  local leader = vim.g.mapleader or '\\'
  local function rhs(lhs)
    for k, v in pairs(maps) do
      if k == lhs:gsub('<leader>', leader) then
        return v
      end
    end
  end
  H.eq('<cmd>sessions<cr>', (rhs('<leader>zs') or ''):lower(), 'sessions map')
  H.eq('<cmd>sessionstoggle<cr>', (rhs('<leader>zt') or ''):lower(), 'sidebar map')
end)

H.test('initializationOptions carry home, workspace, agents, agentPaths, forkOnCheckout', function()
  local home = H.fixture_home()
  H.setup(home, {
    agents = { 'claude', 'qwen' },
    agent_paths = { claude = '/opt/agents/claude' },
    fork_on_checkout = 'off',
    truncate_bytes = 1000,
  })
  local state = H.start()
  local c = vim.lsp.get_client_by_id(state.client_id)
  H.eq({
    home = home,
    workspace = '/home/dev/acme-webapp',
    agents = { 'claude', 'qwen' },
    agentPaths = { claude = '/opt/agents/claude' },
    forkOnCheckout = 'off',
    truncateBytes = 1000,
  }, c.config.init_options, 'init options')
  H.eq({ 'claude', 'qwen' }, state.caps.agents, 'the sidecar serves the agents asked for')
  for _, s in pairs(state.sessions) do
    H.truthy(s.agent == 'claude' or s.agent == 'qwen', 'only enabled agents listed: ' .. s.agent)
  end
end)

H.test('one sidecar per workspace root; autostart inside a git repository', function()
  require('session_sidecar.client').stop_all()
  H.wait(5000, function()
    return #vim.lsp.get_clients({ name = 'session_sidecar' }) == 0
  end, 'stopped')
  local repo = vim.fn.tempname() .. '-repo'
  vim.fn.mkdir(repo, 'p')
  H.sh({ 'git', '-C', repo, 'init', '-q' })
  repo = vim.uv.fs_realpath(repo)
  vim.cmd('cd ' .. vim.fn.fnameescape(repo))
  require('session_sidecar').setup({ server_path = H.bin, home = H.fixture_home() })
  H.wait(10000, function()
    return #vim.lsp.get_clients({ name = 'session_sidecar' }) == 1
  end, 'autostarted for the repository')
  local c = vim.lsp.get_clients({ name = 'session_sidecar' })[1]
  H.eq(repo, c.config.root_dir, 'root_dir is the git root')
  -- A file in a subdirectory belongs to the same root: no second sidecar.
  vim.fn.mkdir(repo .. '/src', 'p')
  vim.cmd('edit ' .. vim.fn.fnameescape(repo .. '/src/a.txt'))
  local client = require('session_sidecar.client')
  H.eq(repo, client.root(), 'root of a nested file')
  client.ensure()
  H.eq(1, #vim.lsp.get_clients({ name = 'session_sidecar' }), 'reused')
  -- Another root gets its own.
  local other = vim.uv.fs_realpath((vim.fn.tempname():gsub('/[^/]+$', '')))
  local st = client.ensure(other)
  H.wait(10000, function()
    return st.ready
  end, 'the second sidecar')
  H.eq(2, #vim.lsp.get_clients({ name = 'session_sidecar' }), 'a second root, a second sidecar')
  H.truthy(st.client_id ~= c.id, 'another client')
  H.eq(other, st.root, 'its root')
end)

H.test('a sidecar that dies is restarted by the next command', function()
  local client = require('session_sidecar.client')
  client.stop_all()
  H.wait(5000, function()
    return #vim.lsp.get_clients({ name = 'session_sidecar' }) == 0
  end, 'stopped')
  H.setup(H.fixture_home())
  local st = H.start()
  local c = vim.lsp.get_client_by_id(st.client_id)
  local notes = H.capture_notify()
  c.rpc.terminate() -- as if it crashed
  H.wait(5000, function()
    return client.states[st.client_id] == nil
  end, 'the plugin noticed the exit')
  local calls = H.stub_select(nil)
  vim.cmd('Sessions')
  H.wait(20000, function()
    return #calls == 1
  end, 'the picker from a fresh sidecar')
  H.truthy(#calls[1].items >= 8, 'sessions listed again')
  local now = vim.lsp.get_clients({ name = 'session_sidecar' })
  H.eq(1, #now, 'one live client')
  H.truthy(now[1].id ~= st.client_id, 'a new one')
  H.eq(0, #vim.tbl_filter(function(n)
    return n.level == vim.log.levels.ERROR
  end, notes), 'no error shown for the restart')
end)

H.run()
