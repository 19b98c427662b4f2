/**
 * What the examples' browser pages share: bundling a page's TypeScript with the package's own
 * code (`deno bundle --platform browser`) and serving a fixed set of files on loopback.
 *
 * @module
 */

/**
 * Bundles TypeScript entry points for the browser, from the project root (so `deno.json`
 * resolves `@coop/rl`).
 * @param entries URL of each entry point
 * @returns the bundled JavaScript of each, in order
 */
export async function bundleForBrowser(entries: readonly URL[]): Promise<Uint8Array[]> {
  const outDir = await Deno.makeTempDir({ prefix: "coop-bundle-" });
  try {
    const out: Uint8Array[] = [];
    for (const [i, entry] of entries.entries()) {
      const file = `${outDir}/${i}.js`;
      const r = await new Deno.Command(Deno.execPath(), {
        args: ["bundle", "--quiet", "--platform", "browser", "-o", file, entry.pathname],
        cwd: new URL("../", import.meta.url).pathname,
        stdout: "inherit",
        stderr: "inherit",
      }).output();
      if (!r.success) throw new Error(`bundling ${entry.pathname} failed (see above)`);
      out.push(await Deno.readFile(file));
    }
    return out;
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
}

/** One file the server answers with. */
export interface ServedFile {
  /** The bytes. */
  body: Uint8Array;
  /** Its content type. */
  type: string;
}

/**
 * Serves `files` by path on 127.0.0.1 until SIGINT; `/` is `/index.html`.
 * @param files path → file
 * @param port the port (0: any free one)
 * @param headers extra response headers (for example COOP/COEP)
 * @param onListen called with the address once listening
 * @returns the server
 */
export function serveFiles(
  files: Record<string, ServedFile>,
  port: number,
  headers: Record<string, string>,
  onListen: (url: string) => void,
): Deno.HttpServer {
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port,
    onListen: ({ hostname, port }) => onListen(`http://${hostname}:${port}/`),
  }, (req) => {
    const path = new URL(req.url).pathname;
    const f = files[path === "/" ? "/index.html" : path];
    if (f === undefined) return new Response("not found", { status: 404 });
    return new Response(f.body.slice(), {
      headers: { "content-type": f.type, "cache-control": "no-store", ...headers },
    });
  });
  Deno.addSignalListener("SIGINT", () => void server.shutdown().then(() => Deno.exit(0)));
  return server;
}

/** Content types of the files the pages use. */
export const TYPES = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  wasm: "application/wasm",
  bytes: "application/octet-stream",
} as const;
