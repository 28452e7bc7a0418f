" Syntax of the .det rule language (docs/DSL.md), for Neovim and Vim.
if exists('b:current_syntax') | finish | endif
syn match detComment "#.*$"
syn keyword detDecl rule correlation
syn match detTest "^\s*test\s\+\(hit\|miss\)\>"
syn match detMeta "^\s*\(title\|id\|name\|status\|level\|description\|author\|date\|modified\|attack\|tags\|refs\|falsepositives\|fields\|scope\|related\|license\|taxonomy\|logsource\|custom\|type\|rules\|group-by\|timespan\|alias\|generate\|condition\)\>"
syn match detSelection "^\s*[A-Za-z_][A-Za-z0-9_]*\ze\s*="
" `contains` is an argument of :syn keyword, so it is matched.
syn match detModifier "\<contains\>"
syn keyword detModifier startswith endswith all cased exists neq re cidr base64 base64offset utf16le utf16be utf16 wide windash fieldref gt gte lt lte expand minute hour day week month year keywords
syn keyword detOperator and or not of them
syn keyword detConstant true false null
syn match detAttack "\<[Tt]\d\{4}\(\.\d\{3}\)\?\>"
syn region detString start=+"+ skip=+""+ end=+"+
syn region detString start=+'+ skip=+''+ end=+'+
hi def link detComment Comment
hi def link detDecl Keyword
hi def link detTest Statement
hi def link detMeta Identifier
hi def link detSelection Function
hi def link detModifier Operator
hi def link detOperator Keyword
hi def link detConstant Constant
hi def link detAttack Constant
hi def link detString String
let b:current_syntax = 'det'
