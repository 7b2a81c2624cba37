-- :SessionsToggle: the sidebar groups the workspace's sessions by branch and follows
-- sessions/changed live (a turn appended to a session file moves it and updates its count).
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/helpers.lua')

local home = H.fixture_home()
H.setup(home)
local sidebar = require('session_sidecar.sidebar')
local expected = H.cli_json(home, { 'list', '--json' }).items

local function sidebar_lines()
  return H.lines(sidebar.buf)
end

local function session_line(id)
  for lnum, s in pairs(sidebar.lines) do
    if s.id == id then
      return lnum, sidebar_lines()[lnum]
    end
  end
end

H.test(':SessionsToggle opens a sidebar listing every session grouped by branch', function()
  vim.o.columns = 160
  vim.o.lines = 50
  vim.cmd('SessionsToggle')
  H.truthy(sidebar.win(), 'sidebar window open')
  H.wait(20000, function()
    return sidebar.state and sidebar.state.listed and vim.tbl_count(sidebar.lines) == #expected
  end, 'sidebar filled with ' .. #expected .. ' sessions')
  local lines = sidebar_lines()
  H.truthy(lines[1]:find('Sessions · acme-webapp (' .. #expected .. ')', 1, true), 'title line: ' .. lines[1])
  local main = H.find_line(lines, '^▾ main')
  local feature = H.find_line(lines, '^▾ feature/login')
  H.truthy(main and feature, 'main and feature/login groups')
  -- Every session sits under the header of its own branch.
  local by_id = {}
  for _, s in ipairs(expected) do
    by_id[s.id] = s
  end
  for lnum, s in pairs(sidebar.lines) do
    local hdr
    for i = lnum, 1, -1 do
      if lines[i]:find('^▾ ') then
        hdr = lines[i]
        break
      end
    end
    local want = by_id[s.id].gitBranch
    want = want == vim.NIL and '(no branch)' or want
    H.truthy(hdr:find('▾ ' .. want, 1, true), s.id .. ' under ' .. want .. ', found under ' .. tostring(hdr))
  end
  -- Group counts add up.
  local sum = 0
  for _, l in ipairs(lines) do
    local n = l:match('^▾ .* %((%d+)%)$')
    sum = sum + (tonumber(n) or 0)
  end
  H.eq(#expected, sum, 'group counts')
  local _, l = session_line('a0a51dc5-d7b2-43b0-80f6-e51fa390a987')
  H.truthy(l:find('claude', 1, true) and l:find('Corpus title 4', 1, true), 'renamed session line: ' .. l)
  H.truthy(l:find(' · 3 · ', 1, true), 'message count on the line: ' .. l)
end)

H.test('sidebar lines end with age · messages · context %', function()
  local _, l = session_line('a0a51dc5-d7b2-43b0-80f6-e51fa390a987')
  H.truthy(l:match(' %d+%a+ · 3 · 0%.5%%$') or l:match(' just now · 3 · 0%.5%%$'), 'age · count · context: ' .. l)
end)

H.test('the sidebar updates live when a session file grows (sessions/changed)', function()
  local id = 'f205d6e4-de5f-4f14-8702-317c76336a05'
  -- A cold list reads large files head-and-tail only; the exact count follows as an update.
  -- Count from the exact figure, or the late update would be mistaken for the append.
  H.wait(10000, function()
    local s = sidebar.state.sessions['claude:' .. id]
    return s and s.countsExact
  end, 'exact message count of ' .. id)
  local before = sidebar.state.sessions['claude:' .. id].messageCount
  local text = H.claude_turn({
    session = id,
    parent = '5259aecd-719a-4fdf-afba-fe1ce884600a',
    prompt = 'sidebar live turn',
    reply = 'sidebar live reply',
  })
  local changed = 0
  vim.api.nvim_create_autocmd('User', {
    pattern = 'SessionSidecarSidebar',
    callback = function()
      changed = changed + 1
    end,
  })
  H.append(home .. H.claude_dir .. '/' .. id .. '.jsonl', text)
  H.wait(10000, function()
    local _, l = session_line(id)
    return l and l:find(' · ' .. (before + 2) .. ' · ', 1, true)
  end, 'message count ' .. (before + 2) .. ' on the sidebar line')
  H.truthy(changed > 0, 'redrawn by a notification')
  -- It is now the newest session: first under main.
  local lines = sidebar_lines()
  local main = H.find_line(lines, '^▾ main')
  local lnum = session_line(id)
  H.eq(main + 1, lnum, 'the appended session moved to the top of its branch')
  H.truthy(lines[lnum]:find('sidebar live turn', 1, true), 'title is the last prompt now: ' .. lines[lnum])
end)

H.test('a session file that disappears leaves the sidebar (sessions/changed removed)', function()
  local id = '4f51b52b-37fa-48ac-9fc2-00f708de9180'
  H.truthy(session_line(id), 'the fork session is listed')
  local path = sidebar.state.sessions['claude:' .. id].path
  H.truthy(path:find(home, 1, true), 'path inside the fixture copy')
  assert(os.rename(path, path .. '.moved-away'))
  H.wait(10000, function()
    return session_line(id) == nil
  end, 'the session gone from the sidebar')
end)

H.test('a sessions/changed that beats the list response stays applied over the list', function()
  local client = require('session_sidecar.client')
  local state = sidebar.state
  local id = 'f205d6e4-de5f-4f14-8702-317c76336a05'
  local key = 'claude:' .. id
  local newer = vim.deepcopy(state.sessions[key])
  newer.messageCount = newer.messageCount + 1000
  local done, err = false, nil
  client.list(state, {}, function(e)
    err, done = e, true
  end)
  -- The list request is out; its response cannot be read before this returns. The change
  -- arrives first and is newer than the list's items.
  client.handler('sessions/changed')(nil, { added = {}, updated = { newer }, removed = {} }, { client_id = state.client_id })
  H.wait(10000, function()
    return done
  end, 'the list response')
  H.eq(nil, err, 'list error')
  H.eq(newer.messageCount, state.sessions[key].messageCount, 'the change applied over the list')
  H.eq(nil, state.since_list, 'no change kept once the list is in')
  -- A later list replaces it again with the sidecar's own figure.
  local _, items = H.await(10000, function(cb)
    client.list(state, {}, cb)
  end, 'a second list')
  local listed
  for _, s in ipairs(items) do
    if s.id == id then
      listed = s
    end
  end
  H.eq(listed.messageCount, state.sessions[key].messageCount, 'the listed figure')
end)

H.test('toggling closes and reopens the sidebar with the same buffer', function()
  local buf = sidebar.buf
  vim.cmd('SessionsToggle')
  H.eq(nil, sidebar.win(), 'closed')
  vim.cmd('SessionsToggle')
  H.truthy(sidebar.win(), 'open again')
  H.eq(buf, sidebar.buf, 'same buffer')
end)

H.run()
