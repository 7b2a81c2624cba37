--- The context gauge of the workspace's active session (the one most recently written), for
--- 'statusline' / lualine & co. Cheap: it reads what sessions/contextUsage last pushed (seeded
--- from the newest session when the sidecar starts); it never sends a request.
local client = require('session_sidecar.client')
local config = require('session_sidecar.config')
local format = require('session_sidecar.format')

local M = {}

M.groups = {
  ok = 'SessionSidecarContextOk',
  warn = 'SessionSidecarContextWarn',
  error = 'SessionSidecarContextError',
}

--- 'ok' | 'warn' | 'error' for a percentage, by the `thresholds` option.
function M.level(percent)
  local t = config.options.thresholds or {}
  if type(percent) ~= 'number' then
    return 'ok'
  end
  if percent >= (t.error or 90) then
    return 'error'
  elseif percent >= (t.warn or 70) then
    return 'warn'
  end
  return 'ok'
end

--- The gauge data for the current buffer's workspace, or nil:
--- { percent, used_tokens, context_window, auto_compact_percent, agent, id, model, level }.
function M.context(bufnr)
  local state = client.get(client.root(bufnr))
  if not state then
    -- One sidecar running: use it whatever the buffer.
    local only
    for _, s in pairs(client.states) do
      if only then
        only = nil
        break
      end
      only = s
    end
    state = only
  end
  local c = state and state.context
  if type(c) ~= 'table' or (type(c.percent) ~= 'number' and type(c.usedTokens) ~= 'number') then
    return nil
  end
  if c.usedTokens == 0 then
    return nil -- a session before its first model turn: nothing to gauge yet
  end
  local session = type(c.session) == 'table' and c.session or {}
  return {
    percent = type(c.percent) == 'number' and c.percent or nil,
    used_tokens = c.usedTokens,
    context_window = c.contextWindow,
    auto_compact_percent = not format.null(c.autoCompactPercent) and c.autoCompactPercent or nil,
    agent = session.agent,
    id = session.id,
    model = not format.null(c.model) and c.model or nil,
    level = M.level(c.percent),
  }
end

--- The gauge as plain text ("" when there is none): "ctx 42% (84k/200k)".
function M.text(bufnr)
  local ctx = M.context(bufnr)
  if not ctx then
    return ''
  end
  local fmt = config.options.statusline and config.options.statusline.format
  if type(fmt) == 'function' then
    return fmt(ctx) or ''
  end
  if not ctx.percent or format.null(ctx.context_window) then
    -- The window is unknown: tokens only.
    return ('ctx %s'):format(format.tokens(ctx.used_tokens))
  end
  return ('ctx %s (%s/%s)'):format(
    format.percent(ctx.percent),
    format.tokens(ctx.used_tokens),
    format.tokens(ctx.context_window)
  )
end

--- The gauge for 'statusline': highlighted by level, '%' escaped.
--- `set statusline=%{%v:lua.require'session_sidecar'.statusline()%}`
function M.statusline(bufnr)
  local text = M.text(bufnr)
  if text == '' then
    return ''
  end
  local ctx = M.context(bufnr)
  return ('%%#%s#%s%%*'):format(M.groups[ctx.level], (text:gsub('%%', '%%%%')))
end

local function redraw()
  vim.cmd('redrawstatus!')
end
client.on('context', function()
  pcall(redraw)
end)

return M
