-- A headless Neovim session through its built-in LSP client and editors/nvim/lua/detc.lua:
-- open DETC_FILE, wait for detc's diagnostics, ask for the compiled queries, and write what
-- the client saw to DETC_OUT as JSON (read by tests/lsp_nvim.rs).
vim.opt.runtimepath:append(os.getenv('DETC_NVIM_RTP'))
require('detc').setup({ cmd = { os.getenv('DETC_BIN'), 'lsp' } })
vim.cmd('edit ' .. vim.fn.fnameescape(os.getenv('DETC_FILE')))
local buf = vim.api.nvim_get_current_buf()
local out = { filetype = vim.bo[buf].filetype, diagnostics = {} }
out.got = vim.wait(30000, function() return #vim.diagnostic.get(buf) > 0 end, 50)
for _, d in ipairs(vim.diagnostic.get(buf)) do
  local lsp = (d.user_data or {}).lsp or {}
  table.insert(out.diagnostics, {
    lnum = d.lnum, col = d.col, severity = d.severity, source = d.source,
    message = d.message, code = d.code or lsp.code,
  })
end
-- Hover on the modifier of line 9 and the compiled queries, through the same client.
local uri = vim.uri_from_bufnr(buf)
local hover = vim.lsp.buf_request_sync(buf, 'textDocument/hover',
  { textDocument = { uri = uri }, position = { line = 9, character = 27 } }, 10000) or {}
for _, r in pairs(hover) do
  if r.result then out.hover = r.result.contents.value end
end
-- The quick fix for the diagnostic, applied by the client (the buffer change goes back to the
-- server as didChange), then the diagnostics again: none.
local d0 = out.diagnostics[1]
local actions = vim.lsp.buf_request_sync(buf, 'textDocument/codeAction', {
  textDocument = { uri = uri },
  range = { start = { line = d0.lnum, character = d0.col }, ['end'] = { line = d0.lnum, character = d0.col } },
  context = { diagnostics = {} },
}, 10000) or {}
for _, r in pairs(actions) do
  for _, a in ipairs(r.result or {}) do
    out.action = a.title
    vim.lsp.util.apply_workspace_edit(a.edit, 'utf-16')
  end
end
out.fixed_line = vim.api.nvim_buf_get_lines(buf, d0.lnum, d0.lnum + 1, false)[1]
out.cleared = vim.wait(30000, function() return #vim.diagnostic.get(buf) == 0 end, 50)
vim.api.nvim_win_set_cursor(0, { 3, 0 })
require('detc').show_compiled(buf)
out.compiled = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
local f = assert(io.open(os.getenv('DETC_OUT'), 'w'))
f:write(vim.fn.json_encode(out))
f:close()
vim.cmd('qa!')
