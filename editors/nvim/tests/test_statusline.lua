-- require('session_sidecar').statusline(): the active session's context gauge, cached from
-- sessions/contextUsage (seeded from the newest session at start), with warning/error groups.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/helpers.lua')

local home = H.fixture_home()
local sc = H.setup(home, { thresholds = { warn = 70, error = 90 } })

local STL = "%{%v:lua.require'session_sidecar'.statusline()%}"

local function eval()
  local r = vim.api.nvim_eval_statusline(STL, { highlights = true, maxwidth = 200 })
  local groups = {}
  for _, h in ipairs(r.highlights or {}) do
    table.insert(groups, h.group)
  end
  return r.str, groups
end

H.test('no sidecar yet: the statusline component is empty', function()
  H.eq('', sc.statusline(), 'statusline')
  H.eq('', eval(), 'evaluated')
end)

local state

H.test('once started it shows the newest session\'s context fill', function()
  state = H.start()
  local newest = H.cli_json(home, { 'list', '--json', '--limit', '1' }).items[1]
  H.truthy(newest.context ~= vim.NIL, 'the newest fixture session has a context fill')
  H.wait(10000, function()
    return sc.context() and sc.context().id == newest.id
  end, 'the gauge on the newest session ' .. newest.id)
  local format = require('session_sidecar.format')
  local want = ('ctx %s (%s/%s)'):format(
    format.percent(newest.context.percent),
    format.tokens(newest.context.usedTokens),
    format.tokens(newest.context.contextWindow)
  )
  H.eq(want, sc.statusline_text(), 'plain text')
  local str, groups = eval()
  H.eq(want, str, 'evaluated statusline')
  H.contains(groups, 'SessionSidecarContextOk', 'ok group')
  H.eq(newest.id, sc.context().id, 'gauge session')
end)

local SID = 'f205d6e4-de5f-4f14-8702-317c76336a05'
local parent = '5259aecd-719a-4fdf-afba-fe1ce884600a'

local function turn(tokens, label)
  local text, reply = H.claude_turn({
    session = SID,
    parent = parent,
    prompt = label .. ' prompt',
    reply = label .. ' reply',
    input_tokens = tokens,
  })
  parent = reply
  H.append(home .. H.claude_dir .. '/' .. SID .. '.jsonl', text)
end

H.test('a turn that fills 75% of the window turns the gauge to warning (sessions/contextUsage)', function()
  turn(750000, 'warn')
  H.wait(10000, function()
    return sc.context() and sc.context().id == SID and sc.context().percent >= 75
  end, 'contextUsage for the written session')
  H.eq('ctx 75% (750k/1M)', sc.statusline_text(), 'text')
  local str, groups = eval()
  H.eq('ctx 75% (750k/1M)', str, 'evaluated')
  H.contains(groups, 'SessionSidecarContextWarn', 'warning group')
  H.eq('warn', sc.context().level, 'level')
end)

H.test('95% turns it to error; the % sign is escaped for the statusline', function()
  turn(950000, 'error')
  H.wait(10000, function()
    return sc.context() and sc.context().percent >= 95
  end, 'contextUsage at 95%')
  H.eq('%#SessionSidecarContextError#ctx 95%% (950k/1M)%*', sc.statusline(), 'raw component')
  local str, groups = eval()
  H.eq('ctx 95% (950k/1M)', str, 'evaluated')
  H.contains(groups, 'SessionSidecarContextError', 'error group')
end)

H.test('the highlight groups exist and link to diagnostics by default', function()
  for _, g in ipairs({ 'SessionSidecarContextOk', 'SessionSidecarContextWarn', 'SessionSidecarContextError' }) do
    local hl = vim.api.nvim_get_hl(0, { name = g })
    H.truthy(hl.link and hl.link:find('^Diagnostic'), g .. ' links to a Diagnostic group')
  end
end)

H.test('a custom format function gets the gauge data', function()
  require('session_sidecar.config').options.statusline.format = function(ctx)
    return ('%s %d%%'):format(ctx.agent, math.floor(ctx.percent))
  end
  H.eq('claude 95%', sc.statusline_text(), 'custom text')
  H.eq('%#SessionSidecarContextError#claude 95%%%*', sc.statusline(), 'custom, escaped')
  require('session_sidecar.config').options.statusline.format = nil
end)

H.test('statusline() never sends a request: it reads what sessions/contextUsage pushed', function()
  local client = require('session_sidecar.client')
  local sent = 0
  local orig = client.request_state
  client.request_state = function(...)
    sent = sent + 1
    return orig(...)
  end
  -- A push for the active session, delivered through the plugin's own handler.
  local status = vim.deepcopy(state.context)
  status.usedTokens, status.percent = 812345, 81.2
  client.handler('sessions/contextUsage')(nil, status, { client_id = state.client_id })
  for _ = 1, 100 do
    sc.statusline()
  end
  H.eq('ctx 81% (812.3k/1M)', sc.statusline_text(), 'the pushed figures')
  H.eq('warn', sc.context().level, 'level')
  -- A push about a session older than the newest one is not the active session's.
  local older = vim.deepcopy(status)
  older.session = { agent = 'claude', id = 'a0a51dc5-d7b2-43b0-80f6-e51fa390a987' }
  older.percent, older.usedTokens = 1.5, 15000
  client.handler('sessions/contextUsage')(nil, older, { client_id = state.client_id })
  H.eq('ctx 81% (812.3k/1M)', sc.statusline_text(), 'ignored')
  -- ... unless the change notice that makes it the newest follows: then it is the active one.
  local original = state.sessions['claude:a0a51dc5-d7b2-43b0-80f6-e51fa390a987']
  local summary = vim.deepcopy(original)
  summary.lastModified = os.date('!%Y-%m-%dT%H:%M:%S.999Z', os.time() + 60)
  client.handler('sessions/changed')(nil, { added = {}, updated = { summary }, removed = {} }, { client_id = state.client_id })
  H.eq('ctx 1.5% (15k/1M)', sc.statusline_text(), 'the held push')
  -- Past the grace period no make-up request goes out either.
  vim.wait(800)
  client.request_state = orig
  H.eq(0, sent, 'no request')
  state.sessions['claude:a0a51dc5-d7b2-43b0-80f6-e51fa390a987'] = original
end)

H.test('a new session becomes the active one: no gauge until its first model turn, then its own', function()
  local id = H.uuid()
  local text = H.claude_turn({ session = id, parent = vim.NIL, prompt = 'a brand new session', reply = 'first answer', input_tokens = 420000 })
  local lines = vim.split(text, '\n', { trimempty = true })
  local path = home .. H.claude_dir .. '/' .. id .. '.jsonl'
  H.append(path, lines[1] .. '\n')
  local trail = {}
  local off = require('session_sidecar.client').on('context', function(_, p)
    table.insert(trail, p and (p.session.id:sub(1, 8) .. ' ' .. tostring(p.percent)) or 'cleared')
  end)
  local ok = pcall(H.wait, 10000, function()
    return state.sessions['claude:' .. id] ~= nil and sc.statusline_text() == ''
  end)
  off()
  H.truthy(ok, 'the new session listed and the gauge cleared: ' .. vim.inspect({ trail = trail, text = sc.statusline_text(), newest = require('session_sidecar.client').newest(state).id, new = id }))
  H.append(path, lines[2] .. '\n' .. lines[3] .. '\n')
  H.wait(10000, function()
    return sc.context() and sc.context().id == id and sc.statusline_text() == 'ctx 42% (420k/1M)'
  end, 'the gauge on the new session at 42%')
end)

H.run()
