--- `:SessionHistory`: a scratch buffer with a session's conversation. The latest page first;
--- `[[` loads older pages above without moving the message under the cursor; messages
--- appended to the session arrive at the bottom through sessions/subscribe; tool output and
--- thinking are folded; `F` forks the session up to the message under the cursor.
local client = require('session_sidecar.client')
local config = require('session_sidecar.config')
local format = require('session_sidecar.format')
local protocol = require('session_sidecar.protocol')

local M = {}
local m = protocol.methods
local null = format.null

local ns = vim.api.nvim_create_namespace('session_sidecar_history')
local ns_hl = vim.api.nvim_create_namespace('session_sidecar_history_hl')

--- The folded body prefix: tool output, tool input, thinking.
M.BODY = '    │ '
local BODY_PAT = '^    │'

--- Lines above the first message: title, and the older-pages hint.
local HEADER_LINES = 2

---@class SessionSidecarHistoryBuf
---@field ref string "agent:id"
---@field state table the client state it talks to
---@field title string
---@field older_cursor string?
---@field newer_cursor string?
---@field has_older boolean
---@field loading boolean
---@field subscription string?
---@field live_error string?
---@field seen table<string, boolean>
---@field marks table<integer, string> extmark id -> message id
---@field items table<string, table> message id -> HistoryItem

---@type table<integer, SessionSidecarHistoryBuf>
M.buffers = {}

local function fire(buf, event)
  vim.api.nvim_exec_autocmds('User', {
    pattern = 'SessionSidecarHistory',
    modeline = false,
    data = { buf = buf, event = event },
  })
end

-- ---------------------------------------------------------------------------------------------
-- Rendering

local function split_lines(text)
  text = tostring(text or ''):gsub('\r\n', '\n')
  local out = vim.split(text, '\n', { plain = true })
  while #out > 1 and out[#out] == '' do
    table.remove(out)
  end
  return out
end

local function json(v)
  local ok, s = pcall(vim.json.encode, v)
  return ok and s or vim.inspect(v)
end

local SHORT_KEYS = {
  'command',
  'cmd',
  'file_path',
  'absolute_path',
  'path',
  'dir_path',
  'pattern',
  'query',
  'url',
  'description',
  'prompt',
}

local function tool_summary(input)
  if type(input) ~= 'table' then
    return null(input) and '' or tostring(input)
  end
  for _, k in ipairs(SHORT_KEYS) do
    if type(input[k]) == 'string' then
      return (input[k]:gsub('[\r\n]+', ' '))
    end
  end
  return json(input)
end

local function tool_body(input)
  if type(input) ~= 'table' then
    return {}
  end
  local keys = vim.tbl_keys(input)
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do
    local v = input[k]
    local text = type(v) == 'string' and v or json(v)
    local lines = split_lines(text)
    table.insert(out, k .. ': ' .. lines[1])
    for i = 2, #lines do
      table.insert(out, '  ' .. lines[i])
    end
  end
  return out
end

local function has_compaction(item)
  for _, b in ipairs(item.content or {}) do
    if b.type == 'compaction' then
      return true
    end
  end
  return false
end

