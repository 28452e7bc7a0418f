-- detc for Neovim's built-in LSP client: `.det` files get the `det` filetype, and `.det`
-- files and Sigma rule files (YAML under a `rules/` folder by default) are served by
-- `detc lsp`. Works on Neovim 0.7 (Debian 12) and later.
--
--   vim.opt.runtimepath:append('/path/to/detc/editors/nvim')
--   require('detc').setup({})                      -- or setup({ cmd = { '/path/to/detc', 'lsp' } })
--
-- Commands: :DetcShowCompiled (the rule at the cursor compiled for every target, in a split).
-- Keys are left to you; the usual ones are vim.lsp.buf.hover, definition, references,
-- rename, code_action, formatting (vim.lsp.buf.format on 0.8+).
local M = {}

local defaults = {
  cmd = { 'detc', 'lsp' },
  -- Lua patterns of the YAML files that are Sigma rules (other YAML is left alone).
  sigma_patterns = { '/rules/.*%.ya?ml$' },
  -- Files whose folder is the workspace root (rules of the whole workspace are indexed).
  root_markers = { '.git', 'rules' },
}

local config = vim.deepcopy(defaults)
local client_id = nil

local function root_dir(path)
  local dir = vim.fn.fnamemodify(path, ':p:h')
  while dir and dir ~= '/' and dir ~= '' do
    for _, m in ipairs(config.root_markers) do
      if vim.loop.fs_stat(dir .. '/' .. m) then
        return dir
      end
    end
    local parent = vim.fn.fnamemodify(dir, ':h')
    if parent == dir then break end
    dir = parent
  end
  return vim.fn.fnamemodify(path, ':p:h')
end

local function is_rule_file(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name:match('%.det$') then return true end
  for _, p in ipairs(config.sigma_patterns) do
    if name:match(p) then return true end
  end
  return false
end

local function show_compiled(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local uri = vim.uri_from_bufnr(bufnr)
  local line = vim.api.nvim_win_get_cursor(0)[1] - 1
  local symbols = vim.lsp.buf_request_sync(bufnr, 'textDocument/documentSymbol',
    { textDocument = { uri = uri } }, 5000) or {}
  local rule
  for _, res in pairs(symbols) do
    for _, s in ipairs(res.result or {}) do
      if s.range.start.line <= line and line <= s.range['end'].line then rule = s.name end
      rule = rule or s.name
    end
  end
  if not rule then
    vim.notify('detc: no rule in this buffer', vim.log.levels.WARN)
    return
  end
  local out = vim.lsp.buf_request_sync(bufnr, 'workspace/executeCommand',
    { command = 'detc.showCompiled', arguments = { uri, rule } }, 10000) or {}
  for _, res in pairs(out) do
    if res.error then
      vim.notify('detc: ' .. res.error.message, vim.log.levels.ERROR)
    elseif res.result then
      vim.cmd('botright new')
      local buf = vim.api.nvim_get_current_buf()
      vim.api.nvim_buf_set_lines(buf, 0, -1, false, vim.split(res.result.text, '\n'))
      vim.bo[buf].buftype = 'nofile'
      vim.bo[buf].bufhidden = 'wipe'
      vim.api.nvim_buf_set_name(buf, 'detc://compiled/' .. rule)
    end
  end
end

local function attach(bufnr)
  if not is_rule_file(bufnr) then return end
  local name = vim.api.nvim_buf_get_name(bufnr)
  if client_id == nil or vim.lsp.get_client_by_id(client_id) == nil then
    local root = root_dir(name)
    client_id = vim.lsp.start_client({
      name = 'detc',
      cmd = config.cmd,
      root_dir = root,
    })
  end
  if client_id then
    vim.lsp.buf_attach_client(bufnr, client_id)
  end
end

function M.setup(opts)
  config = vim.tbl_deep_extend('force', vim.deepcopy(defaults), opts or {})
  local group = vim.api.nvim_create_augroup('detc', { clear = true })
  -- Attached on reading the file rather than on FileType, so it does not depend on the
  -- user's `:filetype` setting (and on Neovim 0.7 a filetype set inside an autocommand runs
  -- no FileType autocommands).
  vim.api.nvim_create_autocmd({ 'BufRead', 'BufNewFile' }, {
    group = group,
    pattern = { '*.det', '*.yml', '*.yaml' },
    callback = function(args)
      if vim.api.nvim_buf_get_name(args.buf):match('%.det$') then
        vim.api.nvim_buf_call(args.buf, function() vim.cmd('setfiletype det') end)
        vim.bo[args.buf].commentstring = '# %s'
      end
      attach(args.buf)
    end,
  })
  vim.api.nvim_create_user_command('DetcShowCompiled', function() show_compiled() end,
    { desc = 'detc: the rule at the cursor compiled for every target' })
end

M.show_compiled = show_compiled
M.attach = attach

return M
