/**
 * Where checkpoints are kept: {@linkcode CheckpointStorage}, a small Web-standard interface
 * (read, atomic write, list, remove) over `/`-separated paths, and {@linkcode MemoryStorage},
 * an in-memory implementation for tests and short-lived runs. The Deno file implementation is
 * `FileStorage` in `@coop/rl/runtime` (`src/runtime/files.ts`); a browser or edge runtime can
 * implement the four methods over IndexedDB, the Cache API or an object store.
 *
 * @module
 */

/**
 * Storage of whole files by path. Paths are relative, `/`-separated (`"runs/a/checkpoint_000004.ckpt"`).
 * `write` must be atomic: a reader, or a crash during the write, sees the old file or the new
 * one, never a part of it.
 */
export interface CheckpointStorage {
  /**
   * Reads a whole file.
   * @param path the file
   * @returns its bytes, or undefined when there is no such file
   */
  read(path: string): Promise<Uint8Array | undefined>;
  /**
   * Writes a whole file atomically (creating its directory when needed), replacing any file at
   * `path`.
   * @param path the file
   * @param data the bytes
   */
  write(path: string, data: Uint8Array): Promise<void>;
  /**
   * The names (not paths) of the files directly in a directory, in any order; empty when the
   * directory does not exist. Temporary files of writes in progress are not listed.
   * @param dir the directory (`""` for the root)
   * @returns file names
   */
  list(dir: string): Promise<string[]>;
  /**
   * Removes a file; removing a file that does not exist is not an error.
   * @param path the file
   */
  remove(path: string): Promise<void>;
}

/**
 * Joins a directory and a name with `/` (an empty directory gives the name alone).
 * @param dir a directory, `""` for the root
 * @param name a file name
 * @returns the path
 */
export function joinPath(dir: string, name: string): string {
  if (dir === "" || dir === ".") return name;
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

/**
 * A {@linkcode CheckpointStorage} in memory (a map from path to bytes; reads and writes copy).
 *
 * @example
 * ```ts
 * import { MemoryStorage } from "./storage.ts";
 * const s = new MemoryStorage();
 * await s.write("ckpt/a.ckpt", new Uint8Array([1, 2]));
 * if ((await s.list("ckpt"))[0] !== "a.ckpt") throw new Error("listed");
 * ```
 */
export class MemoryStorage implements CheckpointStorage {
  readonly #files = new Map<string, Uint8Array>();

  /**
   * Reads a file (a copy).
   * @param path the file
   * @returns its bytes, or undefined
   */
  read(path: string): Promise<Uint8Array | undefined> {
    const b = this.#files.get(normalize(path));
    return Promise.resolve(b === undefined ? undefined : b.slice());
  }

  /**
   * Stores a copy of the bytes (atomic: the map entry is replaced at once).
   * @param path the file
   * @param data the bytes
   */
  write(path: string, data: Uint8Array): Promise<void> {
    this.#files.set(normalize(path), data.slice());
    return Promise.resolve();
  }

  /**
   * The names of the files directly in `dir`.
   * @param dir the directory
   * @returns file names, sorted
   */
  list(dir: string): Promise<string[]> {
    const d = normalize(dir);
    const prefix = d === "" ? "" : d + "/";
    const out: string[] = [];
    for (const p of this.#files.keys()) {
      if (!p.startsWith(prefix)) continue;
      const rest = p.slice(prefix.length);
      if (rest !== "" && !rest.includes("/")) out.push(rest);
    }
    return Promise.resolve(out.sort());
  }

  /**
   * Removes a file (no error when missing).
   * @param path the file
   */
  remove(path: string): Promise<void> {
    this.#files.delete(normalize(path));
    return Promise.resolve();
  }
}

/** Drops `./`, repeated and trailing slashes, so equal paths map to one key. */
function normalize(path: string): string {
  return path.split("/").filter((p) => p !== "" && p !== ".").join("/");
}
