-- :SessionHistory: the latest page, `[[` pages older messages in above the cursor's message
-- without moving it, live appends arrive at the bottom (sessions/subscribe), tool output is
-- folded, `F` forks up to the message under the cursor, <CR> loads a cut message whole.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/helpers.lua')
local protocol = require('session_sidecar.protocol')
local m = protocol.methods

local home = H.fixture_home()
local PAGE = 3
H.setup(home, { history = { page_size = PAGE }, truncate_bytes = 40 })
H.start()
local history = require('session_sidecar.history')

local SID = '59e7b833-aace-4821-88a8-f970caa6c194'
local KEY = 'claude:' .. SID

local events = {}
vim.api.nvim_create_autocmd('User', {
  pattern = 'SessionSidecarHistory',
  callback = function(ev)
    table.insert(events, ev.data.event)
  end,
})
local function count(ev)
  return #vim.tbl_filter(function(e)
    return e == ev
  end, events)
end

--- Message ids in buffer order, from the plugin's extmarks.
local function buffer_ids(buf)
  local out = {}
  local ns = vim.api.nvim_get_namespaces()['session_sidecar_history']
  for _, mk in ipairs(vim.api.nvim_buf_get_extmarks(buf, ns, 0, -1, {})) do
    table.insert(out, history.buffers[buf].marks[mk[1]])
  end
  return out
end

local function ids(items)
  return vim.tbl_map(function(i)
    return i.id
  end, items)
end

local full -- the whole conversation, one page
local buf

