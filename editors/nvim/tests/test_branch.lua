-- Fork on checkout under the `ask` policy: a sessions/branchChanged with a candidate prompts
-- through vim.ui.select; "fork" calls sessions/fork {session, branch}. The notification is
-- delivered through the plugin's own LSP handler with a payload shaped as protocol.rs defines.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/helpers.lua')
local protocol = require('session_sidecar.protocol')

local home = H.fixture_home()
H.setup(home, { fork_on_checkout = 'ask' })
local state = H.start()
local client = require('session_sidecar.client')
local handler = client.handler(protocol.notifications.branch_changed)

local CAND = '59e7b833-aace-4821-88a8-f970caa6c194'

local function candidate()
  local err, s = H.request(protocol.methods.info, { session = 'claude:' .. CAND })
  H.eq(nil, err, 'sessions/info')
  return s
end

local function deliver(payload)
  handler(nil, payload, { client_id = state.client_id, method = protocol.notifications.branch_changed })
end

local function on_action(name)
  local got = {}
  local au
  au = vim.api.nvim_create_autocmd('User', {
    pattern = 'SessionSidecarAction',
    callback = function(ev)
      if ev.data.action == name then
        table.insert(got, ev.data.result)
      end
    end,
  })
  return got, function()
    vim.api.nvim_del_autocmd(au)
  end
end

