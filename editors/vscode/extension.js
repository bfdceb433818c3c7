// Starts `archc lsp` for .arch files; everything else (diagnostics, hover, completion,
// go to definition, outline, formatting) comes from the server.
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const [command, ...args] = vscode.workspace
    .getConfiguration("archc")
    .get("server.command", ["archc", "lsp"]);
  client = new LanguageClient(
    "archc",
    "archc",
    { command, args },
    {
      documentSelector: [
        { scheme: "file", language: "arch" },
        { scheme: "untitled", language: "arch" },
      ],
    },
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
