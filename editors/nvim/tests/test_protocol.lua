-- protocol.lua mirrors sidecar/src/protocol.rs: methods, notifications, error codes and names,
-- initializationOptions fields, enums. Parsed from the Rust source, both directions.
local H = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/helpers.lua')
local protocol = require('session_sidecar.protocol')

local rs_path = H.repo .. '/sidecar/src/protocol.rs'
local rs = table.concat(vim.fn.readfile(rs_path), '\n')

local function values(t)
  local out = {}
  for _, v in pairs(t) do
    table.insert(out, v)
  end
  table.sort(out)
  return out
end

local function sorted(t)
  table.sort(t)
  return t
end

--- The body of `pub enum Name { … }` / `pub struct Name { … }`.
local function body(kind, name)
  local s = rs:match('pub ' .. kind .. ' ' .. name .. '%s*{(.-)\n}')
  assert(s, ('%s %s not found in protocol.rs'):format(kind, name))
  return s
end

local function camel(snake)
  return (snake:gsub('_(%l)', string.upper))
end

--- Serde lowercase/camelCase variants of an enum (ignores doc comments and attributes).
local function variants(name, style)
  local out = {}
  for line in body('enum', name):gmatch('[^\n]+') do
    local v = line:match('^%s*(%u%w*)%s*[,{]') or line:match('^%s*(%u%w*)%s*$')
    if v then
      if style == 'lowercase' then
        table.insert(out, v:lower())
      else
        table.insert(out, v:sub(1, 1):lower() .. v:sub(2))
      end
    end
  end
  return sorted(out)
end

H.test('request methods match the request! macros of protocol.rs', function()
  local rs_methods = {}
  for name, method in rs:gmatch('request!%(%s*(%w+),%s*"([^"]+)"') do
    table.insert(rs_methods, method)
    assert(name)
  end
  H.truthy(#rs_methods >= 17, 'parsed at least 17 request! macros, got ' .. #rs_methods)
  H.eq(sorted(rs_methods), values(protocol.methods), 'methods')
end)

H.test('notifications match the notification! macros of protocol.rs', function()
  local rs_notes = {}
  for method in rs:gmatch('notification!%(%s*%w+,%s*"([^"]+)"') do
    table.insert(rs_notes, method)
  end
  H.truthy(#rs_notes >= 4, 'parsed the notification! macros')
  H.eq(sorted(rs_notes), values(protocol.notifications), 'notifications')
end)

H.test('error codes and kinds match ErrorCode::code() and ErrorCode::name()', function()
  local codes, names = {}, {}
  for variant, code in rs:gmatch('ErrorCode::(%w+)%s*=>%s*(%-?%d+)') do
    codes[variant] = tonumber(code)
  end
  for variant, name in rs:gmatch('ErrorCode::(%w+)%s*=>%s*"(%w+)"') do
    names[variant] = name
  end
  local from_rs = {}
  for variant, code in pairs(codes) do
    H.truthy(names[variant], 'ErrorCode::' .. variant .. ' has a name')
    from_rs[names[variant]] = code
  end
  H.truthy(vim.tbl_count(from_rs) >= 19, 'parsed at least 19 error codes')
  H.eq(from_rs, protocol.errors, 'errors')
end)

H.test('PROTOCOL_VERSION matches', function()
  local v = tonumber(rs:match('pub const PROTOCOL_VERSION: u32 = (%d+);'))
  H.eq(v, protocol.PROTOCOL_VERSION, 'PROTOCOL_VERSION')
end)

H.test('initializationOptions fields match InitializationOptions', function()
  local fields = {}
  for f in body('struct', 'InitializationOptions'):gmatch('pub ([%w_]+):') do
    table.insert(fields, camel(f))
  end
  H.eq(sorted(fields), sorted(vim.deepcopy(protocol.init_options)), 'init options')
  -- And every key the plugin sends is one of them.
  local config = require('session_sidecar.config')
  config.set({
    home = '/home/dev',
    agents = { 'claude' },
    agent_paths = { claude = '/usr/bin/claude' },
    store_roots = { qwen = '/x' },
    truncate_bytes = 100,
  })
  for k in pairs(config.init_options('/home/dev/acme-webapp')) do
    H.contains(protocol.init_options, k, 'init option sent')
  end
end)

H.test('enums match: Agent, ForkOnCheckout, CompressStrategy, Role, ContentBlock', function()
  H.eq(variants('Agent', 'lowercase'), sorted(vim.deepcopy(protocol.agents)), 'Agent')
  H.eq(variants('ForkOnCheckout', 'camelCase'), sorted(vim.deepcopy(protocol.fork_on_checkout)), 'ForkOnCheckout')
  H.eq(variants('CompressStrategy', 'lowercase'), sorted(vim.deepcopy(protocol.compress_strategies)), 'CompressStrategy')
  H.eq(variants('Role', 'lowercase'), sorted(vim.deepcopy(protocol.roles)), 'Role')
  H.eq(variants('ContentBlock', 'camelCase'), sorted(vim.deepcopy(protocol.content_blocks)), 'ContentBlock')
end)

H.test('the "@current" branch value is the one protocol.rs documents', function()
  H.truthy(rs:find('"' .. protocol.CURRENT_BRANCH .. '"', 1, true), '@current in protocol.rs')
end)

H.run()
