--- Runs an agent in a terminal split: the argv array from sessions/resume or sessions/continue,
--- started with jobstart()/termopen() and a LIST (never a shell string), in the recorded cwd
--- with the store overrides in env.
local config = require('session_sidecar.config')

local M = {}

--- Validate a LaunchCommand-like table; returns an error message or nil.
function M.check(cmd)
  if type(cmd) ~= 'table' or type(cmd.argv) ~= 'table' or #cmd.argv == 0 then
    return 'the sidecar returned no argv'
  end
  for _, a in ipairs(cmd.argv) do
    if type(a) ~= 'string' then
      return 'the sidecar returned a non-string argv element'
    end
  end
  if type(cmd.cwd) ~= 'string' or cmd.cwd == '' then
    return 'the sidecar returned no cwd'
  end
  return nil
end

--- Open a terminal split running `cmd = { argv, cwd, env }`. Returns (bufnr, job_id) or
--- (nil, err). `opts.title` names the buffer.
function M.open(cmd, opts)
  opts = opts or {}
  local err = M.check(cmd)
  if err then
    return nil, err
  end
  local env = {}
  if type(cmd.env) == 'table' and cmd.env ~= vim.NIL then
    for k, v in pairs(cmd.env) do
      env[k] = v
    end
  end
  local launch = config.options.terminal and config.options.terminal.launch
  if type(launch) == 'function' then
    return launch({ argv = vim.deepcopy(cmd.argv), cwd = cmd.cwd, env = env })
  end
  vim.cmd((config.options.terminal and config.options.terminal.open) or 'botright split')
  vim.cmd('enew')
  local buf = vim.api.nvim_get_current_buf()
  local job_opts = { cwd = cmd.cwd, env = next(env) and env or nil }
  local job
  -- A list argv: the agent is exec'd directly, no shell parses anything.
  if vim.fn.has('nvim-0.11') == 1 then
    job_opts.term = true
    job = vim.fn.jobstart(vim.deepcopy(cmd.argv), job_opts)
  else
    job = vim.fn.termopen(vim.deepcopy(cmd.argv), job_opts)
  end
  if job <= 0 then
    return nil, ('could not start %s (jobstart returned %d)'):format(cmd.argv[1], job)
  end
  vim.b[buf].session_sidecar_argv = cmd.argv
  vim.b[buf].session_sidecar_cwd = cmd.cwd
  if opts.title then
    vim.b[buf].term_title = opts.title
  end
  if opts.insert ~= false then
    vim.cmd('startinsert')
  end
  return buf, job
end

return M
