-- :Sessions against the real sidecar and a copy of the fixture home: the vim.ui.select items,
-- their text (title · agent · branch · age · messages · context %), the action menu, queries.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/helpers.lua')
local format = require('session_sidecar.format')

local home = H.fixture_home()
H.setup(home)
local expected = H.cli_json(home, { 'list', '--json' }).items

H.test('the sidecar starts per workspace root through vim.lsp and advertises the protocol', function()
  local state = H.start()
  H.eq('/home/dev/acme-webapp', state.root, 'root')
  H.eq(1, state.caps.protocolVersion, 'protocolVersion')
  local clients = vim.lsp.get_clients({ name = 'session_sidecar' })
  H.eq(1, #clients, 'one client')
  H.eq('/home/dev/acme-webapp', clients[1].config.init_options.workspace, 'init workspace')
  H.eq(home, clients[1].config.init_options.home, 'init home')
  -- A second ensure for the same root reuses the client.
  local again = require('session_sidecar.client').ensure()
  H.eq(state.client_id, again.client_id, 'same client for the same root')
end)

H.test(':Sessions offers every workspace session, newest first, as the CLI lists them', function()
  local calls = H.stub_select(nil)
  vim.cmd('Sessions')
  H.wait(10000, function()
    return #calls == 1
  end, 'vim.ui.select')
  local items = calls[1].items
  H.truthy(#expected >= 8, 'the fixture home has at least the 8 Claude sessions, got ' .. #expected)
  H.eq(#expected, #items, 'item count')
  for i, s in ipairs(expected) do
    H.eq(s.agent .. ':' .. s.id, items[i].agent .. ':' .. items[i].id, 'item ' .. i)
  end
  H.eq('session_sidecar.session', calls[1].opts.kind, 'kind')
  H.truthy(calls[1].opts.prompt:find('acme-webapp', 1, true), 'prompt names the workspace')
end)

H.test('picker lines read title · agent · branch · age · messages · context %', function()
  local calls = H.stub_select(nil)
  vim.cmd('Sessions')
  H.wait(10000, function()
    return #calls == 1
  end, 'vim.ui.select')
  local by_id = {}
  for i, s in ipairs(calls[1].items) do
    by_id[s.id] = calls[1].formatted[i]
  end
  -- a0a51dc5: renamed "Corpus title 4", main, 3 messages, 0.5% of a 1M window (protocol.md).
  local line = by_id['a0a51dc5-d7b2-43b0-80f6-e51fa390a987']
  local parts = vim.split(line, ' · ', { plain = true })
  H.eq(6, #parts, 'six fields in ' .. line)
  H.eq('Corpus title 4', parts[1], 'title')
  H.eq('claude', parts[2], 'agent')
  H.eq('main', parts[3], 'branch')
  H.truthy(parts[4]:match('^%d+%a+ ago$') or parts[4] == 'just now', 'age: ' .. parts[4])
  H.eq('3 msgs', parts[5], 'messages')
  -- Every line agrees with the CLI's JSON for that session.
  for _, s in ipairs(expected) do
    local p = vim.split(by_id[s.id], ' · ', { plain = true })
    H.eq(s.agent, p[2], s.id .. ' agent')
    H.eq(s.gitBranch == vim.NIL and 'no branch' or s.gitBranch, p[3], s.id .. ' branch')
    H.eq(format.messages(s.messageCount), p[5], s.id .. ' messages')
    local pct = s.context ~= vim.NIL and format.percent(s.context.percent)
    H.eq(pct or 'ctx ?', p[6], s.id .. ' context')
  end
  -- The feature/login sessions are labelled so.
  H.truthy(by_id['5c8ccf4c-96fa-4146-804a-a036ef32968c']:find(' · feature/login · ', 1, true), 'feature/login label')
end)

H.test('the context % is the fill of the window (a0a51dc5: 5212 of 1M tokens = 0.5%)', function()
  local calls = H.stub_select(nil)
  vim.cmd('Sessions Corpus title 4')
  H.wait(10000, function()
    return #calls == 1
  end, 'vim.ui.select')
  H.eq(1, #calls[1].items, 'one match')
  local parts = vim.split(calls[1].formatted[1], ' · ', { plain = true })
  H.eq('0.5%', parts[6], 'context of ' .. calls[1].formatted[1])
end)

H.test('picking a session opens the action menu: resume, history, fork, compress, rename, delete', function()
  local calls = H.stub_select(function(items, opts)
    if opts.kind == 'session_sidecar.session' then
      for _, s in ipairs(items) do
        if s.id:find('^f205d6e4') then
          return s
        end
      end
    end
    return nil
  end)
  vim.cmd('Sessions')
  H.wait(10000, function()
    return #calls == 2
  end, 'the action menu')
  H.eq('session_sidecar.action', calls[2].opts.kind, 'second select is the action menu')
  local ids = vim.tbl_map(function(a)
    return a.id
  end, calls[2].items)
  H.eq({ 'resume', 'history', 'fork', 'compress', 'rename', 'delete' }, ids, 'actions')
end)

H.test(':Sessions {query} narrows the list through sessions/list query', function()
  local calls = H.stub_select(nil)
  vim.cmd('Sessions feature/login')
  H.wait(10000, function()
    return #calls == 1
  end, 'vim.ui.select')
  H.truthy(#calls[1].items >= 2, 'at least the two feature/login sessions')
  for _, s in ipairs(calls[1].items) do
    H.eq('feature/login', s.gitBranch, s.id .. ' branch')
  end
end)

H.test('format: ages, percentages and token counts', function()
  local now = format.parse_time('2026-11-21T12:00:00.000Z')
  H.eq('just now', format.age('2026-11-21T11:59:30.000Z', now), 'seconds')
  H.eq('5m ago', format.age('2026-11-21T11:55:00.000Z', now), 'minutes')
  H.eq('3h ago', format.age('2026-11-21T09:00:00Z', now), 'hours')
  H.eq('2d ago', format.age('2026-11-19T12:00:00Z', now), 'days')
  H.eq('?', format.age(vim.NIL, now), 'null')
  H.eq(1795242500, format.parse_time('2026-11-21T06:28:20Z'), 'epoch seconds')
  H.eq('0.5%', format.percent(0.5), 'small percent')
  H.eq('42%', format.percent(42.25), 'large percent')
  H.eq('5%', format.percent(5.0), 'whole percent')
  H.eq('<0.1%', format.percent(0.02), 'tiny percent')
  H.eq('0%', format.percent(0), 'empty')
  H.eq('5.2k', format.tokens(5212), 'k')
  H.eq('1M', format.tokens(1000000), 'M')
  H.eq('Corpus title 4 · claude · main · 2d ago · 3 msgs · 0.5%', format.session_line({
    id = 'a0a51dc5-d7b2-43b0-80f6-e51fa390a987',
    agent = 'claude',
    title = 'Corpus title 4',
    gitBranch = 'main',
    lastModified = '2026-11-19T12:00:00Z',
    messageCount = 3,
    context = { percent = 0.5 },
  }, now), 'session_line')
end)

H.run()
