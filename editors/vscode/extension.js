// The detc extension: starts `detc lsp` (the language server in the detc binary) for `.det`
// files and for the Sigma rule files that `detc.sigmaFiles` matches, and shows what
// `detc.showCompiled` returns (the rule compiled for every target) in a side editor.
'use strict';

const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

let client;

/** The rule at the cursor, from the server's document symbols. */
async function ruleAtCursor(editor) {
  const symbols = await client.sendRequest('textDocument/documentSymbol', {
    textDocument: { uri: editor.document.uri.toString() },
  });
  const line = editor.selection.active.line;
  const hit = (symbols || []).find((s) => s.range.start.line <= line && line <= s.range.end.line);
  return hit ? hit.name : (symbols && symbols[0] && symbols[0].name);
}

async function showCompiled(result) {
  if (!result) return;
  const doc = await vscode.workspace.openTextDocument({ content: result.text, language: 'plaintext' });
  await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true });
}

function activate(context) {
  const config = vscode.workspace.getConfiguration('detc');
  const command = config.get('path') || 'detc';
  const serverOptions = {
    run: { command, args: ['lsp'] },
    debug: { command, args: ['lsp'] },
  };
  const clientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'det' },
      { scheme: 'untitled', language: 'det' },
      { scheme: 'file', language: 'yaml', pattern: config.get('sigmaFiles') },
    ],
    middleware: {
      // The server's `detc.showCompiled` (code lens or command palette): run it, then show
      // the compiled queries next to the rule.
      executeCommand: async (cmd, args, next) => {
        if (cmd === 'detc.showCompiled' && (!args || args.length === 0)) {
          const editor = vscode.window.activeTextEditor;
          if (!editor) return undefined;
          args = [editor.document.uri.toString(), await ruleAtCursor(editor)];
        }
        const result = await next(cmd, args);
        if (cmd === 'detc.showCompiled') await showCompiled(result);
        return result;
      },
    },
  };
  client = new LanguageClient('detc', 'detc language server', serverOptions, clientOptions);
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
