// Parses KQL queries with Microsoft's own Kusto.Language (npm @kusto/language-service-next).
//
// Input (stdin, JSON): { "tables": { "<Table>" or "<function>()": { "<Column>": "<type>", ... }, ... },
//                        "queries": [ { "id": "...", "query": "..." }, ... ] }
// Output (stdout, JSON): [ { "id", "errors": [ "..." ], "literals": [ "..." ] }, ... ]
// `errors` are the parser's and semantic analyser's errors (ParseAndAnalyze against a database
// built from the tables); `literals` are the values of the string literals in source order, as
// Kusto reads them, and `shape` is the token sequence with every string literal replaced by
// `<string>` (used by the escaping round-trip and injection tests).
'use strict';
const path = require('path');
const base = path.join(__dirname, 'node_modules', '@kusto', 'language-service-next');
require(path.join(base, 'bridge.min.js'));
require(path.join(base, 'Kusto.Language.Bridge.min.js'));
const K = Kusto.Language;
const S = K.Symbols;

function globalsFor(tables) {
  const syms = Object.keys(tables).map((name) => {
    const cols = Object.entries(tables[name]).map(([c, t]) => `['${c}']:${t}`).join(', ');
    // A name ending in `()` is a function returning rows of that schema (e.g. an ASIM parser
    // such as `_Im_WebSession()`), called without arguments.
    if (name.endsWith('()')) {
      const fname = name.slice(0, -2);
      const rows = new S.TableSymbol.$ctor7(fname, `(${cols})`, null);
      return new S.FunctionSymbol.$ctor5(fname, rows, []);
    }
    return new S.TableSymbol.$ctor7(name, `(${cols})`, null);
  });
  const db = new S.DatabaseSymbol.$ctor1('detc', Bridge.toList(syms), false);
  return K.GlobalState.Default.WithDatabase(db);
}

function check(globals, query) {
  const code = K.KustoCode.ParseAndAnalyze(query, globals);
  const diags = code.GetDiagnostics();
  const errors = [];
  for (let i = 0; i < diags.Count; i++) {
    const d = diags.getItem(i);
    if (String(d.Severity) === 'Error') errors.push(`${d.Start}: ${d.Message}`);
  }
  const literals = [];
  const shape = [];
  let tok = code.Syntax.GetFirstToken(false);
  while (tok) {
    if (tok.Kind === K.Syntax.SyntaxKind.StringLiteralToken) {
      literals.push(K.KustoFacts.GetStringLiteralValue(tok.Text));
      shape.push('<string>');
    } else {
      shape.push(tok.Text);
    }
    tok = tok.GetNextToken(false);
  }
  return { errors, literals, shape: shape.join(' ') };
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  const req = JSON.parse(input);
  const globals = globalsFor(req.tables || {});
  const out = req.queries.map((q) => Object.assign({ id: q.id }, check(globals, q.query)));
  process.stdout.write(JSON.stringify(out));
});
