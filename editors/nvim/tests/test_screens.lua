-- Screenshots: a real (non-headless) Neovim in tmux with the sidebar and a history buffer
-- against the fixture home; `tmux capture-pane` text (and ANSI) into test-output/. Each capture
-- is taken once the screen shows what it should (polled with a timeout), and checked.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/helpers.lua')

local nvim = os.getenv('NVIM_BIN') or vim.v.progpath
local home = H.fixture_home()
local dir = vim.fn.tempname() .. '-screens'
vim.fn.mkdir(dir, 'p')
local ready = dir .. '/ready'
local socket = 'session-sidecar-nvim-' .. vim.fn.getpid()
local W, HGT = 170, 50

-- The inner Neovim: plugin set up against the fixture home, sidebar + history side by side.
local init = dir .. '/init.lua'
vim.fn.writefile(vim.split(([[
vim.opt.rtp:prepend(%q)
vim.cmd('runtime plugin/session_sidecar.lua')
vim.o.laststatus = 2
vim.o.showmode = false
vim.o.termguicolors = false
vim.o.shortmess = vim.o.shortmess .. 'I'
local sc = require('session_sidecar')
sc.setup({ server_path = %q, home = %q, workspace = '/home/dev/acme-webapp', autostart = false,
  history = { page_size = 12 } })
vim.o.statusline = "%%f %%= %%{%%v:lua.require'session_sidecar'.statusline()%%} "
local got = {}
local function mark(what)
  got[what] = true
  if got.sidebar and got.history then
    vim.cmd('redraw!')
    vim.fn.writefile({ 'ready' }, %q)
  end
end
vim.api.nvim_create_autocmd('User', { pattern = 'SessionSidecarSidebar', callback = function()
  local sb = require('session_sidecar.sidebar')
  if sb.state and sb.state.listed and next(sb.lines) then mark('sidebar') end
end })
vim.api.nvim_create_autocmd('User', { pattern = 'SessionSidecarHistory', callback = function(ev)
  if ev.data.event == 'subscribed' then mark('history') end
end })
vim.cmd('SessionsToggle')
vim.cmd('wincmd l')
sc.history('59e7b833', { open = 'current' })
]]):format(H.plugin_root, H.bin, home, ready), '\n'), init)

local function tmux(args)
  local argv = { 'tmux', '-L', socket, '-f', '/dev/null' }
  vim.list_extend(argv, args)
  return vim.system(argv, { text = true }):wait(10000)
end

local function capture(ansi)
  local args = { 'capture-pane', '-p', '-t', 'shot' }
  if ansi then
    table.insert(args, '-e')
  end
  local r = tmux(args)
  return r.code == 0 and r.stdout or ''
end

local function wait_screen(pred, what)
  local text = ''
  local ok = vim.wait(15000, function()
    text = capture(false)
    return pred(text)
  end, 100)
  if not ok then
    error(('timed out waiting for %s; screen:\n%s'):format(what, text), 2)
  end
  return text
end

local env = {}
for _, k in ipairs({ 'XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_STATE_HOME', 'XDG_CACHE_HOME', 'TMPDIR' }) do
  if os.getenv(k) then
    table.insert(env, '-e')
    table.insert(env, k .. '=' .. os.getenv(k))
  end
end

H.test('tmux: sidebar and history side by side against the fixture home', function()
  local args = { 'new-session', '-d', '-s', 'shot', '-x', tostring(W), '-y', tostring(HGT) }
  vim.list_extend(args, env)
  vim.list_extend(args, { '-e', 'TERM=xterm-256color', nvim, '--clean', '-c', 'luafile ' .. init })
  local r = tmux(args)
  H.eq(0, r.code, 'tmux new-session: ' .. (r.stderr or ''))
  H.wait(30000, function()
    return vim.uv.fs_stat(ready) ~= nil
  end, 'the inner Neovim to render both')
  local text = wait_screen(function(t)
    return t:find('Sessions · acme-webapp', 1, true) and t:find('corpus 1 turn 4 THINK then answer', 1, true)
      and t:find('● user', 1, true)
  end, 'sidebar and history on screen')
  H.write_output('screen-sidebar-history.txt', text)
  H.write_output('screen-sidebar-history.ansi', capture(true))
  H.truthy(text:find('▾ main', 1, true), 'main group on screen')
  H.truthy(text:find('▾ feature/login', 1, true), 'feature/login group on screen')
  H.truthy(text:find('Corpus title 4', 1, true), 'a renamed session on screen')
  H.truthy(text:find('⎿ result', 1, true) or text:find('⚙ Bash', 1, true) or text:find('✻ thinking', 1, true), 'a folded tool block on screen')
end)

H.test('tmux: history with folds opened shows the tool output', function()
  tmux({ 'send-keys', '-t', 'shot', 'Escape', 'z', 'R', 'G' })
  local text = wait_screen(function(t)
    return t:find('│ mock thinking about the request', 1, true) ~= nil
  end, 'opened folds')
  H.write_output('screen-history-open-folds.txt', text)
  H.write_output('screen-history-open-folds.ansi', capture(true))
  H.truthy(text:find('mock reply 7 to 14 messages', 1, true), 'the latest reply on screen')
end)

H.test('tmux: the sessions picker (vim.ui.select) lists title · agent · branch · age · messages · context', function()
  tmux({ 'send-keys', '-t', 'shot', ':Sessions', 'Enter' })
  local text = wait_screen(function(t)
    return t:find('Sessions · acme-webapp', 1, true) and t:find('Type number and <Enter>', 1, true)
  end, 'the picker')
  H.write_output('screen-picker.txt', text)
  H.truthy(text:find('Corpus title 4 · claude · main · ', 1, true), 'a picker line')
  tmux({ 'send-keys', '-t', 'shot', 'Escape' })
  wait_screen(function(t)
    return not t:find('Type number and <Enter>', 1, true) and not t:find('Press ENTER', 1, true)
  end, 'the picker to close')
end)

H.test('tmux: the inner Neovim quits cleanly', function()
  tmux({ 'send-keys', '-t', 'shot', 'Escape', ':qa!', 'Enter' })
  local ok = vim.wait(10000, function()
    return tmux({ 'has-session', '-t', 'shot' }).code ~= 0
  end, 50)
  if not ok then
    error('Neovim did not quit; screen:\n' .. capture(false))
  end
end)

-- Never leave a tmux server behind, whatever failed.
local run = H.run
H.run = function()
  local exit = os.exit
  os.exit = function(code)
    tmux({ 'kill-server' })
    exit(code)
  end
  run()
end
H.run()
