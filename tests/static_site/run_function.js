// Runs CloudFront Function sources against events, the way CloudFront calls them: handler(event), whose
// return value is the request to pass on or the response to answer with.
// stdin: [{"code": "<source>", "events": [<event>, ...]}, ...]; stdout: [[<result>, ...], ...]
"use strict";
const vm = require("node:vm");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const results = JSON.parse(input).map((run) => {
    const context = vm.createContext({});  // no require, no process: what a CloudFront Function has (and less)
    vm.runInContext(run.code, context, { filename: "viewer_request.js", timeout: 1000 });
    return run.events.map((event) => context.handler(JSON.parse(JSON.stringify(event))));
  });
  process.stdout.write(JSON.stringify(results));
});