H.test(':SessionHistory <prefix> shows the latest page in a scratch buffer', function()
  local err
  err, full = H.request(m.history, { session = KEY, limit = 1000 })
  H.eq(nil, err, 'sessions/history error')
  H.truthy(#full.items > PAGE * 2, 'the session has more than two pages: ' .. #full.items)
  vim.cmd('SessionHistory 59e7b833')
  H.wait(10000, function()
    return count('page') == 1 and count('subscribed') == 1
  end, 'first page and subscription')
  buf = vim.api.nvim_get_current_buf()
  H.eq('session-sidecar://history/' .. KEY, vim.api.nvim_buf_get_name(buf), 'buffer name')
  H.eq('nofile', vim.bo[buf].buftype, 'scratch')
  H.eq(false, vim.bo[buf].modifiable, 'read-only')
  local latest = vim.list_slice(ids(full.items), #full.items - PAGE + 1)
  H.eq(latest, buffer_ids(buf), 'the latest page, chronological')
  local lines = H.lines(buf)
  H.truthy(lines[2]:find('[[', 1, true), 'hint for older pages: ' .. lines[2])
  H.eq(vim.api.nvim_buf_line_count(buf), vim.api.nvim_win_get_cursor(0)[1], 'cursor at the latest message')
  H.truthy(history.buffers[buf].subscription, 'subscribed')
end)

H.test('[[ loads older pages above without moving the message under the cursor', function()
  -- Cursor on the second line of the first message shown.
  local ns = vim.api.nvim_get_namespaces()['session_sidecar_history']
  local first = vim.api.nvim_buf_get_extmarks(buf, ns, 0, -1, { limit = 1 })[1]
  vim.api.nvim_win_set_cursor(0, { first[2] + 2, 0 })
  local item = history.current_item()
  local screen_row = vim.fn.winline()
  local pages = 0
  while history.buffers[buf].has_older do
    local before = count('older')
    vim.cmd('normal [[')
    H.wait(10000, function()
      return count('older') == before + 1
    end, 'an older page')
    pages = pages + 1
    H.eq(item.id, history.current_item().id, 'the cursor stays on its message after page ' .. pages)
    local _, start = history.item_at(buf, vim.api.nvim_win_get_cursor(0)[1] - 1)
    H.eq(2, vim.api.nvim_win_get_cursor(0)[1] - start, 'same line within the message')
    H.eq(screen_row, vim.fn.winline(), 'same screen row')
    H.truthy(pages < 50, 'paging ends')
  end
  H.truthy(pages >= 2, 'took at least two older pages: ' .. pages)
  H.eq(ids(full.items), buffer_ids(buf), 'all pages together are the whole conversation, in order, once')
  H.truthy(H.lines(buf)[2]:find('beginning of the conversation', 1, true), 'hint at the start')
end)

H.test('tool output and thinking are folded', function()
  local lines = H.lines(buf)
  local result = H.find_line(lines, '^  ⎿ result')
  H.truthy(result, 'a tool result line')
  H.eq('>1', history.foldexpr(result), 'fold starts at the result header')
  H.eq('1', history.foldexpr(result + 1), 'result body folded')
  H.truthy(lines[result + 1]:find(history.BODY, 1, true) == 1, 'body prefix')
  H.truthy(vim.fn.foldclosed(result) ~= -1, 'closed by default')
  local tool = H.find_line(lines, '^  ⚙ Bash')
  H.truthy(tool, 'a Bash tool call line')
  H.truthy(H.find_line(lines, '^  ✻ thinking'), 'a thinking block')
  H.eq('0', history.foldexpr(1), 'title not folded')
end)

H.test('a turn appended to the session file arrives at the bottom (sessions/appended)', function()
  local last = full.items[#full.items]
  local text = H.claude_turn({ session = SID, parent = last.id, prompt = 'live prompt from the test', reply = 'live reply from the mock' })
  vim.cmd('normal! G')
  local before = count('appended')
  H.append(home .. H.claude_dir .. '/' .. SID .. '.jsonl', text)
  H.wait(10000, function()
    local l = H.lines(buf)
    return H.find_line(l, 'live reply from the mock', true) ~= nil
  end, 'the appended reply in the buffer')
  H.truthy(count('appended') > before, 'appended event')
  local l = H.lines(buf)
  local p, r = H.find_line(l, 'live prompt from the test', true), H.find_line(l, 'live reply from the mock', true)
  H.truthy(p and r and p < r, 'prompt then reply')
  H.truthy(r > #l - 4, 'at the bottom')
  H.eq(#l, vim.api.nvim_win_get_cursor(0)[1], 'a cursor at the end follows')
  H.eq(#full.items + 2, #buffer_ids(buf), 'two more messages, no duplicates')
end)

H.test('F forks the session up to the message under the cursor', function()
  local target = full.items[3]
  local ns = vim.api.nvim_get_namespaces()['session_sidecar_history']
  for _, mk in ipairs(vim.api.nvim_buf_get_extmarks(buf, ns, 0, -1, {})) do
    if history.buffers[buf].marks[mk[1]] == target.id then
      vim.api.nvim_win_set_cursor(0, { mk[2] + 1, 0 })
    end
  end
  H.eq(target.id, history.current_item().id, 'cursor on the target message')
  local result
  local au = vim.api.nvim_create_autocmd('User', {
    pattern = 'SessionSidecarAction',
    callback = function(ev)
      if ev.data.action == 'fork' then
        result = ev.data.result
      end
    end,
  })
  local client = require('session_sidecar.client')
  local sent
  local orig = client.request
  client.request = function(method, params, cb, root)
    if method == m.fork then
      sent = params
    end
    return orig(method, params, cb, root)
  end
  vim.cmd('normal F')
  H.wait(15000, function()
    return result ~= nil
  end, 'the fork')
  client.request = orig
  vim.api.nvim_del_autocmd(au)
  H.eq({ session = KEY, upToMessage = target.id }, sent, 'sessions/fork params')
  local s = result.session
  H.truthy(s.id ~= SID, 'a new session')
  H.eq(SID, s.forkedFrom.sessionId, 'forkedFrom')
  local err, page = H.request(m.history, { session = 'claude:' .. s.id, limit = 1000 })
  H.eq(nil, err, 'history of the fork')
  H.eq(3, #page.items, 'the fork holds the messages up to the target')
  H.eq(target.role, page.items[3].role, 'last message role')
  H.eq(vim.json.encode(target.content), vim.json.encode(page.items[3].content), 'last message content')
end)

H.test('<CR> on a cut message loads it whole (sessions/message)', function()
  local ns = vim.api.nvim_get_namespaces()['session_sidecar_history']
  local cut
  for _, mk in ipairs(vim.api.nvim_buf_get_extmarks(buf, ns, 0, -1, {})) do
    local it = history.buffers[buf].items[history.buffers[buf].marks[mk[1]]]
    if it and it.truncated then
      cut = { item = it, row = mk[2] }
      break
    end
  end
  H.truthy(cut, 'a message cut at truncate_bytes = 40')
  vim.api.nvim_win_set_cursor(0, { cut.row + 1, 0 })
  local before = count('expanded')
  vim.cmd('execute "normal \\<CR>"')
  H.wait(10000, function()
    return count('expanded') == before + 1
  end, 'the whole message')
  local whole = history.buffers[buf].items[cut.item.id]
  H.eq(false, whole.truncated, 'not truncated any more')
  H.eq(cut.item.id, history.current_item().id, 'still on the message')
  local err, direct = H.request(m.message, { session = KEY, id = cut.item.id })
  H.eq(nil, err, 'sessions/message')
  H.eq(vim.json.encode(direct.content), vim.json.encode(whole.content), 'the whole content')
end)

H.test('rendering: compaction banners, folded summaries, tool calls, errors, images', function()
  local lines = history.render_item({
    id = 'x',
    role = 'system',
    content = {
      { type = 'compaction', trigger = 'manual', preTokens = 9000, postTokens = 6800 },
      { type = 'text', text = 'summary line 1\nsummary line 2' },
    },
  })
  H.eq({
    '● system',
    '  ━━ compacted (manual) 9k → 6.8k tokens ━━',
    '  ≡ compaction summary (2 lines)',
    history.BODY .. 'summary line 1',
    history.BODY .. 'summary line 2',
    '',
  }, lines, 'qwen-style compaction item')
  lines = history.render_item({
    id = 'y',
    role = 'assistant',
    model = 'm',
    timestamp = '2026-11-21T06:23:01.000Z',
    truncated = true,
    content = {
      { type = 'toolUse', id = 't', name = 'exec_command', input = { cmd = 'ls -a', yield_time_ms = 1000 } },
      { type = 'toolResult', toolUseId = 't', content = 'boom', isError = true },
      { type = 'image', mediaType = 'image/png' },
    },
  })
  H.eq({
    '● assistant · 2026-11-21 06:23 · m',
    '  ⚙ exec_command  ls -a',
    history.BODY .. 'cmd: ls -a',
    history.BODY .. 'yield_time_ms: 1000',
    '  ⎿ error (1 line)',
    history.BODY .. 'boom',
    '  [image image/png]',
    '  … cut; <CR> loads the whole message',
    '',
  }, lines, 'tools, error, image, cut')
end)

H.test('wiping the buffer unsubscribes', function()
  local h = history.buffers[buf]
  local sub = h.subscription
  H.truthy(sub, 'had a subscription')
  local client = require('session_sidecar.client')
  local sent = {}
  local orig = client.request_state
  client.request_state = function(state, method, params, cb)
    table.insert(sent, { method = method, params = params })
    return orig(state, method, params, cb)
  end
  vim.api.nvim_buf_delete(buf, { force = true })
  client.request_state = orig
  H.eq(nil, history.buffers[buf], 'state dropped')
  H.eq(m.unsubscribe, sent[1] and sent[1].method, 'unsubscribe sent')
  H.eq({ subscription = sub }, sent[1].params, 'the subscription id')
end)

H.run()