--- Lines and highlights of one HistoryItem: returns lines, hls ({row, col_start, col_end, group}).
--- `opts.summary`: the item is (or carries) a compaction summary: its text is folded.
function M.render_item(item, opts)
  opts = opts or {}
  local fold_text = opts.summary or has_compaction(item)
  local lines, hls = {}, {}
  local function add(line, group)
    table.insert(lines, line)
    if group then
      table.insert(hls, { #lines - 1, 0, #line, group })
    end
  end
  local role = item.role or '?'
  local head = '● ' .. role
  local meta = {}
  if not null(item.timestamp) then
    table.insert(meta, format.clock(item.timestamp) or item.timestamp)
  end
  if not null(item.model) then
    table.insert(meta, item.model)
  end
  if #meta > 0 then
    head = head .. ' · ' .. table.concat(meta, ' · ')
  end
  add(head, role == 'user' and 'SessionSidecarUser' or role == 'assistant' and 'SessionSidecarAssistant' or 'SessionSidecarMeta')
  local function body(text_lines)
    for _, l in ipairs(text_lines) do
      add(M.BODY .. l, 'SessionSidecarBody')
    end
  end
  for _, b in ipairs(item.content or {}) do
    if b.type == 'text' and fold_text then
      local tl = split_lines(b.text)
      add(('  ≡ compaction summary (%d line%s)'):format(#tl, #tl == 1 and '' or 's'), 'SessionSidecarMeta')
      body(tl)
    elseif b.type == 'text' then
      for _, l in ipairs(split_lines(b.text)) do
        add('  ' .. l)
      end
    elseif b.type == 'thinking' then
      local tl = split_lines(b.text)
      add(('  ✻ thinking (%d line%s)'):format(#tl, #tl == 1 and '' or 's'), 'SessionSidecarTool')
      body(tl)
    elseif b.type == 'toolUse' then
      add(('  ⚙ %s  %s'):format(b.name or 'tool', format.truncate(tool_summary(b.input), 100)), 'SessionSidecarTool')
      body(tool_body(b.input))
    elseif b.type == 'toolResult' then
      local rl = split_lines(b.content)
      local n = (#rl == 1 and rl[1] == '') and 0 or #rl
      add(
        ('  ⎿ %s (%d line%s)'):format(b.isError and 'error' or 'result', n, n == 1 and '' or 's'),
        b.isError and 'SessionSidecarError' or 'SessionSidecarTool'
      )
      if n > 0 then
        body(rl)
      end
    elseif b.type == 'image' then
      add(('  [image%s]'):format(null(b.mediaType) and '' or (' ' .. b.mediaType)), 'SessionSidecarMeta')
    elseif b.type == 'compaction' then
      local fig = ''
      if not null(b.preTokens) then
        fig = (' %s → %s tokens'):format(format.tokens(b.preTokens), null(b.postTokens) and '?' or format.tokens(b.postTokens))
      end
      add(
        ('  ━━ compacted%s%s ━━'):format(null(b.trigger) and '' or (' (' .. b.trigger .. ')'), fig),
        'SessionSidecarMeta'
      )
    else
      add(('  [%s]'):format(tostring(b.type)), 'SessionSidecarMeta')
    end
  end
  if item.truncated then
    local key = config.options.history.keys.expand or '<CR>'
    add(('  … cut; %s loads the whole message'):format(key), 'SessionSidecarMeta')
  end
  add('')
  return lines, hls
end

local function render(items, seen)
  local lines, hls, starts, kept = {}, {}, {}, {}
  local after_compaction = false
  for _, item in ipairs(items) do
    -- The message right after a compaction is the summary the agent continues from.
    local summary = after_compaction and item.role == 'user'
    after_compaction = has_compaction(item)
    if not seen[item.id] then
      seen[item.id] = true
      local l, h = M.render_item(item, { summary = summary })
      table.insert(starts, #lines)
      table.insert(kept, item)
      for _, hl in ipairs(h) do
        table.insert(hls, { hl[1] + #lines, hl[2], hl[3], hl[4] })
      end
      vim.list_extend(lines, l)
    end
  end
  return lines, hls, starts, kept
end

local function set_lines(buf, s, e, lines)
  vim.bo[buf].modifiable = true
  vim.api.nvim_buf_set_lines(buf, s, e, false, lines)
  vim.bo[buf].modifiable = false
end

local function apply(buf, h, row, lines, hls, starts, kept)
  for _, hl in ipairs(hls) do
    pcall(vim.api.nvim_buf_set_extmark, buf, ns_hl, row + hl[1], hl[2], {
      end_col = hl[3],
      hl_group = hl[4],
    })
  end
  for i, start in ipairs(starts) do
    local id = vim.api.nvim_buf_set_extmark(buf, ns, row + start, 0, {})
    h.marks[id] = kept[i].id
    h.items[kept[i].id] = kept[i]
  end
end

local function header(buf, h)
  local hint
  if h.loading then
    hint = '⋯ loading…'
  elseif h.has_older then
    hint = ('⋯ older messages: %s loads them'):format(config.options.history.keys.older or '[[')
  else
    hint = '· beginning of the conversation'
  end
  if h.live_error then
    hint = hint .. '  (live updates off: ' .. h.live_error .. ')'
  end
  local stop = math.min(HEADER_LINES, vim.api.nvim_buf_line_count(buf))
  set_lines(buf, 0, stop, { ('%s  (%s)'):format(h.title, h.ref), hint })
  vim.api.nvim_buf_clear_namespace(buf, ns_hl, 0, HEADER_LINES)
  vim.api.nvim_buf_set_extmark(buf, ns_hl, 0, 0, { end_row = 0, end_col = #vim.api.nvim_buf_get_lines(buf, 0, 1, false)[1], hl_group = 'SessionSidecarTitle' })
  vim.api.nvim_buf_set_extmark(buf, ns_hl, 1, 0, { end_row = 1, end_col = #hint, hl_group = 'SessionSidecarMeta' })
end

-- ---------------------------------------------------------------------------------------------
-- Folding

function M.foldexpr(lnum)
  local line = vim.fn.getline(lnum)
  if line:find(BODY_PAT) then
    return '1'
  end
  local next_line = vim.fn.getline(lnum + 1)
  if next_line:find(BODY_PAT) then
    return '>1'
  end
  return '0'
end

local function setup_window(win)
  vim.wo[win].foldmethod = 'expr'
  vim.wo[win].foldexpr = "v:lua.require'session_sidecar.history'.foldexpr(v:lnum)"
  vim.wo[win].foldlevel = 0
  vim.wo[win].foldenable = true
  vim.wo[win].wrap = true
  vim.wo[win].linebreak = true
  vim.wo[win].number = false
  vim.wo[win].relativenumber = false
  vim.wo[win].signcolumn = 'no'
  vim.wo[win].foldcolumn = '1'
  -- A closed fold shows its first line as is (highlighted), not "+-- N lines".
  vim.wo[win].foldtext = ''
  vim.wo[win].fillchars = 'fold: '
end

-- ---------------------------------------------------------------------------------------------
-- Messages under the cursor

--- The HistoryItem whose lines hold `row` (0-based), and its first row.
function M.item_at(buf, row)
  local h = M.buffers[buf]
  if not h then
    return nil
  end
  local marks = vim.api.nvim_buf_get_extmarks(buf, ns, { row, 0 }, 0, { limit = 1 })
  local mk = marks[1]
  if not mk then
    return nil
  end
  local id = h.marks[mk[1]]
  return id and h.items[id] or nil, mk[2]
end

--- The message under the cursor of the current window.
function M.current_item()
  local buf = vim.api.nvim_get_current_buf()
  local row = vim.api.nvim_win_get_cursor(0)[1] - 1
  return M.item_at(buf, row)
end

-- ---------------------------------------------------------------------------------------------
-- Paging and live appends

local function windows_of(buf)
  return vim.fn.win_findbuf(buf)
end

--- Load the page older than the one at the top; the cursor stays on its message.
function M.load_older(buf, done)
  buf = (buf == nil or buf == 0) and vim.api.nvim_get_current_buf() or buf
  local h = M.buffers[buf]
  if not h or h.loading then
    return
  end
  if not h.has_older then
    client.notify('this is the beginning of the conversation')
    if done then
      done(nil, 0)
    end
    return
  end
  h.loading = true
  header(buf, h)
  local params = { session = h.ref, limit = config.options.history.page_size, before = h.older_cursor }
  client.request_state(h.state, m.history, params, function(err, page)
    if not vim.api.nvim_buf_is_valid(buf) then
      return
    end
    h.loading = false
    if err then
      header(buf, h)
      client.notify('loading older messages failed: ' .. client.error_message(err), vim.log.levels.ERROR)
      if done then
        done(err)
      end
      return
    end
    local lines, hls, starts, kept = render(page.items or {}, h.seen)
    h.has_older = page.hasOlder and true or false
    if not null(page.olderCursor) then
      h.older_cursor = page.olderCursor
    end
    -- Keep every window's view on the same message: shift cursor and topline by what was added.
    local views = {}
    for _, win in ipairs(windows_of(buf)) do
      views[win] = vim.api.nvim_win_call(win, vim.fn.winsaveview)
    end
    if #lines > 0 then
      set_lines(buf, HEADER_LINES, HEADER_LINES, lines)
      apply(buf, h, HEADER_LINES, lines, hls, starts, kept)
    end
    header(buf, h)
    local n = #lines
    for win, view in pairs(views) do
      if vim.api.nvim_win_is_valid(win) then
        view.lnum = view.lnum + n
        view.topline = view.topline + n
        vim.api.nvim_win_call(win, function()
          vim.fn.winrestview(view)
        end)
      end
    end
    fire(buf, 'older')
    if done then
      done(nil, #kept)
    end
  end)
end

local function append_items(buf, h, items)
  local lines, hls, starts, kept = render(items, h.seen)
  if #lines == 0 then
    return 0
  end
  local count = vim.api.nvim_buf_line_count(buf)
  -- Windows whose cursor is on the last line follow the conversation.
  local follow = {}
  for _, win in ipairs(windows_of(buf)) do
    if vim.api.nvim_win_get_cursor(win)[1] >= count then
      table.insert(follow, win)
    end
  end
  set_lines(buf, count, count, lines)
  apply(buf, h, count, lines, hls, starts, kept)
  local last = vim.api.nvim_buf_line_count(buf)
  for _, win in ipairs(follow) do
    vim.api.nvim_win_set_cursor(win, { last, 0 })
  end
  return #kept
end

local function on_appended(state, p)
  for buf, h in pairs(M.buffers) do
    if h.state == state and h.subscription and h.subscription == p.subscription then
      if vim.api.nvim_buf_is_valid(buf) then
        if not null(p.newerCursor) then
          h.newer_cursor = p.newerCursor
        end
        if append_items(buf, h, p.items or {}) > 0 then
          fire(buf, 'appended')
        end
      end
    end
  end
end

local function unsubscribe(h)
  if h.subscription then
    client.request_state(h.state, m.unsubscribe, { subscription = h.subscription }, function() end)
    h.subscription = nil
  end
end

-- ---------------------------------------------------------------------------------------------
-- Opening

local function set_keys(buf)
  local keys = config.options.history.keys
  local function map(name, fn, desc)
    local lhs = keys[name]
    if lhs then
      vim.keymap.set('n', lhs, fn, { buffer = buf, nowait = true, silent = true, desc = desc })
    end
  end
  map('older', function()
    M.load_older(buf)
  end, 'session-sidecar: load older messages')
  map('fork', function()
    M.fork_at_cursor()
  end, 'session-sidecar: fork up to the message under the cursor')
  map('resume', function()
    require('session_sidecar.actions').resume(M.buffers[buf].ref)
  end, 'session-sidecar: resume this session')
  map('expand', function()
    M.expand_at_cursor()
  end, 'session-sidecar: load the whole message under the cursor')
  map('close', function()
    vim.cmd('close')
  end, 'session-sidecar: close')
end

--- Fork the session up to and including the message under the cursor.
function M.fork_at_cursor(opts, done)
  local buf = vim.api.nvim_get_current_buf()
  local h = M.buffers[buf]
  if not h then
    return
  end
  local item = M.current_item()
  if not item then
    client.notify('no message under the cursor', vim.log.levels.WARN)
    return
  end
  local o = vim.tbl_extend('force', { up_to = item.id }, opts or {})
  require('session_sidecar.actions').fork(h.ref, o, done)
end

--- Replace the (truncated) message under the cursor with its whole text (sessions/message).
function M.expand_at_cursor(done)
  local buf = vim.api.nvim_get_current_buf()
  local h = M.buffers[buf]
  local row = vim.api.nvim_win_get_cursor(0)[1] - 1
  local item, start = M.item_at(buf, row)
  if not h or not item then
    return
  end
  if not item.truncated then
    -- Toggle the fold under the cursor instead.
    pcall(vim.cmd, 'normal! za')
    return
  end
  client.request_state(h.state, m.message, { session = h.ref, id = item.id }, function(err, whole)
    if err then
      client.notify('loading the message failed: ' .. client.error_message(err), vim.log.levels.ERROR)
      return
    end
    if not vim.api.nvim_buf_is_valid(buf) then
      return
    end
    -- The item ends where the next message starts.
    local nxt = vim.api.nvim_buf_get_extmarks(buf, ns, { start + 1, 0 }, -1, { limit = 1 })[1]
    local stop = nxt and nxt[2] or vim.api.nvim_buf_line_count(buf)
    local lines, hls = M.render_item(whole)
    for id, mid in pairs(h.marks) do
      if mid == item.id then
        vim.api.nvim_buf_del_extmark(buf, ns, id)
        h.marks[id] = nil
      end
    end
    vim.api.nvim_buf_clear_namespace(buf, ns_hl, start, stop)
    set_lines(buf, start, stop, lines)
    apply(buf, h, start, lines, hls, { 0 }, { whole })
    fire(buf, 'expanded')
    if done then
      done()
    end
  end)
end

--- Make the window the buffer goes into: an Ex command ('split', 'vsplit', 'tab split', …);
--- 'current' (or '' / 'edit') uses the current window.
local function open_window(cmd)
  if cmd and cmd ~= '' and cmd ~= 'current' and cmd ~= 'edit' then
    vim.cmd(cmd)
  end
end

local function find_buffer(name)
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_valid(b) and vim.api.nvim_buf_get_name(b) == name then
      return b
    end
  end
end

--- Open the history of a session (a summary or a ref; nil asks through the picker).
--- `done(buf)` runs once the first page is shown.
function M.open(session, opts, done)
  opts = opts or {}
  local actions = require('session_sidecar.actions')
  actions.with_session(session, 'Session history', function(ref, summary)
    local state, err = client.ensure()
    if not state then
      client.notify(err, vim.log.levels.ERROR)
      return
    end
    -- Resolve the ref to the canonical agent:id first, so one session has one buffer.
    client.request_state(state, m.info, { session = ref }, function(ierr, info)
      if ierr then
        client.notify('history failed: ' .. client.error_message(ierr), vim.log.levels.ERROR)
        if done then
          done(nil, ierr)
        end
        return
      end
      summary = info or summary
      ref = client.key(summary)
      local name = 'session-sidecar://history/' .. ref
      local existing = find_buffer(name)
      if existing and M.buffers[existing] then
        local wins = windows_of(existing)
        if #wins > 0 then
          vim.api.nvim_set_current_win(wins[1])
        else
          open_window(opts.open or config.options.history.open)
          vim.api.nvim_win_set_buf(0, existing)
          setup_window(0)
        end
        if done then
          done(existing)
        end
        return
      end
      local buf = vim.api.nvim_create_buf(false, true)
      vim.api.nvim_buf_set_name(buf, name)
      vim.bo[buf].buftype = 'nofile'
      vim.bo[buf].bufhidden = 'wipe'
      vim.bo[buf].swapfile = false
      vim.bo[buf].filetype = 'sessionsidecar_history'
      local h = {
        ref = ref,
        state = state,
        title = format.title(summary),
        has_older = false,
        loading = true,
        seen = {},
        marks = {},
        items = {},
      }
      M.buffers[buf] = h
      header(buf, h)
      open_window(opts.open or config.options.history.open)
      vim.api.nvim_win_set_buf(0, buf)
      setup_window(0)
      set_keys(buf)
      vim.api.nvim_create_autocmd('BufWinEnter', {
        buffer = buf,
        callback = function()
          setup_window(0)
        end,
      })
      vim.api.nvim_create_autocmd({ 'BufWipeout' }, {
        buffer = buf,
        callback = function()
          unsubscribe(h)
          M.buffers[buf] = nil
        end,
      })
      local params = { session = ref, limit = config.options.history.page_size }
      client.request_state(state, m.history, params, function(herr, page)
        if not vim.api.nvim_buf_is_valid(buf) then
          return
        end
        h.loading = false
        if herr then
          h.live_error = nil
          header(buf, h)
          set_lines(buf, HEADER_LINES, -1, { '  ' .. client.error_message(herr) })
          client.notify('history failed: ' .. client.error_message(herr), vim.log.levels.ERROR)
          if done then
            done(buf, herr)
          end
          return
        end
        h.has_older = page.hasOlder and true or false
        h.older_cursor = not null(page.olderCursor) and page.olderCursor or nil
        h.newer_cursor = not null(page.newerCursor) and page.newerCursor or nil
        local lines, hls, starts, kept = render(page.items or {}, h.seen)
        set_lines(buf, HEADER_LINES, -1, lines)
        apply(buf, h, HEADER_LINES, lines, hls, starts, kept)
        header(buf, h)
        for _, win in ipairs(windows_of(buf)) do
          vim.api.nvim_win_set_cursor(win, { vim.api.nvim_buf_line_count(buf), 0 })
          vim.api.nvim_win_call(win, function()
            vim.cmd('normal! zb')
          end)
        end
        -- Live: everything after the page we hold, without gaps or duplicates.
        client.request_state(state, m.subscribe, { session = ref, after = h.newer_cursor }, function(serr, sub)
          if serr then
            h.live_error = client.error_message(serr)
          else
            h.subscription = sub.subscription
            h.live_error = nil
          end
          if vim.api.nvim_buf_is_valid(buf) then
            header(buf, h)
            fire(buf, 'subscribed')
          else
            unsubscribe(h)
          end
        end)
        fire(buf, 'page')
        if done then
          done(buf)
        end
      end)
    end)
  end)
end

client.on('appended', on_appended)
client.on('exit', function(state)
  for _, h in pairs(M.buffers) do
    if h.state == state then
      h.subscription = nil
      h.live_error = 'the sidecar exited'
    end
  end
end)

return M
