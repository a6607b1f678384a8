// Preload for twilio-cli (@twilio/cli-core): sends its TaskRouter requests to the emulator.
//
// twilio-cli has no setting for a base URL: it takes the host from the spec bundled in cli-core,
// and `edge`/`region` can only make other *.twilio.com names. This file, loaded before the CLI with
//   NODE_OPTIONS="--require /path/to/twilio_cli_hook.js" TASKROUTER_BASE_URL=http://127.0.0.1:8080 \
//     twilio api:taskrouter:v1:workspaces:list
// wraps CliRequestClient.prototype.request (cli-core's one HTTP entry point) so that
// https://taskrouter[.edge.region].twilio.com/... becomes $TASKROUTER_BASE_URL/... . Every other
// host (api.twilio.com, ...) is left alone, and so are the emulator's own absolute paging URLs.
// `taskrouter-emulator twilio-cli-hook` prints this file's path.
"use strict";

const Module = require("module");

const TASKROUTER_HOST = /^https:\/\/taskrouter(\.[a-z0-9-]+)*\.twilio\.com(?=\/|$)/;
const base = (process.env.TASKROUTER_BASE_URL || "http://127.0.0.1:8080").replace(/\/+$/, "");
const patched = new WeakSet();

function redirect(CliRequestClient) {
  if (typeof CliRequestClient !== "function" || patched.has(CliRequestClient)) return;
  const request = CliRequestClient.prototype.request;
  CliRequestClient.prototype.request = function (opts) {
    if (opts && typeof opts.uri === "string") {
      opts.uri = opts.uri.replace(TASKROUTER_HOST, base);
    }
    return request.call(this, opts);
  };
  patched.add(CliRequestClient);
}

// The CLI may be installed anywhere (globally, npx, a project): catch the module as it is loaded
// instead of resolving a fixed path. Other node programs started with this NODE_OPTIONS never
// load it and are unaffected.
const load = Module._load;
Module._load = function (request, parent, isMain) {
  const exported = load.apply(this, arguments);
  if (typeof request === "string" && /(^|\/)cli-http-client(\.js)?$/.test(request)) {
    redirect(exported);
  }
  return exported;
};
