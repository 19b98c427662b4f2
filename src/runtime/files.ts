/**
 * The Deno runtime adapter: the only module that touches `Deno.*`. Everything else in coop is
 * Web-standard and receives what it needs (bytes, storage, sinks) as arguments; here are the
 * Deno implementations: {@linkcode writeFileAtomic} (temporary file, fsync, rename, fsync of
 * the directory), {@linkcode FileStorage} (checkpoints on disk), directories, JSONL appends and
 * the resident set size.
 *
 * @module
 */

import type { CheckpointStorage } from "../train/storage.ts";

/** Marks the temporary files of {@linkcode writeFileAtomic} (`<path>.tmp-<time>-<random>`). */
const TMP_MARK = ".tmp-";

/**
 * Writes a file atomically: the bytes go to a temporary file beside the target, are flushed to
 * disk (fsync), and the file is then renamed over the target, so a reader (or a crash) sees the
 * old file or the new one, never a part of one. The directory is fsynced afterwards where the
 * platform allows it (not on Windows), so the rename itself survives a power loss.
 * @param path destination path
 * @param data text or bytes
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}${TMP_MARK}${Date.now()}-${Math.floor(Math.random() * 1e9)}`;
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  try {
    const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      let off = 0;
      while (off < bytes.length) off += await f.write(bytes.subarray(off));
      await f.sync();
    } finally {
      f.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  await syncDir(dirOf(path));
}

/** Fsyncs a directory where the platform allows it (ignored where it does not). */
async function syncDir(dir: string): Promise<void> {
  try {
    const d = await Deno.open(dir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  } catch {
    // Windows cannot open a directory as a file; the rename is still atomic there.
  }
}

function dirOf(path: string): string {
  const i = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

/**
 * A {@linkcode CheckpointStorage} on the file system under a root directory: `write` is
 * {@linkcode writeFileAtomic} (creating directories as needed), `list` hides the temporary
 * files of writes in progress (or of writes a crash interrupted). Needs `--allow-read` and
 * `--allow-write` for the root.
 *
 * @example
 * ```ts ignore
 * import { FileStorage } from "@coop/rl/runtime";
 * const storage = new FileStorage("runs/maze");
 * // new PPOConfig()...checkpointing({ storage, checkpointFreq: 10 })
 * ```
 */
export class FileStorage implements CheckpointStorage {
  /** The directory paths are relative to. */
  readonly root: string;

  /**
   * A storage under `root`.
   * @param root the directory storage paths are relative to (default `"."`)
   */
  constructor(root = ".") {
    this.root = root;
  }

  #path(p: string): string {
    if (p.split("/").includes("..")) {
      throw new RangeError(`Storage path must not contain "..", got "${p}"`);
    }
    if (this.root === "" || this.root === ".") return p === "" ? "." : p;
    return p === "" ? this.root : `${this.root.replace(/\/+$/, "")}/${p}`;
  }

  /**
   * Reads a file.
   * @param path relative to the root
   * @returns its bytes, or undefined when it does not exist
   */
  async read(path: string): Promise<Uint8Array | undefined> {
    try {
      return await Deno.readFile(this.#path(path));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e;
    }
  }

  /**
   * Writes a file atomically, creating its directory.
   * @param path relative to the root
   * @param data the bytes
   */
  async write(path: string, data: Uint8Array): Promise<void> {
    const full = this.#path(path);
    await Deno.mkdir(dirOf(full), { recursive: true });
    await writeFileAtomic(full, data);
  }

  /**
   * The names of the files in a directory (not temporary files, not subdirectories).
   * @param dir relative to the root
   * @returns file names, sorted; empty when the directory does not exist
   */
  async list(dir: string): Promise<string[]> {
    const out: string[] = [];
    try {
      for await (const e of Deno.readDir(this.#path(dir))) {
        if (e.isFile && !e.name.includes(TMP_MARK)) out.push(e.name);
      }
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return [];
      throw e;
    }
    return out.sort();
  }

  /**
   * Removes a file (no error when it does not exist).
   * @param path relative to the root
   */
  async remove(path: string): Promise<void> {
    try {
      await Deno.remove(this.#path(path));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
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

// The tfjs WASM backend's Deno/Node adapter: the installed binaries, `.wasm` files by path.
export { readTfjsWasm, readWasmFile, tfjsWasmPath } from "./tfjs_wasm.ts";
