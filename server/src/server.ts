// The language server process: wiring only. Language features live in lsp/ (pure), engine work in
// engine/; this file connects them to an LSP connection.
import {
  createConnection,
  ProposedFeatures,
  TextDocuments,
  TextDocumentSyncKind,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);

connection.onInitialize(() => ({
  capabilities: { textDocumentSync: TextDocumentSyncKind.Incremental },
  serverInfo: { name: 'strata-language-server', version: '0.1.0' },
}));

documents.listen(connection);
connection.listen();
