// A static file server for the repository root, bound to 127.0.0.1.
//
// It serves the root rather than www/ so that pages import the package from the same path
// it has in the repository (/kv-wasm/pkg/kv_wasm.js). Written by hand, without dependencies,
// because the demo must start on a fresh machine before any `npm ci`.
//
//   node www/serve.mjs [--port N] [--open /www/]   (or PORT=N; 0 picks a free port, and so
//                                                  does a busy N; --open prints that page's
//                                                  URL first, with the port actually used)
//   import { start } from "./serve.mjs"; const { url, close } = await start({ port: 0 });

import { createServer } from "node:http";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".cjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".md": "text/plain; charset=utf-8",
  ".ts": "text/plain; charset=utf-8",
};

/** Maps a request path to a file under `root`, or null when it would leave the root. */
function resolvePath(root, urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes("\0")) return null;
  const full = resolve(join(root, decoded));
  if (full !== root && !full.startsWith(root + sep)) return null;
  return full;
}

async function handle(root, req, res) {
  // Every reload must see the package just rebuilt, and the benchmark must measure it cold.
  res.setHeader("cache-control", "no-store");
  const send = (status, body) => {
    res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
    res.end(body);
  };
  if (req.method !== "GET" && req.method !== "HEAD") return send(405, "method not allowed\n");

  const { pathname } = new URL(req.url, "http://localhost");
  if (pathname === "/") {
    res.writeHead(302, { location: "/www/" });
    return res.end();
  }
  let file = resolvePath(root, pathname);
  if (file === null) return send(403, "forbidden\n");

  let info = await stat(file).catch(() => null);
  if (info?.isDirectory()) {
    // Relative links in an index page only work if the directory URL ends with a slash.
    if (!pathname.endsWith("/")) {
      res.writeHead(301, { location: pathname + "/" });
      return res.end();
    }
    file = join(file, "index.html");
    info = await stat(file).catch(() => null);
  }
  if (!info?.isFile()) return send(404, "not found\n");

  res.writeHead(200, {
    "content-type": MIME[extname(file).toLowerCase()] ?? "application/octet-stream",
    "content-length": info.size,
    // Cross-origin isolation buys the benchmark 5 µs timers instead of 100 µs ones; every
    // resource here is same-origin, so nothing else changes.
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-embedder-policy": "require-corp",
  });
  if (req.method === "HEAD") return res.end();
  createReadStream(file).on("error", () => res.destroy()).pipe(res);
}

/** Starts serving; resolves to the base URL and a function that stops the server. */
export function start({ port = 0, root = ROOT } = {}) {
  const server = createServer((req, res) => {
    handle(root, req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  return new Promise((done, fail) => {
    server.once("error", fail);
    server.listen(port, "127.0.0.1", () => {
      const url = `http://127.0.0.1:${server.address().port}`;
      const close = () =>
        new Promise((closed) => {
          server.closeAllConnections();
          server.close(() => closed());
        });
      done({ url, close });
    });
  });
}

function portFromArgs(argv, env) {
  const i = argv.indexOf("--port");
  const raw = i >= 0 ? argv[i + 1] : env.PORT ?? "8080";
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`not a port number: ${raw}`);
  }
  return port;
}

/** Starts on `port`, or on a free port if another program holds that one. */
async function startOrFallBack(port) {
  try {
    return await start({ port });
  } catch (err) {
    if (err?.code !== "EADDRINUSE" || port === 0) throw err;
    const fallback = await start({ port: 0 });
    console.log(`Port ${port} is in use; serving on port ${new URL(fallback.url).port} instead.`);
    return fallback;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const { url } = await startOrFallBack(portFromArgs(args, process.env));
  const open = args.indexOf("--open");
  if (open >= 0 && args[open + 1]) console.log(`\n  Open ${url}${args[open + 1]}\n`);
  console.log(`Serving ${ROOT} at ${url}/`);
  console.log(`  demo:       ${url}/www/`);
  console.log(`  benchmark:  ${url}/www/bench/`);
  console.log("Press Ctrl+C to stop.");
}
