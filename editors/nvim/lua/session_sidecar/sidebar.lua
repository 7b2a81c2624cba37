--- `:SessionsToggle`: a sidebar split with the workspace's sessions grouped by git branch
--- (the current branch first), kept live from sessions/changed and sessions/branchChanged.
local client = require('session_sidecar.client')
local config = require('session_sidecar.config')
local format = require('session_sidecar.format')

local M = {}

local NAME = 'session-sidecar://sessions'
local ns = vim.api.nvim_create_namespace('session_sidecar_sidebar')

--- The sidebar buffer (nil when never opened or wiped) and its line -> session map.
M.buf = nil
M.lines = {}
M.state = nil

local function null(v)
  return v == nil or v == vim.NIL
end

--- Sessions of a state grouped by branch: { { branch = name|nil, current = bool, items = {} } },
--- the current branch first, then by latest activity, sessions without a branch last.
function M.groups(state)
  local by, order = {}, {}
  for _, s in ipairs(client.sorted(state)) do
    local b = null(s.gitBranch) and '' or s.gitBranch
    if not by[b] then
      by[b] = { branch = b ~= '' and b or nil, current = b ~= '' and b == state.branch, items = {} }
      table.insert(order, by[b])
    end
    table.insert(by[b].items, s)
  end
  table.sort(order, function(a, b)
    if a.current ~= b.current then
      return a.current
    end
    if (a.branch == nil) ~= (b.branch == nil) then
      return b.branch == nil
    end
    return a.items[1].lastModified > b.items[1].lastModified
  end)
  return order
end

local function width()
  local win = M.win()
  return win and vim.api.nvim_win_get_width(win) or config.options.sidebar.width
end

