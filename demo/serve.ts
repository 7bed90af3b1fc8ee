/**
 * Serves the built page (demo/dist/) on 127.0.0.1 with sirv (a kept static-file server: MIME types,
 * including application/wasm, ranges, caching headers) on Node's http.
 *
 *   tsx demo/serve.ts [--port N (default 8080; 0 = any free port)] [--host H] [--dir DIR]
 */
import * as http from "node:http";
import * as path from "node:path";
import sirv from "sirv";

/** Start a server for `dir`; resolves with it once listening (its port: server.address()). */
export function serveDir(dir: string, port = 0, host = "127.0.0.1"): Promise<http.Server> {
  const handler = sirv(dir, { dev: true, etag: true });
  const server = http.createServer((req, res) => handler(req, res, () => {
    res.statusCode = 404;
    res.end("not found");
  }));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}

if (require.main === module) {
  const args = process.argv.slice(2);
  let port = 8080;
  let host = "127.0.0.1";
  let dir = path.resolve(__dirname, "dist");
  for (let i = 0; i < args.length; i++) {
    const v = args[i + 1];
    if (args[i] === "--port" && v !== undefined && /^\d+$/.test(v)) port = Number(args[++i]);
    else if (args[i] === "--host" && v !== undefined) host = args[++i];
    else if (args[i] === "--dir" && v !== undefined) dir = path.resolve(args[++i]);
    else {
      console.error(`demo/serve.ts: unexpected argument "${args[i]}" (expected --port N, --host H, --dir DIR)`);
      process.exit(2);
    }
  }
  serveDir(dir, port, host).then(
    (s) => {
      const a = s.address() as { port: number };
      console.log(`demo: serving ${path.relative(process.cwd(), dir) || "."}/ at http://${host}:${a.port}/ (Ctrl-C stops)`);
    },
    (e) => {
      console.error(`demo: cannot listen on ${host}:${port}: ${e instanceof Error ? e.message : e}`);
      process.exit(1);
    },
  );
}
