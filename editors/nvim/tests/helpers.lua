-- Test harness for headless Neovim (`nvim --clean --headless -l tests/test_x.lua`): a private
-- copy of the fixture home with its mtimes restored, the plugin on 'runtimepath' pointed at the
-- real sidecar ($SIDECAR_BIN), waits on events with timeouts, and a closing
-- `N passed, N failed` line.
local H = {}

local script = debug.getinfo(1, 'S').source:sub(2)
H.tests_dir = vim.fs.dirname(vim.fn.fnamemodify(script, ':p'))
H.plugin_root = vim.fs.dirname(H.tests_dir)
H.repo = vim.fs.dirname(vim.fs.dirname(H.plugin_root))
H.workspace = '/home/dev/acme-webapp'
H.bin = os.getenv('SIDECAR_BIN')
H.output_dir = os.getenv('TEST_OUTPUT_DIR') or (H.plugin_root .. '/test-output')

vim.opt.rtp:prepend(H.plugin_root)
vim.cmd('runtime plugin/session_sidecar.lua')

-- Agent store overrides of the developer's environment must not leak into the tests.
for _, k in ipairs({ 'CLAUDE_CONFIG_DIR', 'QWEN_HOME', 'QWEN_RUNTIME_DIR', 'CODEX_HOME', 'GEMINI_CLI_HOME' }) do
  vim.env[k] = nil
end

-- Messages go to the test log as comments, not into the middle of a result line.
vim.notify = function(msg, level)
  io.stdout:write(('# notify[%s]: %s\n'):format(tostring(level or vim.log.levels.INFO), tostring(msg):gsub('\n', ' ')))
end

--- Run a command (list argv), fail on a non-zero exit; returns stdout.
function H.sh(argv, opts)
  local r = vim.system(argv, vim.tbl_extend('force', { text = true }, opts or {})):wait(60000)
  if r.code ~= 0 then
    error(('%s failed (%d): %s'):format(table.concat(argv, ' '), r.code, r.stderr or ''), 2)
  end
  return r.stdout
end

--- A private copy of tests/fixtures/home (or `src`) with the recorded mtimes restored.
function H.fixture_home(src, mtimes)
  src = src or (H.repo .. '/tests/fixtures/home')
  mtimes = mtimes or (H.repo .. '/tests/fixtures/mtimes.tsv')
  local dst = vim.fn.tempname() .. '-home'
  vim.fn.mkdir(dst, 'p')
  H.sh({ 'cp', '-R', src .. '/.', dst })
  for line in io.lines(mtimes) do
    local secs, rel = line:match('^(%d+)\t(.+)$')
    if secs then
      local p = dst .. '/' .. rel:gsub('^%./', '')
      if vim.uv.fs_stat(p) then
        assert(vim.uv.fs_utime(p, tonumber(secs), tonumber(secs)))
      end
    end
  end
  return dst
end

--- Run the sidecar's CLI against a home; returns the decoded --json output.
function H.cli_json(home, args)
  local argv = { H.bin, '--home', home, '--workspace', H.workspace }
  vim.list_extend(argv, args)
  return vim.json.decode(H.sh(argv))
end

--- Configure the plugin against a fixture home (no autostart: each test starts it).
function H.setup(home, opts)
  local sc = require('session_sidecar')
  sc.setup(vim.tbl_deep_extend('force', {
    server_path = H.bin,
    home = home,
    workspace = H.workspace,
    autostart = false,
  }, opts or {}))
  return sc
end

--- Start the sidecar and wait until it answered initialize and the first list arrived.
function H.start(timeout)
  local client = require('session_sidecar.client')
  local state = assert(client.ensure())
  H.wait(timeout or 20000, function()
    return state.ready and state.listed
  end, 'sidecar ready and listed')
  return state
end

--- Wait until `pred()` is truthy (the event loop runs meanwhile); error on timeout.
function H.wait(ms, pred, what)
  local ok = vim.wait(ms, function()
    local good, v = pcall(pred)
    return good and v
  end, 10)
  if not ok then
    error(('timed out after %d ms waiting for %s'):format(ms, what or 'a condition'), 2)
  end
end

--- Call an async fn(cb) and wait for cb; returns cb's arguments.
function H.await(ms, fn, what)
  local done, res = false, nil
  fn(function(...)
    res = { ... }
    done = true
  end)
  H.wait(ms, function()
    return done
  end, what)
  return unpack(res, 1, table.maxn(res))
end

--- A raw request to the sidecar through the plugin's client; returns err, result.
function H.request(method, params, ms)
  local client = require('session_sidecar.client')
  return H.await(ms or 20000, function(cb)
    client.request(method, params, cb)
  end, method)
end

--- Replace vim.ui.select: `chooser(items, opts)` returns the item to pick (or nil). Every call
--- is recorded in the returned list as { items, opts, formatted }.
function H.stub_select(chooser)
  local calls = {}
  vim.ui.select = function(items, opts, on_choice)
    local formatted = {}
    for i, it in ipairs(items) do
      formatted[i] = opts and opts.format_item and opts.format_item(it) or tostring(it)
    end
    table.insert(calls, { items = items, opts = opts or {}, formatted = formatted })
    local choice = chooser and chooser(items, opts or {}, formatted) or nil
    vim.schedule(function()
      on_choice(choice, choice and vim.iter(ipairs(items)):find(function(_, v)
        return v == choice
      end) or nil)
    end)
  end
  return calls