--- The sidebar's lines, highlights and line -> session map for a state.
function M.render(state, w, now)
  w = w or config.options.sidebar.width
  local lines, hls, map = {}, {}, {}
  local function add(line, group, s)
    table.insert(lines, line)
    if group then
      table.insert(hls, { #lines - 1, group })
    end
    if s then
      map[#lines] = s
    end
  end
  local total = vim.tbl_count(state.sessions)
  add(('Sessions · %s (%d)'):format(vim.fs.basename(state.root), total), 'SessionSidecarTitle')
  if not state.listed then
    add('  loading…', 'SessionSidecarMeta')
  elseif total == 0 then
    add('  no sessions in this workspace', 'SessionSidecarMeta')
  end
  for _, g in ipairs(M.groups(state)) do
    add('')
    add(
      ('▾ %s%s (%d)'):format(g.branch or '(no branch)', g.current and ' · current' or '', #g.items),
      g.current and 'SessionSidecarCurrentBranch' or 'SessionSidecarBranch'
    )
    for _, s in ipairs(g.items) do
      local right = ('%s · %s · %s'):format(
        format.age(s.lastModified, now):gsub(' ago$', ''),
        tostring(null(s.messageCount) and '?' or s.messageCount),
        format.context_percent(s) or '–'
      )
      local left = ('  %-6s '):format(s.agent)
      local room = w - vim.fn.strdisplaywidth(left) - vim.fn.strdisplaywidth(right) - 2
      local title = format.truncate(format.title(s), math.max(room, 8))
      local pad = math.max(1, w - vim.fn.strdisplaywidth(left .. title) - vim.fn.strdisplaywidth(right) - 1)
      add(left .. title .. string.rep(' ', pad) .. right, nil, s)
      table.insert(hls, { #lines - 1, 'SessionSidecarAgent', 2, 2 + #s.agent })
      table.insert(hls, { #lines - 1, 'SessionSidecarMeta', #lines[#lines] - #right, #lines[#lines] })
    end
  end
  add('')
  local k = config.options.sidebar.keys
  local help = {}
  for _, pair in ipairs({
    { 'resume', 'resume' },
    { 'history', 'history' },
    { 'fork', 'fork' },
    { 'compress', 'compress' },
    { 'rename', 'rename' },
    { 'delete', 'delete' },
    { 'restore', 'restore' },
  }) do
    if k[pair[1]] then
      table.insert(help, k[pair[1]] .. ' ' .. pair[2])
    end
  end
  -- Key help, wrapped to the sidebar's width.
  local line = ''
  for _, item in ipairs(help) do
    if line ~= '' and vim.fn.strdisplaywidth(line .. '  ' .. item) > w then
      add(line, 'SessionSidecarMeta')
      line = item
    else
      line = line == '' and item or (line .. '  ' .. item)
    end
  end
  if line ~= '' then
    add(line, 'SessionSidecarMeta')
  end
  return lines, hls, map
end

function M.win()
  if not M.buf or not vim.api.nvim_buf_is_valid(M.buf) then
    return nil
  end
  local wins = vim.fn.win_findbuf(M.buf)
  return wins[1]
end

--- Redraw the sidebar (keeps the cursor on the same session).
function M.redraw()
  local buf, state = M.buf, M.state
  if not buf or not vim.api.nvim_buf_is_valid(buf) or not state then
    return
  end
  local win = M.win()
  local keep
  if win then
    keep = M.lines[vim.api.nvim_win_get_cursor(win)[1]]
  end
  local lines, hls, map = M.render(state, width())
  vim.bo[buf].modifiable = true
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.api.nvim_buf_clear_namespace(buf, ns, 0, -1)
  for _, hl in ipairs(hls) do
    local row, group, s, e = hl[1], hl[2], hl[3] or 0, hl[4] or #lines[hl[1] + 1]
    pcall(vim.api.nvim_buf_set_extmark, buf, ns, row, s, { end_col = e, hl_group = group })
  end
  M.lines = map
  if win and keep then
    for lnum, s in pairs(map) do
      if s.agent == keep.agent and s.id == keep.id then
        vim.api.nvim_win_set_cursor(win, { lnum, 0 })
        break
      end
    end
  end
  vim.api.nvim_exec_autocmds('User', { pattern = 'SessionSidecarSidebar', modeline = false, data = { buf = buf } })
end

--- The session on the cursor line of the sidebar.
function M.current()
  local win = M.win()
  if not win then
    return nil
  end
  return M.lines[vim.api.nvim_win_get_cursor(win)[1]]
end

local function set_keys(buf)
  local k = config.options.sidebar.keys
  local actions = require('session_sidecar.actions')
  local function on_session(fn)
    return function()
      local s = M.current()
      if s then
        fn(s)
      end
    end
  end
  local function other_window()
    -- Open things beside the sidebar, not in it.
    vim.cmd('wincmd p')
    if vim.api.nvim_get_current_buf() == M.buf then
      vim.cmd((config.options.sidebar.position == 'right' and 'leftabove' or 'rightbelow') .. ' vsplit')
    end
  end
  local map = {
    resume = on_session(function(s)
      other_window()
      actions.resume(s)
    end),
    history = on_session(function(s)
      other_window()
      require('session_sidecar.history').open(s, { open = 'current' })
    end),
    fork = on_session(function(s)
      actions.fork(s)
    end),
    compress = on_session(function(s)
      actions.compress(s)
    end),
    rename = on_session(function(s)
      actions.rename(s)
    end),
    delete = on_session(function(s)
      actions.delete(s)
    end),
    restore = function()
      actions.restore(nil)
    end,
    refresh = function()
      if M.state then
        client.list(M.state, {}, function()
          M.state.listed = true
          M.redraw()
        end)
      end
    end,
    close = function()
      M.close()
    end,
  }
  for name, fn in pairs(map) do
    if k[name] then
      vim.keymap.set('n', k[name], fn, { buffer = buf, nowait = true, silent = true, desc = 'session-sidecar: ' .. name })
    end
  end
end

function M.close()
  local win = M.win()
  if win and #vim.api.nvim_list_wins() > 1 then
    vim.api.nvim_win_close(win, true)
  end
end

function M.open()
  local state, err = client.ensure()
  if not state then
    client.notify(err, vim.log.levels.ERROR)
    return
  end
  M.state = state
  if not M.buf or not vim.api.nvim_buf_is_valid(M.buf) then
    M.buf = vim.api.nvim_create_buf(false, true)
    vim.api.nvim_buf_set_name(M.buf, NAME)
    vim.bo[M.buf].buftype = 'nofile'
    vim.bo[M.buf].bufhidden = 'hide'
    vim.bo[M.buf].swapfile = false
    vim.bo[M.buf].filetype = 'sessionsidecar'
    set_keys(M.buf)
  end
  local o = config.options.sidebar
  vim.cmd(('%s %dvsplit'):format(o.position == 'right' and 'botright' or 'topleft', o.width))
  local win = vim.api.nvim_get_current_win()
  vim.api.nvim_win_set_buf(win, M.buf)
  vim.wo[win].winfixwidth = true
  vim.wo[win].number = false
  vim.wo[win].relativenumber = false
  vim.wo[win].signcolumn = 'no'
  vim.wo[win].wrap = false
  vim.wo[win].cursorline = true
  vim.wo[win].foldcolumn = '0'
  M.redraw()
  if not state.listed then
    client.list(state, {}, function()
      state.listed = true
      M.redraw()
    end)
  end
end

function M.toggle()
  if M.win() then
    M.close()
  else
    M.open()
  end
end

local function on_change(state)
  if M.state == state and M.win() then
    M.redraw()
  end
end

client.on('sessions', on_change)
client.on('branch', on_change)

return M
