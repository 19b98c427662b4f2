/**
 * The Deno file adapter: atomic writes (no temporary file left, the previous file intact when a
 * write fails) and {@linkcode FileStorage} for checkpoints.
 */

import assert from "node:assert/strict";
import { FileStorage, writeFileAtomic } from "./files.ts";

Deno.test("writeFileAtomic: replaces the file whole and leaves no temporary file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "coop_files_" });
  try {
    const path = `${dir}/a.txt`;
    await writeFileAtomic(path, "first");
    await writeFileAtomic(path, new Uint8Array([104, 105]));
    assert.equal(await Deno.readTextFile(path), "hi");
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names, ["a.txt"]);
    // A write that cannot finish (its target is a directory) leaves everything as it was.
    await Deno.mkdir(`${dir}/sub`);
    await Deno.writeTextFile(`${dir}/sub/keep`, "x");
    await assert.rejects(writeFileAtomic(`${dir}/sub`, "data"));
    assert.equal(await Deno.readTextFile(`${dir}/sub/keep`), "x");
    const after = [];
    for await (const e of Deno.readDir(dir)) after.push(e.name);
    assert.deepEqual(after.sort(), ["a.txt", "sub"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FileStorage: read, write (creating directories), list without temporary files, remove", async () => {
  const dir = await Deno.makeTempDir({ prefix: "coop_storage_" });
  try {
    const s = new FileStorage(dir);
    assert.equal(await s.read("none.ckpt"), undefined);
    assert.deepEqual(await s.list("nowhere"), []);
    await s.write("run/ck/checkpoint_000001.ckpt", new Uint8Array([1, 2, 3]));
    await s.write("run/ck/checkpoint_000002.ckpt", new Uint8Array([4]));
    assert.deepEqual(await s.read("run/ck/checkpoint_000001.ckpt"), new Uint8Array([1, 2, 3]));
    // What a crash in the middle of a save leaves behind is not listed.
    await Deno.writeFile(`${dir}/run/ck/checkpoint_000003.ckpt.tmp-1-2`, new Uint8Array([9]));
    await Deno.mkdir(`${dir}/run/ck/nested`);
    assert.deepEqual(await s.list("run/ck"), [
      "checkpoint_000001.ckpt",
      "checkpoint_000002.ckpt",
    ]);
    await s.remove("run/ck/checkpoint_000001.ckpt");
    await s.remove("run/ck/checkpoint_000001.ckpt");
    assert.deepEqual(await s.list("run/ck"), ["checkpoint_000002.ckpt"]);
    await assert.rejects(s.read("../escape"), RangeError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