end

function H.stub_input(answer)
  local calls = {}
  vim.ui.input = function(opts, on_confirm)
    table.insert(calls, opts)
    vim.schedule(function()
      on_confirm(answer)
    end)
  end
  return calls
end

--- Capture vim.notify messages.
function H.capture_notify()
  local msgs = {}
  local print_it = vim.notify
  vim.notify = function(msg, level)
    table.insert(msgs, { msg = msg, level = level })
    print_it(msg, level)
  end
  return msgs
end

function H.eq(expected, actual, what)
  if not vim.deep_equal(expected, actual) then
    error(('%s: expected %s, got %s'):format(what or 'values differ', vim.inspect(expected), vim.inspect(actual)), 2)
  end
end

function H.truthy(v, what)
  if not v then
    error((what or 'expected a true value') .. ', got ' .. vim.inspect(v), 2)
  end
  return v
end

function H.contains(list, value, what)
  for _, v in ipairs(list) do
    if v == value then
      return
    end
  end
  error(('%s: %s not in %s'):format(what or 'contains', vim.inspect(value), vim.inspect(list)), 2)
end

--- Lines of a buffer.
function H.lines(buf)
  return vim.api.nvim_buf_get_lines(buf, 0, -1, false)
end

--- Index (1-based) of the first line matching a Lua pattern (plain when `plain`).
function H.find_line(lines, pat, plain)
  for i, l in ipairs(lines) do
    if l:find(pat, 1, plain) then
      return i
    end
  end
  return nil
end

--- Append bytes to a file in one write.
function H.append(path, data)
  local f = assert(io.open(path, 'ab'))
  f:write(data)
  f:close()
end

local function uuid()
  local b = {}
  for i = 1, 16 do
    b[i] = math.random(0, 255)
  end
  b[7] = bit.bor(bit.band(b[7], 0x0f), 0x40)
  b[9] = bit.bor(bit.band(b[9], 0x3f), 0x80)
  local hex = vim.iter(b):map(function(x)
    return ('%02x'):format(x)
  end):join('')
  return ('%s-%s-%s-%s-%s'):format(hex:sub(1, 8), hex:sub(9, 12), hex:sub(13, 16), hex:sub(17, 20), hex:sub(21, 32))
end
H.uuid = uuid

--- One Claude Code turn as the CLI appends it: the user prompt, the assistant reply (with API
--- usage) and the `last-prompt` row pointing at the reply. Returns the text and the reply uuid.
function H.claude_turn(o)
  local now = os.date('!%Y-%m-%dT%H:%M:%S.000Z')
  local u, a = uuid(), uuid()
  local common = {
    isSidechain = false,
    userType = 'external',
    entrypoint = 'sdk-cli',
    cwd = H.workspace,
    sessionId = o.session,
    version = '2.1.329',
    gitBranch = o.branch or 'main',
    timestamp = now,
  }
  local user = vim.tbl_extend('force', common, {
    parentUuid = o.parent,
    type = 'user',
    message = { role = 'user', content = o.prompt },
    uuid = u,
  })
  local assistant = vim.tbl_extend('force', common, {
    parentUuid = u,
    type = 'assistant',
    uuid = a,
    message = {
      id = 'msg_' .. a:sub(1, 8),
      type = 'message',
      role = 'assistant',
      model = 'claude-opus-5-5',
      content = { { type = 'text', text = o.reply } },
      stop_reason = 'end_turn',
      usage = {
        input_tokens = o.input_tokens or 5000,
        output_tokens = 12,
        cache_creation_input_tokens = 0,
        cache_read_input_tokens = 0,
      },
    },
  })
  local last = { type = 'last-prompt', lastPrompt = o.prompt, leafUuid = a, sessionId = o.session }
  local text = vim.json.encode(user) .. '\n' .. vim.json.encode(assistant) .. '\n' .. vim.json.encode(last) .. '\n'
  return text, a
end

H.claude_dir = '/.claude/projects/-home-dev-acme-webapp'

function H.write_output(name, text)
  vim.fn.mkdir(H.output_dir, 'p')
  local f = assert(io.open(H.output_dir .. '/' .. name, 'w'))
  f:write(text)
  f:close()
end

local tests = {}

function H.test(name, fn)
  table.insert(tests, { name = name, fn = fn })
end

--- Run the registered tests in order; print TAP-ish lines and the closing count; exit.
function H.run()
  local passed, failed = 0, 0
  for _, t in ipairs(tests) do
    local ok, err = xpcall(t.fn, debug.traceback)
    if ok then
      passed = passed + 1
      io.stdout:write(('ok - %s\n'):format(t.name))
    else
      failed = failed + 1
      io.stdout:write(('not ok - %s\n'):format(t.name))
      for l in tostring(err):gmatch('[^\n]+') do
        io.stdout:write('#   ' .. l .. '\n')
      end
    end
    io.stdout:flush()
  end
  pcall(function()
    require('session_sidecar.client').stop_all()
    vim.wait(2000, function()
      return #vim.lsp.get_clients({ name = 'session_sidecar' }) == 0
    end, 20)
  end)
  io.stdout:write(('%d passed, %d failed\n'):format(passed, failed))
  io.stdout:flush()
  os.exit(failed == 0 and 0 or 1)
end

return H