H.test('ask: the prompt names the branch and the session; "fork" forks it onto the branch', function()
  local cand = candidate()
  local calls = H.stub_select(function(items, opts)
    if opts.kind == 'session_sidecar.branch' then
      return vim.iter(items):find(function(c)
        return c.id == 'fork'
      end)
    end
  end)
  local forks, stop = on_action('fork')
  deliver({
    workspace = '/home/dev/acme-webapp',
    from = 'main',
    to = 'feature/signup',
    detached = false,
    candidate = cand,
    forked = vim.NIL,
  })
  H.wait(15000, function()
    return #forks == 1
  end, 'the fork')
  stop()
  H.eq(1, #calls, 'one prompt')
  H.eq('session_sidecar.branch', calls[1].opts.kind, 'prompt kind')
  H.truthy(calls[1].opts.prompt:find('feature/signup', 1, true), 'prompt names the branch: ' .. calls[1].opts.prompt)
  H.truthy(calls[1].opts.prompt:find(require('session_sidecar.format').title(cand), 1, true), 'prompt names the session')
  H.truthy(calls[1].formatted[2]:find('feature/signup', 1, true), 'choice names the branch')
  local s = forks[1].session
  H.eq(CAND, s.forkedFrom.sessionId, 'forked from the candidate')
  H.eq('feature/signup', s.gitBranch, 'recorded on the new branch')
  H.eq('feature/signup', state.branch, 'the plugin tracks the current branch')
  -- The sidecar lists it on that branch.
  local err, list = H.request(protocol.methods.list, { branch = 'feature/signup' })
  H.eq(nil, err, 'list by branch')
  H.truthy(vim.iter(list.items):any(function(x)
    return x.id == s.id
  end), 'the fork is listed on feature/signup')
end)

H.test('ask: "not now" forks nothing', function()
  local cand = candidate()
  local sent = {}
  local orig = client.request_state
  client.request_state = function(st, method, params, cb)
    table.insert(sent, method)
    return orig(st, method, params, cb)
  end
  local orig_req = client.request
  client.request = function(method, params, cb, root)
    table.insert(sent, method)
    return orig_req(method, params, cb, root)
  end
  local answered = false
  H.stub_select(function(items)
    answered = true
    return items[#items]
  end)
  local done = false
  require('session_sidecar.branch').on_branch_changed(state, {
    workspace = '/home/dev/acme-webapp',
    from = 'feature/signup',
    to = 'main',
    detached = false,
    candidate = cand,
  }, function(choice)
    done = choice
  end)
  H.wait(5000, function()
    return done
  end, 'the answer')
  client.request_state, client.request = orig, orig_req
  H.truthy(answered, 'asked')
  H.eq('skip', done, 'skipped')
  H.eq({}, sent, 'no request')
end)

H.test('off: no prompt; detached HEAD: no prompt', function()
  local calls = H.stub_select(nil)
  require('session_sidecar.config').options.fork_on_checkout = 'off'
  deliver({ workspace = '/home/dev/acme-webapp', from = 'main', to = 'x', detached = false, candidate = candidate() })
  require('session_sidecar.config').options.fork_on_checkout = 'ask'
  deliver({ workspace = '/home/dev/acme-webapp', from = 'main', to = vim.NIL, detached = true, candidate = candidate() })
  vim.wait(200)
  H.eq(0, #calls, 'no prompt')
  H.eq(nil, state.branch, 'detached: no current branch')
end)

H.test('auto: the sidecar already forked; the plugin says so and lists it', function()
  local calls = H.stub_select(nil)
  local notes = H.capture_notify()
  local forked = vim.tbl_extend('force', candidate(), { id = '0badcafe-0000-4000-8000-000000000001', gitBranch = 'feature/x', title = 'x (fork)' })
  deliver({ workspace = '/home/dev/acme-webapp', from = 'main', to = 'feature/x', detached = false, candidate = vim.NIL, forked = forked })
  H.eq(0, #calls, 'no prompt')
  H.truthy(notes[1] and notes[1].msg:find('feature/x', 1, true), 'told: ' .. vim.inspect(notes))
  H.truthy(state.sessions['claude:' .. forked.id], 'in the cache')
end)

-- A real repository: `git checkout -b` makes the sidecar send sessions/branchChanged itself.
local function git(repo, args)
  local argv = { 'git', '-C', repo }
  vim.list_extend(argv, args)
  return H.sh(argv, {
    env = {
      GIT_CONFIG_GLOBAL = '/dev/null',
      GIT_CONFIG_NOSYSTEM = '1',
      GIT_AUTHOR_NAME = 'Dev',
      GIT_AUTHOR_EMAIL = 'dev@example.com',
      GIT_COMMITTER_NAME = 'Dev',
      GIT_COMMITTER_EMAIL = 'dev@example.com',
    },
  })
end

H.test('real git checkout: the sidecar reports the branch change and the prompt forks onto it', function()
  client.stop_all()
  H.wait(5000, function()
    return next(client.states) == nil
  end, 'the first sidecar stopped')
  local base = vim.fn.tempname() .. '-git'
  vim.fn.mkdir(base .. '/acme', 'p')
  local repo = vim.uv.fs_realpath(base .. '/acme')
  git(repo, { '-c', 'init.defaultBranch=main', 'init', '-q' })
  vim.fn.writefile({ 'hello' }, repo .. '/notes.txt')
  git(repo, { 'add', 'notes.txt' })
  git(repo, { 'commit', '-q', '-m', 'c0' })
  -- A home with the fixture session CAND rebound to this repository, on main.
  local ghome = vim.fn.tempname() .. '-ghome'
  local project = ghome .. '/.claude/projects/' .. repo:gsub('[^%w]', '-')
  vim.fn.mkdir(project, 'p')
  local src = H.repo .. '/tests/fixtures/home/.claude/projects/-home-dev-acme-webapp/' .. CAND .. '.jsonl'
  local text = table.concat(vim.fn.readfile(src, 'b'), '\n')
  text = text:gsub(vim.pesc('/home/dev/acme-webapp'), repo)
  local dst = project .. '/' .. CAND .. '.jsonl'
  vim.fn.writefile(vim.split(text, '\n'), dst, 'b')
  H.setup(ghome, { workspace = repo, agents = { 'claude' }, fork_on_checkout = 'ask' })
  local st = H.start()
  H.eq('main', st.branch, 'the plugin reads the current branch')
  H.truthy(st.sessions['claude:' .. CAND], 'the rebound session belongs to the repository')
  local seen = {}
  local off = client.on('branch', function(_, p)
    table.insert(seen, p)
  end)
  local calls = H.stub_select(function(items, opts)
    if opts.kind == 'session_sidecar.branch' then
      return vim.iter(items):find(function(c)
        return c.id == 'fork'
      end)
    end
  end)
  local forks, stop = on_action('fork')
  git(repo, { 'checkout', '-q', '-b', 'feature/nvim' })
  H.wait(10000, function()
    return #seen > 0
  end, 'sessions/branchChanged from the sidecar')
  H.wait(15000, function()
    return #forks == 1
  end, 'the fork after the prompt')
  stop()
  off()
  local p = seen[#seen]
  H.eq('main', p.from, 'from')
  H.eq('feature/nvim', p.to, 'to')
  H.eq(CAND, p.candidate.id, 'candidate')
  H.eq('feature/nvim', st.branch, 'the plugin follows the branch')
  H.eq(1, #vim.tbl_filter(function(c)
    return c.opts.kind == 'session_sidecar.branch'
  end, calls), 'one prompt')
  local s = forks[1].session
  H.eq(CAND, s.forkedFrom.sessionId, 'forked from the candidate')
  H.eq('feature/nvim', s.gitBranch, 'on the new branch')
  H.eq(repo, s.cwd, 'in the repository')
end)

H.run()
