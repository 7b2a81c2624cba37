--- Text formatting shared by the picker, sidebar, history buffer and statusline.
local M = {}

local function null(v)
  return v == nil or v == vim.NIL
end
M.null = null

--- Seconds since the epoch of an ISO 8601 UTC time ("2026-11-21T06:28:17.696Z"), or nil.
function M.parse_time(iso)
  if null(iso) or type(iso) ~= 'string' then
    return nil
  end
  local y, mo, d, h, mi, s = iso:match('^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)')
  if not y then
    return nil
  end
  y, mo, d, h, mi, s =
    tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(s)
  -- Days from civil (proleptic Gregorian), no dependence on the local time zone.
  local yy = mo <= 2 and y - 1 or y
  local era = math.floor(yy / 400)
  local yoe = yy - era * 400
  local mp = (mo + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  local days = era * 146097 + doe - 719468
  return days * 86400 + h * 3600 + mi * 60 + s
end

--- "just now", "5m", "3h", "2d", "6w", "4mo", "2y" between `iso` and `now` (default os.time()).
function M.age(iso, now)
  local t = M.parse_time(iso)
  if not t then
    return '?'
  end
  local d = (now or os.time()) - t
  if d < 60 then
    return 'just now'
  elseif d < 3600 then
    return ('%dm ago'):format(math.floor(d / 60))
  elseif d < 86400 then
    return ('%dh ago'):format(math.floor(d / 3600))
  elseif d < 86400 * 14 then
    return ('%dd ago'):format(math.floor(d / 86400))
  elseif d < 86400 * 60 then
    return ('%dw ago'):format(math.floor(d / (86400 * 7)))
  elseif d < 86400 * 365 then
    return ('%dmo ago'):format(math.floor(d / (86400 * 30)))
  end
  return ('%dy ago'):format(math.floor(d / (86400 * 365)))
end

--- 0.5 -> "0.5%", 42.25 -> "42%", nil -> nil.
function M.percent(p)
  if null(p) or type(p) ~= 'number' then
    return nil
  end
  if p > 0 and p < 0.05 then
    return '<0.1%'
  end
  if p < 10 then
    local s = ('%.1f'):format(p)
    s = s:gsub('%.0$', '')
    return s .. '%'
  end
  return ('%d%%'):format(math.floor(p + 0.5))
end

--- 5212 -> "5.2k", 1000000 -> "1M".
function M.tokens(n)
  if null(n) or type(n) ~= 'number' then
    return '?'
  end
  local function trim(s)
    return (s:gsub('%.0$', ''))
  end
  if n >= 1e6 then
    return trim(('%.1f'):format(n / 1e6)) .. 'M'
  elseif n >= 1e3 then
    return trim(('%.1f'):format(n / 1e3)) .. 'k'
  end
  return tostring(n)
end

--- A session's title on one line (falls back to the first prompt, then the id).
function M.title(s)
  local t = (not null(s.title) and s.title) or (not null(s.firstPrompt) and s.firstPrompt) or s.id
  t = tostring(t):gsub('[\r\n\t]+', ' ')
  return vim.trim(t)
end

function M.context_percent(s)
  local c = s.context
  if null(c) or type(c) ~= 'table' then
    return nil
  end
  return M.percent(c.percent)
end

function M.messages(n)
  if null(n) then
    return '? msgs'
  end
  return n == 1 and '1 msg' or ('%d msgs'):format(n)
end

--- The picker line: title · agent · branch · age · messages · context %.
function M.session_line(s, now)
  local parts = {
    M.title(s),
    s.agent,
    null(s.gitBranch) and 'no branch' or s.gitBranch,
    M.age(s.lastModified, now),
    M.messages(s.messageCount),
    M.context_percent(s) or 'ctx ?',
  }
  return table.concat(parts, ' · ')
end

--- Cut a string to `width` display cells, with an ellipsis.
function M.truncate(s, width)
  if width <= 0 then
    return ''
  end
  if vim.fn.strdisplaywidth(s) <= width then
    return s
  end
  local out = vim.fn.strcharpart(s, 0, width - 1)
  while vim.fn.strdisplaywidth(out) > width - 1 do
    out = vim.fn.strcharpart(out, 0, vim.fn.strchars(out) - 1)
  end
  return out .. '…'
end

--- "2026-11-21 06:04" (UTC) of an ISO time.
function M.clock(iso)
  local t = M.parse_time(iso)
  if not t then
    return nil
  end
  return os.date('!%Y-%m-%d %H:%M', t)
end

return M
