/**
 * The Deno runtime adapter: the only module that touches `Deno.*`. Everything else in coop is
 * Web-standard and receives what it needs (bytes, storage, sinks) as arguments.
 *
 * @module
 */

/**
 * Writes a file atomically: the bytes go to a temporary file beside the target, which is then
 * renamed over it, so a reader (or a crash) never sees a half-written file.
 * @param path destination path
 * @param data text or bytes
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${Date.now()}-${Math.floor(Math.random() * 1e9)}`;
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  try {
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/**
 * Creates a directory and its parents.
 * @param path the directory
 */
export async function ensureDir(path: string): Promise<void> {
  await Deno.mkdir(path, { recursive: true });
}

/**
 * Appends one line of text to a file (creating it), for JSONL logs.
 * @param path the file
 * @param line the line, without its newline
 */
export async function appendLine(path: string, line: string): Promise<void> {
  await Deno.writeTextFile(path, line + "\n", { append: true, create: true });
}

/**
 * Peak resident set size seen so far is not available in Deno; this returns the current RSS
 * in MB, which callers sample to track a peak.
 * @returns resident set size in MB
 */
export function rssMb(): number {
  return Deno.memoryUsage().rss / (1024 * 1024);
}
