-- :SessionResume / :SessionContinue run the argv of sessions/resume / sessions/continue in a
-- terminal split: jobstart() with a LIST, the recorded cwd, the store env. A fake `claude`
-- (given through agent_paths) records what it was started with.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/helpers.lua')
local protocol = require('session_sidecar.protocol')

local home = H.fixture_home()
local bin = vim.fn.tempname() .. '-bin'
vim.fn.mkdir(bin, 'p')
local record = bin .. '/record'
local fake = bin .. '/claude'
vim.fn.writefile({
  '#!/bin/sh',
  '# A stand-in for the Claude Code CLI: records its argv, cwd and store env, then waits.',
  '{ printf "cwd=%s\\n" "$PWD"; printf "CLAUDE_CONFIG_DIR=%s\\n" "${CLAUDE_CONFIG_DIR-}";',
  '  for a in "$@"; do printf "arg=%s\\n" "$a"; done; } > "' .. record .. '.tmp"',
  'mv "' .. record .. '.tmp" "' .. record .. '"',
  'echo "fake claude: $*"',
  'exec cat',
}, fake)
vim.fn.setfperm(fake, 'rwxr-xr-x')

H.setup(home, { agent_paths = { claude = fake } })
H.start()

-- Spy on jobstart/termopen: the argv must be a list.
local started = {}
local orig_jobstart = vim.fn.jobstart
vim.fn.jobstart = function(cmd, opts)
  table.insert(started, { cmd = cmd, opts = opts })
  return orig_jobstart(cmd, opts)
end

local function read_record()
  local out = { args = {} }
  for _, l in ipairs(vim.fn.readfile(record)) do
    local k, v = l:match('^([^=]+)=(.*)$')
    if k == 'arg' then
      table.insert(out.args, v)
    elseif k then
      out[k] = v
    end
  end
  return out
end

local function launched()
  os.remove(record)
  return function()
    return vim.uv.fs_stat(record) ~= nil
  end
end

local function close_terminals()
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_valid(b) and vim.bo[b].buftype == 'terminal' then
      vim.api.nvim_buf_delete(b, { force = true })
    end
  end
end

local SID = '59e7b833-aace-4821-88a8-f970caa6c194'

H.test(':SessionResume <prefix> runs the resume argv in a terminal split (list, cwd, env)', function()
  local err, cmd = H.request(protocol.methods.resume, { session = 'claude:' .. SID })
  H.eq(nil, err, 'sessions/resume error')
  H.eq(fake, cmd.argv[1], 'argv[0] is the agent_paths executable')
  H.contains(cmd.argv, '--resume', 'resume flag')
  H.contains(cmd.argv, SID, 'full session id')
  local wins = #vim.api.nvim_list_wins()
  local wait = launched()
  started = {}
  vim.cmd('SessionResume 59e7b833')
  H.wait(10000, wait, 'the fake claude to record its argv')
  local rec = read_record()
  H.eq(vim.list_slice(cmd.argv, 2), rec.args, 'argv the agent received')
  H.eq(cmd.cwd, rec.cwd, 'cwd')
  H.eq('/home/dev/acme-webapp', rec.cwd, 'the recorded cwd')
  H.eq(home .. '/.claude', rec.CLAUDE_CONFIG_DIR, 'CLAUDE_CONFIG_DIR points the agent at the same store')
  H.eq(1, #started, 'one job')
  H.eq('table', type(started[1].cmd), 'jobstart got a list, never a shell string')
  H.eq(cmd.argv, started[1].cmd, 'jobstart argv')
  H.eq(true, started[1].opts.term, 'a terminal job')
  H.eq(wins + 1, #vim.api.nvim_list_wins(), 'in a new split')
  H.eq('terminal', vim.bo.buftype, 'the current window shows the terminal')
  close_terminals()
end)

H.test(':SessionResume! resumes into a new id (--fork-session)', function()
  local err, cmd = H.request(protocol.methods.resume, { session = 'claude:' .. SID, fork = true })
  H.eq(nil, err, 'sessions/resume fork error')
  local wait = launched()
  vim.cmd('SessionResume! claude:' .. SID)
  H.wait(10000, wait, 'the fake claude')
  local rec = read_record()
  H.eq(vim.list_slice(cmd.argv, 2), rec.args, 'argv')
  H.contains(rec.args, '--fork-session', 'fork flag')
  close_terminals()
end)

H.test('the picker resume action launches the picked session', function()
  H.stub_select(function(items, opts)
    if opts.kind == 'session_sidecar.session' then
      return vim.iter(items):find(function(s)
        return s.id == 'f205d6e4-de5f-4f14-8702-317c76336a05'
      end)
    elseif opts.kind == 'session_sidecar.action' then
      return items[1]
    end
  end)
  local wait = launched()
  vim.cmd('Sessions')
  H.wait(10000, wait, 'the fake claude')
  local rec = read_record()
  H.contains(rec.args, 'f205d6e4-de5f-4f14-8702-317c76336a05', 'picked id in argv')
  close_terminals()
end)

H.test(':SessionContinue asks for the current branch; :SessionContinue! for any branch', function()
  local client = require('session_sidecar.client')
  local sent = {}
  local orig = client.request
  client.request = function(method, params, cb, root)
    table.insert(sent, { method = method, params = params })
    return orig(method, params, cb, root)
  end
  local notes = H.capture_notify()
  local fired = {}
  local au = vim.api.nvim_create_autocmd('User', {
    pattern = 'SessionSidecarAction',
    callback = function(ev)
      table.insert(fired, ev.data.action)
    end,
  })
  -- The fixture workspace is not a git repository: no current branch, so no session.
  vim.cmd('SessionContinue')
  H.wait(10000, function()
    return #notes > 0
  end, 'a message')
  H.eq(protocol.methods.continue, sent[1].method, 'method')
  H.eq({ branch = '@current' }, sent[1].params, 'params')
  H.truthy(notes[1].msg:find('no session on the current branch', 1, true), 'noSession explained: ' .. notes[1].msg)
  -- Any branch: the workspace's latest session, as sessions/continue chose it.
  local err, res = H.request(protocol.methods.continue, {})
  H.eq(nil, err, 'sessions/continue error')
  local wait = launched()
  vim.cmd('SessionContinue!')
  H.wait(10000, wait, 'the fake claude')
  H.eq({}, sent[#sent].params, 'no branch filter')
  H.eq(vim.list_slice(res.argv, 2), read_record().args, 'argv of the continued session')
  H.contains(fired, 'continue', 'User SessionSidecarAction continue')
  client.request = orig
  vim.api.nvim_del_autocmd(au)
  close_terminals()
end)

H.test('an agent that cannot be found is reported with the setting to fix', function()
  require('session_sidecar.client').stop_all()
  H.wait(5000, function()
    return next(require('session_sidecar.client').states) == nil
  end, 'sidecar stopped')
  H.setup(home, { agent_paths = { claude = bin .. '/no-such-claude' } })
  H.start()
  local notes = H.capture_notify()
  vim.cmd('SessionResume ' .. SID)
  H.wait(10000, function()
    return #notes > 0
  end, 'an error message')
  H.eq(vim.log.levels.ERROR, notes[1].level, 'error level')
  H.truthy(notes[1].msg:find('agent_paths', 1, true), 'names agent_paths: ' .. notes[1].msg)
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    H.truthy(vim.bo[b].buftype ~= 'terminal', 'no terminal opened')
  end
end)

H.run()
