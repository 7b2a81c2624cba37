-- The vimdoc builds its tags without errors, documents every user command, option, keymap
-- name and highlight group the plugin defines; the README carries the lazy.nvim spec.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/helpers.lua')

local doc = H.plugin_root .. '/doc/session-sidecar.txt'
local text = table.concat(vim.fn.readfile(doc), '\n')

local function tags()
  local dir = vim.fn.tempname() .. '-doc'
  vim.fn.mkdir(dir, 'p')
  H.sh({ 'cp', doc, dir .. '/' })
  vim.cmd('helptags ' .. vim.fn.fnameescape(dir))
  local out = {}
  for _, l in ipairs(vim.fn.readfile(dir .. '/tags')) do
    out[l:match('^([^\t]+)')] = true
  end
  return out
end

H.test(':helptags builds the tags (no duplicates, no errors)', function()
  local t = tags()
  H.truthy(t['session-sidecar'], 'main tag')
  H.truthy(t['session_sidecar.setup()'], 'setup tag')
  H.truthy(t['session_sidecar.statusline()'], 'statusline tag')
end)

H.test('every user command has a tag', function()
  local t = tags()
  local cmds = vim.api.nvim_get_commands({ builtin = false })
  local n = 0
  for name in pairs(cmds) do
    if name:match('^Session') then
      n = n + 1
      H.truthy(t[':' .. name], ':' .. name .. ' documented')
    end
  end
  H.truthy(n >= 10, 'found the plugin commands: ' .. n)
end)

H.test('every option, keymap name and highlight group is documented', function()
  local config = require('session_sidecar.config')
  for k in pairs(config.defaults) do
    H.truthy(text:find(k, 1, true), 'option ' .. k)
  end
  for k in pairs(config.defaults.history.keys) do
    H.truthy(text:find(k, 1, true), 'history key ' .. k)
  end
  for k in pairs(config.defaults.sidebar.keys) do
    H.truthy(text:find(k, 1, true), 'sidebar key ' .. k)
  end
  require('session_sidecar').setup({ autostart = false })
  local groups = vim.fn.getcompletion('SessionSidecar', 'highlight')
  H.truthy(#groups >= 13, 'highlight groups defined: ' .. #groups)
  local t = tags()
  for _, g in ipairs(groups) do
    H.truthy(t['hl-' .. g], 'hl-' .. g .. ' documented')
  end
end)

H.test('README has a lazy.nvim spec that loads the plugin by its module', function()
  local readme = table.concat(vim.fn.readfile(H.plugin_root .. '/README.md'), '\n')
  local spec = readme:match('```lua\n(%b{})\n```')
  H.truthy(spec, 'a lua code block holding a table')
  local f = assert(loadstring('return ' .. spec))
  local t = f()
  H.eq('session_sidecar', t.main, 'main module')
  H.truthy(vim.tbl_contains(t.cmd, 'Sessions') and vim.tbl_contains(t.cmd, 'SessionsToggle'), 'lazy-loads on the commands')
  H.eq(nil, require('session_sidecar.config').set(t.opts), 'its opts are valid options')
end)

H.test('no committed file names a path of this machine', function()
  local files = vim.fs.find(function(name)
    return name:match('%.lua$') or name:match('%.md$') or name:match('%.txt$') or name:match('%.sh$')
  end, { path = H.plugin_root, type = 'file', limit = math.huge })
  H.truthy(#files > 10, 'found the plugin files')
  for _, f in ipairs(files) do
    if not f:find('/test-output/', 1, true) then
      local body = table.concat(vim.fn.readfile(f), '\n')
      -- (spelled in pieces so this file does not match itself)
      for _, bad in ipairs({ '/wo' .. 'rk/', '/ro' .. 'ot/', '/tm' .. 'p/' }) do
        H.eq(nil, body:find(bad, 1, true), f .. ' mentions ' .. bad)
      end
    end
  end
end)

H.run()
