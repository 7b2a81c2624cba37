-- The mutating commands against the real sidecar: :SessionFork, :SessionRename,
-- :SessionCompress (trim), :SessionDelete and :SessionRestore; each result checked through the
-- sidecar itself and the plugin's session cache.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/helpers.lua')
local protocol = require('session_sidecar.protocol')
local m = protocol.methods

local home = H.fixture_home()
H.setup(home)
local state = H.start()

local results = {}
vim.api.nvim_create_autocmd('User', {
  pattern = 'SessionSidecarAction',
  callback = function(ev)
    results[ev.data.action] = ev.data.result
  end,
})

local failures = {}
vim.api.nvim_create_autocmd('User', {
  pattern = 'SessionSidecarActionFailed',
  callback = function(ev)
    failures[ev.data.action] = ev.data.message
  end,
})

local function run(cmd, action)
  results[action], failures[action] = nil, nil
  vim.cmd(cmd)
  H.wait(30000, function()
    return results[action] ~= nil or failures[action] ~= nil
  end, action .. ' result')
  if failures[action] then
    error(action .. ' failed: ' .. failures[action], 2)
  end
  return results[action]
end

local SID = 'f8b620d5-3e65-440f-b212-18ee553a6a7b'

H.test(':SessionFork <id> <title> makes a titled copy', function()
  local res = run('SessionFork ' .. SID .. ' Fork from nvim', 'fork')
  H.truthy(res.session.id ~= SID, 'new id')
  H.eq(SID, res.session.forkedFrom.sessionId, 'forkedFrom')
  H.eq('Fork from nvim', res.session.title, 'title')
  local err, info = H.request(m.info, { session = 'claude:' .. res.session.id })
  H.eq(nil, err, 'the fork exists for the sidecar')
  H.eq('Fork from nvim', info.customTitle, 'custom title recorded')
  H.wait(10000, function()
    return state.sessions['claude:' .. res.session.id] ~= nil
  end, 'the fork in the plugin cache')
end)

H.test(':SessionRename without a title asks with vim.ui.input (current title as default)', function()
  local asked = H.stub_input('Renamed in nvim')
  local res = run('SessionRename ' .. SID, 'rename')
  H.eq(1, #asked, 'asked once')
  H.eq('corpus 2 turn 3 after compaction', asked[1].default, 'default is the current title')
  H.eq('Renamed in nvim', res.session.title, 'title')
  local _, info = H.request(m.info, { session = SID })
  H.eq('Renamed in nvim', info.customTitle, 'the sidecar reads the new title back')
end)

--- Answers the strategy question with "trim"; returns the recorded vim.ui.select calls.
local function choose_trim()
  return H.stub_select(function(items, opts)
    if opts.kind == 'session_sidecar.compress' then
      return vim.iter(items):find(function(i)
        return i.id == 'trim'
      end)
    end
  end)
end

H.test(':SessionCompress asks the strategy; trim writes a smaller fork', function()
  local calls = choose_trim()
  local res = run('SessionCompress ' .. SID, 'compress')
  H.eq(1, #calls, 'asked for the strategy')
  H.eq({ 'trim', 'agent' }, vim.tbl_map(function(i)
    return i.id
  end, calls[1].items), 'strategies')
  H.truthy(res.session.id ~= SID, 'trim makes a new session')
  H.eq(true, res.estimated, 'trim figures are estimates')
  H.truthy(res.tokensAfter <= res.tokensBefore, 'not bigger')
end)

H.test(':SessionCompress on a Gemini session trims without asking (no headless compaction)', function()
  local gemini = 'gemini:47d75b93-bf15-4461-8bef-b1f7c7e23d6b'
  local calls = H.stub_select(function()
    return nil
  end)
  local res = run('SessionCompress ' .. gemini, 'compress')
  H.eq(0, #calls, 'no strategy question')
  H.eq('gemini', res.session.agent, 'a Gemini fork')
  H.truthy(res.session.id ~= '47d75b93-bf15-4461-8bef-b1f7c7e23d6b', 'trim makes a new session')
  H.truthy(res.session.title:find('(trimmed)', 1, true), 'titled as trimmed')
end)

H.test(':SessionCompress on a Codex session asks (Codex compacts through its app-server)', function()
  local codex = 'codex:01a1fcc8-d54e-7ed0-a7e2-b111c75d7f37'
  local calls = choose_trim()
  local res = run('SessionCompress ' .. codex, 'compress')
  H.eq(1, #calls, 'asked for the strategy')
  H.eq('codex', res.session.agent, 'a Codex fork')
  H.truthy(res.session.title:find('(trimmed)', 1, true), 'titled as trimmed')
end)

H.test(':SessionDelete asks, moves to the trash; :SessionRestore brings it back', function()
  local id = 'a0a51dc5-d7b2-43b0-80f6-e51fa390a987'
  local path = state.sessions['claude:' .. id].path
  local calls = H.stub_select(function(items, opts)
    if opts.kind == 'session_sidecar.confirm' then
      return items[1]
    elseif opts.kind == 'session_sidecar.trash' then
      return vim.iter(items):find(function(t)
        return t.id == id
      end)
    end
  end)
  local res = run('SessionDelete ' .. id, 'delete')
  H.eq('session_sidecar.confirm', calls[1].opts.kind, 'confirmation asked')
  H.truthy(calls[1].opts.prompt:find('Corpus title 4', 1, true), 'names the session')
  H.eq(id, res.trashed.id, 'trashed')
  H.eq(nil, vim.uv.fs_stat(path), 'the file left the store')
  H.eq(nil, state.sessions['claude:' .. id], 'gone from the cache')
  local err = H.request(m.info, { session = 'claude:' .. id })
  H.eq('sessionNotFound', require('session_sidecar.client').error_kind(err), 'the sidecar no longer knows it')
  -- No argument: pick from sessions/trash.
  local res2 = run('SessionRestore', 'restore')
  H.eq('session_sidecar.trash', calls[#calls].opts.kind, 'picked from the trash')
  H.eq(id, res2.session.id, 'restored')
  H.truthy(vim.uv.fs_stat(path), 'the file is back')
  local _, info = H.request(m.info, { session = 'claude:' .. id })
  H.eq('Corpus title 4', info.title, 'intact')
end)

H.test('cancelling the delete prompt deletes nothing', function()
  local id = 'a0a51dc5-d7b2-43b0-80f6-e51fa390a987'
  local answered = false
  H.stub_select(function(items)
    answered = true
    return items[2] -- Cancel
  end)
  vim.cmd('SessionDelete ' .. id)
  H.wait(5000, function()
    return answered
  end, 'the prompt')
  vim.wait(300)
  local err = H.request(m.info, { session = 'claude:' .. id })
  H.eq(nil, err, 'still there')
end)

H.test('an invalid id is reported, not thrown', function()
  local notes = H.capture_notify()
  vim.cmd('SessionFork ../../etc')
  H.wait(5000, function()
    return #notes > 0
  end, 'an error message')
  H.eq(vim.log.levels.ERROR, notes[1].level, 'error')
  H.truthy(notes[1].msg:find('fork failed', 1, true), notes[1].msg)
end)

H.run()
