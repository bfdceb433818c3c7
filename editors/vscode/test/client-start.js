// Smoke test of the client's start-up, with stand-ins for VS Code and vscode-languageclient so
// that it runs under plain node: activate() must start the configured server command for .arch
// documents and hand the client to VS Code to dispose of; deactivate() must stop it.
"use strict";

const assert = require("node:assert/strict");
const Module = require("node:module");
const path = require("node:path");

const made = [];
class LanguageClient {
  constructor(id, name, server, client) {
    Object.assign(this, { id, name, server, client, started: false, stopped: false });
    made.push(this);
  }
  start() {
    this.started = true;
    return Promise.resolve();
  }
  stop() {
    this.stopped = true;
    return Promise.resolve();
  }
}

const configured = ["/opt/venv/bin/archc", "lsp", "--flag"];
const vscode = {
  workspace: {
    getConfiguration(section) {
      assert.equal(section, "archc");
      return { get: (key, fallback) => (key === "server.command" ? configured : fallback) };
    },
  },
};

const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === "vscode") return vscode;
  if (request === "vscode-languageclient/node") return { LanguageClient };
  return load.call(this, request, ...rest);
};

const extension = require(path.join(__dirname, "..", "extension.js"));

(async () => {
  const context = { subscriptions: [] };
  await extension.activate(context);
  assert.equal(made.length, 1);
  const [client] = made;
  assert.deepEqual(client.server, { command: configured[0], args: configured.slice(1) });
  assert.deepEqual(
    client.client.documentSelector.map((selector) => selector.language),
    ["arch", "arch"],
  );
  assert.ok(client.started, "activate() starts the client");
  assert.deepEqual(context.subscriptions, [client]);
  await extension.deactivate();
  assert.ok(client.stopped, "deactivate() stops the client");
  console.log("client start-up: ok");
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
