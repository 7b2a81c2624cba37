-- :checkhealth session_sidecar: binary and version, the running server and its protocol, each
-- agent's store, the watcher.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/helpers.lua')

local home = H.fixture_home()

local function checkhealth()
  vim.cmd('silent checkhealth session_sidecar')
  local buf = vim.api.nvim_get_current_buf()
  H.eq('checkhealth', vim.bo[buf].filetype, 'a checkhealth buffer')
  local lines = H.lines(buf)
  vim.api.nvim_buf_delete(buf, { force = true })
  return lines, table.concat(lines, '\n')
end

local function has(text, pat, what)
  H.truthy(text:find(pat), (what or pat) .. ' in:\n' .. text)
end

H.test('all good against the fixture home: version, server, four stores, watcher', function()
  H.setup(home)
  local version = vim.trim(H.sh({ H.bin, '--version' }))
  H.truthy(version:match('^session%-sidecar %d+%.%d+%.%d+'), 'version: ' .. version)
  local lines, text = checkhealth()
  H.write_output('checkhealth.txt', text .. '\n')
  has(text, 'OK[^\n]*' .. vim.pesc(version) .. ' %(' .. vim.pesc(H.bin) .. '%)', 'binary and version')
  has(text, 'OK[^\n]*running for /home/dev/acme%-webapp', 'server running')
  has(text, 'OK[^\n]*protocol version 1', 'protocol version')
  for _, agent in ipairs({ 'claude', 'qwen', 'codex', 'gemini' }) do
    has(text, 'OK[^\n]*' .. agent .. ': store ' .. vim.pesc(home) .. '/%.' .. agent, agent .. ' store')
  end
  has(text, 'OK[^\n]*claude: store [^\n]*%(%d+ sessions in this workspace%)', 'claude session count')
  has(text, 'OK[^\n]*watcher ok', 'watcher')
  H.eq(nil, text:find('ERROR'), 'no errors')
  H.truthy(#lines > 10, 'a full report')
end)

H.test('a missing store is a warning that names the option', function()
  require('session_sidecar.client').stop_all()
  local bare = vim.fn.tempname() .. '-bare'
  vim.fn.mkdir(bare .. '/.claude/projects', 'p')
  H.setup(bare, { workspace = '/home/dev/acme-webapp' })
  local _, text = checkhealth()
  has(text, 'OK[^\n]*claude: store', 'claude store present')
  has(text, 'WARNING[^\n]*gemini: no sessions store at ' .. vim.pesc(bare) .. '/%.gemini/tmp', 'gemini missing')
  has(text, 'store_roots%.gemini', 'names store_roots')
end)

H.test('a wrong server_path is an error with advice', function()
  require('session_sidecar.client').stop_all()
  H.setup(home, { server_path = '/nonexistent/session-sidecar' })
  local _, text = checkhealth()
  has(text, 'ERROR[^\n]*server_path /nonexistent/session%-sidecar is not executable', 'binary error')
end)

H.run()
