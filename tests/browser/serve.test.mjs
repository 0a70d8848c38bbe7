// www/serve.mjs from the command line: when the port asked for is taken, it serves on another
// and prints the URL it really uses.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { test } from "node:test";
import { REPO, serve } from "./browser.mjs";

test("a busy port makes the server fall back to a free one and print the URL it uses", async () => {
  const busy = await serve();
  const port = new URL(busy.url).port;
  const child = spawn(process.execPath, [join(REPO, "www", "serve.mjs"), "--port", port, "--open", "/www/"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  try {
    let output = "";
    child.stdout.setEncoding("utf8");
    const opened = new Promise((resolve, reject) => {
      child.stdout.on("data", (chunk) => {
        output += chunk;
        const match = output.match(/Open (http:\/\/127\.0\.0\.1:(\d+)\/www\/)/);
        if (match) resolve(match);
      });
      child.once("exit", (code) => reject(new Error(`serve.mjs exited (${code}) before printing a URL:\n${output}`)));
    });
    const [, url, used] = await opened;
    assert.notEqual(used, port, "not the busy port");
    assert.match(output, new RegExp(`Port ${port} is in use`));
    const response = await fetch(url);
    assert.equal(response.status, 200, "the printed URL serves the demo");
    await response.arrayBuffer();
  } finally {
    child.kill();
    if (child.exitCode === null) await once(child, "exit");
    await busy.close();
  }
});
