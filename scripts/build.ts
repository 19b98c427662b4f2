/**
 * Builds the AssemblyScript envs into committed TypeScript modules.
 *
 * Every `assembly/*.ts` file whose name does not start with `_` is an env entry (files starting
 * with `_` are shared helpers, e.g. the env kit `assembly/_kit.ts`); so is every
 * `assembly/testdata/*.ts` file, an env used only by the tests. Each entry is compiled with the
 * `assemblyscript` npm package in release mode (`-O3 --runtime stub --use abort=`), which gives
 * a module with no imports, and written as base64 with a decoder, so the package works on every
 * runtime without file or network permissions: `assembly/<name>.ts` to
 * `src/envs/_generated/<name>_wasm.ts`, `assembly/testdata/<name>.ts` to
 * `src/envs/testdata/_generated/<name>_wasm.ts` (not published).
 *
 * Features: an entry may switch on WebAssembly features beyond the MVP defaults with
 * `// @enable <feature>` lines (e.g. `// @enable simd`, the exported policies' kernel
 * `assembly/policy_kernel.ts`), passed to the compiler as `--enable <feature>`.
 *
 * Facts: every global an entry exports (`export const ROWS: i32 = 8;`, a string, a
 * `StaticArray` of numbers) is one of the env's facts. The build reads each from the compiled
 * module (its type from the compiler's binding declarations) and writes them, with their doc
 * comments, into the generated module as `<NAME>_FACTS`, so the TypeScript side reads the env's
 * map, sizes and constants from their one source and `--check` catches any drift.
 *
 * Variants: an entry whose shapes depend on an option (e.g. the chicken yard's discrete or
 * continuous low-level actions) declares build variants, one line each,
 * `// @variant <name> <CONST>=<int> ...`; each is the entry compiled once more with those
 * integer constants (`--use CONST=<int>`; the entry tests them with `isDefined(CONST)`). The
 * variants' bytes go into the same generated module (`<name>WasmBytes(variant)`); their facts
 * must equal the plain build's.
 *
 * Usage:
 * - `deno task build`: rebuild and write the generated modules;
 * - `deno task build --check`: rebuild in memory and exit with status 1 when a committed module
 *   is stale or missing (or a generated module has no entry left).
 *
 * The output is deterministic: the same sources and compiler give the same bytes.
 *
 * @module
 */

import asc from "assemblyscript/asc";

/** Repository root (the parent of `scripts/`), as a file path ending in `/`. */
const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);
/** Folder of the env sources, relative to the root. */
export const ASSEMBLY_DIR = "assembly";
/** Folder of the generated modules, relative to the root. */
export const GENERATED_DIR = "src/envs/_generated";
/** Folder of the envs used only by tests, relative to the root. */
export const TEST_ASSEMBLY_DIR = "assembly/testdata";
/** Folder of the test envs' generated modules (not published), relative to the root. */
export const TEST_GENERATED_DIR = "src/envs/testdata/_generated";

/** Where the entries of each source folder are generated. */
const TARGETS: readonly { from: string; to: string }[] = [
  { from: ASSEMBLY_DIR, to: GENERATED_DIR },
  { from: TEST_ASSEMBLY_DIR, to: TEST_GENERATED_DIR },
];

/** The compiler flags of every env (release, stub runtime, no imports). */
export const ASC_FLAGS: readonly string[] = [
  "-O3",
  "--runtime",
  "stub",
  "--use",
  "abort=",
  "--noColors",
];

/** One generated module, ready to be written or compared. */
export interface GeneratedModule {
  /** Env name, e.g. `"windy_maze"`. */
  name: string;
  /** Source entry, relative to the repository root. */
  entry: string;
  /** Output path, relative to the repository root. */
  path: string;
  /** The compiled WebAssembly bytes. */
  wasm: Uint8Array;
  /** The env's facts (its exported globals), in export order. */
  facts: Fact[];
  /** The build variants declared by the entry (`// @variant` lines), compiled. */
  variants: CompiledVariant[];
  /** The full text of the generated TypeScript module. */
  text: string;
}

/** One build variant of an entry: a name and the integer constants it is compiled with. */
export interface Variant {
  /** Variant name, e.g. `"continuous"` (lower case, digits and `_`). */
  name: string;
  /** Constants passed as `--use NAME=value`, in declaration order. */
  constants: Record<string, number>;
}

/** A build variant with its compiled bytes. */
export interface CompiledVariant extends Variant {
  /** The WebAssembly bytes of the variant. */
  wasm: Uint8Array;
}

/** One fact of an env: a constant its entry exports, read from the compiled module. */
export interface Fact {
  /** Export name, e.g. `"ROWS"`. */
  name: string;
  /** AssemblyScript type, e.g. `"i32"` or `"~lib/string/String"`. */
  type: string;
  /** The value. */
  value: number | boolean | string | number[];
  /** The doc comment in front of its `export const` (without the comment markers), or "". */
  doc: string;
}

/** A compiled entry: its bytes and the compiler's binding declarations (types of exports). */
export interface CompiledEntry {
  /** The WebAssembly bytes. */
  wasm: Uint8Array;
  /** The `.d.ts` text of the raw bindings (used for the types of the exported globals). */
  dts: string;
}

/**
 * Lists the env entries: `assembly/*.ts` and `assembly/testdata/*.ts` files not starting with
 * `_`, sorted within each folder.
 * @returns entry paths relative to the repository root
 */
export async function findEntries(): Promise<string[]> {
  const out: string[] = [];
  for (const { from } of TARGETS) {
    const names: string[] = [];
    try {
      for await (const e of Deno.readDir(ROOT + from)) {
        if (
          e.isFile && e.name.endsWith(".ts") && !e.name.startsWith("_") &&
          !e.name.endsWith(".d.ts")
        ) {
          names.push(e.name);
        }
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    out.push(...names.sort().map((n) => `${from}/${n}`));
  }
  return out;
}

/**
 * Compiles one entry in memory.
 * @param entry entry path relative to the repository root
 * @returns the WebAssembly bytes
 */
export async function compileEntry(entry: string): Promise<Uint8Array> {
  return (await compileEntryWithTypes(entry)).wasm;
}

/**
 * Compiles one entry in memory, with the binding declarations that give the exports' types.
 * @param entry entry path relative to the repository root
 * @param sources file texts (by path relative to the root) that replace the files on disk,
 *   for tests
 * @returns the WebAssembly bytes and the declarations
 */
export async function compileEntryWithTypes(
  entry: string,
  sources: Readonly<Record<string, string>> = {},
  constants: Readonly<Record<string, number>> = {},
): Promise<CompiledEntry> {
  const outputs = new Map<string, Uint8Array | string>();
  const stdout = asc.createMemoryStream();
  const stderr = asc.createMemoryStream();
  const use = Object.entries(constants).flatMap(([k, v]) => ["--use", `${k}=${v}`]);
  // `// @enable <feature>` lines (e.g. `simd`) switch on WebAssembly features for one entry.
  const source = sources[entry] ?? await Deno.readTextFile(ROOT + entry);
  const enable = [...source.matchAll(/^\s*\/\/\s*@enable\s+([a-z-]+)\s*$/gm)]
    .flatMap((m) => ["--enable", m[1]!]);
  const { error } = await asc.main(
    [
      entry,
      "--baseDir",
      ROOT,
      ...ASC_FLAGS,
      ...enable,
      ...use,
      "--bindings",
      "raw",
      "--outFile",
      "out.wasm",
    ],
    {
      stdout,
      stderr,
      readFile: async (name, baseDir) => {
        const rel = relativeToRoot(baseDir, name);
        if (rel !== undefined && rel in sources) return sources[rel]!;
        try {
          return await Deno.readTextFile(joinPath(baseDir, name));
        } catch (e) {
          if (e instanceof Deno.errors.NotFound) return null;
          throw e;
        }
      },
      writeFile: (name, contents) => {
        outputs.set(name, contents);
      },
    },
  );
  if (error) {
    const with_ = use.length === 0 ? "" : ` with ${use.join(" ")}`;
    throw new Error(
      `Compiling "${entry}"${with_} failed: ${error.message}\n${stderr.toString()}`,
    );
  }
  const wasm = outputs.get("out.wasm");
  if (!(wasm instanceof Uint8Array)) {
    throw new Error(`Compiling "${entry}" produced no binary\n${stderr.toString()}`);
  }
  const imports = WebAssembly.Module.imports(new WebAssembly.Module(wasm as BufferSource));
  if (imports.length > 0) {
    const names = imports.map((i) => `"${i.module}.${i.name}"`).join(", ");
    throw new Error(`Module of "${entry}" has imports ${names}, expected none`);
  }
  const dts = outputs.get("out.d.ts");
  return { wasm, dts: typeof dts === "string" ? dts : new TextDecoder().decode(dts) };
}

/**
 * Reads an entry's build variants: one `// @variant <name> <CONST>=<int> ...` line each.
 * @param entry entry path, for messages
 * @param source the entry's source text
 * @returns the variants in declaration order (empty when none)
 * @throws {Error} for a malformed line, a repeated name or a variant without constants
 */
export function readVariants(entry: string, source: string): Variant[] {
  const out: Variant[] = [];
  for (const line of source.split("\n")) {
    const m = /^\s*\/\/\s*@variant\b(.*)$/.exec(line);
    if (m === null) continue;
    const [name, ...defs] = m[1]!.trim().split(/\s+/);
    const bad = (why: string) =>
      new Error(`Bad build variant line in "${entry}" (${why}): ${line.trim()}`);
    if (name === undefined || !/^[a-z][a-z0-9_]*$/.test(name)) {
      throw bad("expected a name of lower-case letters, digits and _");
    }
    if (out.some((v) => v.name === name)) throw bad(`"${name}" is declared twice`);
    if (defs.length === 0) throw bad("expected at least one CONST=<int>");
    const constants: Record<string, number> = {};
    for (const d of defs) {
      const c = /^([A-Za-z_]\w*)=(-?\d+)$/.exec(d);
      if (c === null) throw bad(`"${d}" is not CONST=<int>`);
      constants[c[1]!] = Number(c[2]);
    }
    out.push({ name, constants });
  }
  return out;
}

function joinPath(baseDir: string, name: string): string {
  if (name.startsWith("/")) return name;
  const base = baseDir.startsWith("/") ? baseDir : ROOT + baseDir;
  return base.endsWith("/") ? base + name : `${base}/${name}`;
}

function relativeToRoot(baseDir: string, name: string): string | undefined {
  const full = joinPath(baseDir, name).replace(/\/\.\//g, "/");
  return full.startsWith(ROOT) ? full.slice(ROOT.length) : undefined;
}

/** The `[start, end)` address ranges of the module's active data segments (static data). */
function dataRanges(wasm: Uint8Array): [number, number][] {
  let at = 8;
  const u32 = (): number => {
    let v = 0, shift = 0, b: number;
    do {
      b = wasm[at++]!;
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return v;
  };
  const i32 = (): number => {
    let v = 0, shift = 0, b: number;
    do {
      b = wasm[at++]!;
      v |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    return shift < 32 && (b & 0x40) ? v | (-1 << shift) : v;
  };
  const ranges: [number, number][] = [];
  while (at < wasm.length) {
    const id = wasm[at++]!;
    const size = u32();
    const end = at + size;
    if (id === 11) {
      for (let n = u32(); n > 0; n--) {
        const flags = u32();
        if (flags === 2) u32();
        let offset: number | undefined;
        if (flags !== 1) {
          if (wasm[at] === 0x41) {
            at++;
            offset = i32();
          }
          while (wasm[at++] !== 0x0b);
        }
        const len = u32();
        if (offset !== undefined) ranges.push([offset >>> 0, (offset >>> 0) + len]);
        at += len;
      }
    }
    at = end;
  }
  return ranges;
}

const NUMBER_TYPES: Record<string, number> = {
  i8: 1,
  u8: 1,
  i16: 2,
  u16: 2,
  i32: 4,
  u32: 4,
  isize: 4,
  usize: 4,
  f32: 4,
  f64: 8,
};

function readNumber(view: DataView, p: number, type: string): number {
  switch (type) {
    case "i8":
      return view.getInt8(p);
    case "u8":
      return view.getUint8(p);
    case "i16":
      return view.getInt16(p, true);
    case "u16":
      return view.getUint16(p, true);
    case "i32":
    case "isize":
      return view.getInt32(p, true);
    case "u32":
    case "usize":
      return view.getUint32(p, true);
    case "f32":
      return view.getFloat32(p, true);
    default:
      return view.getFloat64(p, true);
  }
}

/**
 * Reads an env's facts: every global the module exports, with its type from the binding
 * declarations and its doc comment from the entry's source.
 * @param entry entry path, for messages
 * @param compiled the compiled module and its declarations
 * @param source the entry's source text, for the doc comments
 * @returns the facts in export order
 * @throws {Error} for a fact that is not a constant, or of a type other than a number, bool,
 *   string or `StaticArray` of numbers
 */
export function readFacts(entry: string, compiled: CompiledEntry, source: string): Fact[] {
  const types = new Map<string, { type: string; mutable: boolean }>();
  const decl = /export const (\w+): \{\s*\/\*\* @type `([^`]+)` \*\/([^}]*)\}/g;
  for (const m of compiled.dts.matchAll(decl)) {
    types.set(m[1]!, { type: m[2]!, mutable: m[3]!.includes("set value") });
  }
  const docs = new Map<string, string>();
  const docRe = /\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*export const (\w+)/g;
  for (const m of source.matchAll(docRe)) {
    const text = m[1]!.split("\n").map((l) => l.replace(/^\s*\*? ?/, "").trimEnd())
      .join(" ").replace(/\s+/g, " ").trim();
    docs.set(m[2]!, text);
  }
  const module = new WebAssembly.Module(compiled.wasm as BufferSource);
  const exports = new WebAssembly.Instance(module, {}).exports as Record<string, unknown>;
  const memory = exports.memory as WebAssembly.Memory;
  const view = new DataView(memory.buffer);
  const staticEnd = Math.max(0, ...dataRanges(compiled.wasm).map((r) => r[1]));
  const facts: Fact[] = [];
  for (const { name, kind } of WebAssembly.Module.exports(module)) {
    if (kind !== "global") continue;
    const t = types.get(name);
    const where = `fact "${name}" of "${entry}"`;
    if (t === undefined) throw new Error(`No type found for the ${where}`);
    const raw = (exports[name] as WebAssembly.Global).value as number | bigint;
    // A string or array fact must be static data: one built at run time lives in the heap,
    // above every data segment (where init lays out, and zeroes, the env's buffers). The
    // object's header (its non-zero class id at `p - 8`) lies in the data segments.
    const isStatic = (p: number) => p - 8 < staticEnd;
    const notConstant = new Error(
      `The ${where} is not a compile-time constant: export facts as \`export const\` with a literal value (a string must be one literal, not a concatenation)`,
    );
    if (t.mutable) throw notConstant;
    let value: Fact["value"];
    const arr = /^~lib\/staticarray\/StaticArray<(\w+)>$/.exec(t.type);
    if (t.type in NUMBER_TYPES) {
      value = t.type === "u32" || t.type === "usize" ? Number(raw) >>> 0 : Number(raw);
    } else if (t.type === "bool") {
      value = raw !== 0;
    } else if ((t.type === "i64" || t.type === "u64") && typeof raw === "bigint") {
      const n = t.type === "u64" ? BigInt.asUintN(64, raw) : raw;
      if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < -BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new Error(`The ${where} (${n}) is not a safe integer in JavaScript`);
      }
      value = Number(n);
    } else if (t.type === "~lib/string/String") {
      const p = Number(raw) >>> 0;
      const bytes = view.getUint32(p - 4, true);
      if (!isStatic(p)) throw notConstant;
      value = String.fromCharCode(...new Uint16Array(memory.buffer, p, bytes >>> 1));
    } else if (arr !== null && arr[1]! in NUMBER_TYPES) {
      const p = Number(raw) >>> 0;
      const size = NUMBER_TYPES[arr[1]!]!;
      const bytes = view.getUint32(p - 4, true);
      if (!isStatic(p)) throw notConstant;
      const length = bytes / size;
      value = Array.from({ length }, (_, k) => readNumber(view, p + k * size, arr[1]!));
    } else {
      throw new Error(
        `The ${where} has type ${t.type}: facts are numbers, bools, strings or StaticArrays of numbers`,
      );
    }
    facts.push({ name, type: t.type, value, doc: docs.get(name) ?? "" });
  }
  return facts;
}

function renderFactValue(v: Fact["value"]): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(renderFactValue).join(", ")}]`;
  if (typeof v === "number" && Object.is(v, -0)) return "-0";
  return String(v);
}

function camelCase(snake: string): string {
  return snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

function base64Lines(bytes: Uint8Array, indent: string): string {
  const b64 = base64(bytes);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 96) lines.push(`${indent}"${b64.slice(i, i + 96)}",`);
  return lines.join("\n");
}

/**
 * Renders the generated TypeScript module of one env.
 * @param name env name (the entry's file name without `.ts`)
 * @param entry entry path, for the header
 * @param wasm the compiled bytes
 * @param facts the env's facts (see {@linkcode readFacts}), written as `<NAME>_FACTS`
 * @param variants the entry's compiled build variants (see {@linkcode readVariants})
 * @returns the module text
 */
export function renderModule(
  name: string,
  entry: string,
  wasm: Uint8Array,
  facts: readonly Fact[] = [],
  variants: readonly CompiledVariant[] = [],
): string {
  const fn = `${camelCase(name)}WasmBytes`;
  const NAME = name.toUpperCase();
  const factLines = facts.map((f) =>
    `  /** ${
      f.doc === "" ? "" : `${f.doc.replaceAll("*/", "*\\/")} `
    }(\`${f.type}\`) */\n  ${f.name}: ${renderFactValue(f.value)},`
  );
  const defs = (v: Variant) => Object.entries(v.constants).map(([k, x]) => `${k}=${x}`).join(" ");
  const variantHeader = variants.length === 0
    ? ""
    : `\n// Build variants (\`// @variant\` lines, compiled with \`--use\`): ${
      variants.map((v) => `${v.name} (${defs(v)}, ${v.wasm.length} bytes)`).join(", ")
    }.`;
  const variantBase64 = variants.length === 0 ? "" : `
const BASE64_VARIANTS = {
${variants.map((v) => `  ${v.name}: [\n${base64Lines(v.wasm, "    ")}\n  ].join(""),`).join("\n")}
};
`;
  const variantTable = variants.length === 0 ? "" : `
/**
 * The build variants of \`${name}\` (the \`// @variant\` lines of its entry): the integer
 * constants each is compiled with, and its size in bytes.
 */
export const ${NAME}_VARIANTS = {
${
    variants.map((v) =>
      `  ${v.name}: { constants: { ${
        Object.entries(v.constants).map(([k, x]) => `${k}: ${x}`).join(", ")
      } }, size: ${v.wasm.length} },`
    ).join("\n")
  }
} as const;
`;
  const fnDoc = variants.length === 0
    ? `/**
 * Decodes the module's bytes (a fresh copy on each call), for \`new WebAssembly.Module(...)\`
 * or the env loaders in src/env/wasm.ts.
 * @returns the \`.wasm\` bytes
 */
export function ${fn}(): Uint8Array {
  const s = atob(BASE64);`
    : `/**
 * Decodes the module's bytes (a fresh copy on each call), for \`new WebAssembly.Module(...)\`
 * or the env loaders in src/env/wasm.ts.
 * @param variant a build variant (see \`${NAME}_VARIANTS\`); the plain build when omitted
 * @returns the \`.wasm\` bytes
 */
export function ${fn}(variant?: keyof typeof ${NAME}_VARIANTS): Uint8Array {
  const s = atob(variant === undefined ? BASE64 : BASE64_VARIANTS[variant]);`;
  return `// @generated by \`deno task build\` (scripts/build.ts) from ${entry}. Do not edit.
// assemblyscript ${asc.version} ${
    ASC_FLAGS.filter((f) => f !== "--noColors").join(" ")
  }; ${wasm.length} bytes, no imports.${variantHeader}

/**
 * The compiled \`${name}\` WebAssembly module, inlined as base64 so it loads on any runtime
 * without file or network access.
 *
 * @module
 */

const BASE64 = [
${base64Lines(wasm, "  ")}
].join("");
${variantBase64}
/** Size of the module in bytes. */
export const ${NAME}_WASM_SIZE = ${wasm.length};
${variantTable}
/**
 * The facts of \`${name}\`: the constants its AssemblyScript entry exports, read from the
 * compiled module, so the TypeScript side has one source for them.
 */
export const ${NAME}_FACTS = {
${factLines.join("\n")}
} as const;

${fnDoc}
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
`;
}

/**
 * Compiles every entry, reads its facts and renders its module, in memory.
 * @returns one generated module per entry, in entry order
 */
export async function buildAll(): Promise<GeneratedModule[]> {
  const out: GeneratedModule[] = [];
  const seen = new Set<string>();
  for (const entry of await findEntries()) {
    const slash = entry.lastIndexOf("/");
    const dir = entry.slice(0, slash);
    const name = entry.slice(slash + 1, -3);
    const target = TARGETS.find((t) => t.from === dir)!;
    if (seen.has(name)) throw new Error(`Two env entries are named "${name}"`);
    seen.add(name);
    const source = await Deno.readTextFile(ROOT + entry);
    const compiled = await compileEntryWithTypes(entry);
    const facts = readFacts(entry, compiled, source);
    const variants: CompiledVariant[] = [];
    for (const v of readVariants(entry, source)) {
      const c = await compileEntryWithTypes(entry, {}, v.constants);
      const vf = readFacts(entry, c, source);
      const key = (fs: Fact[]) => JSON.stringify(fs.map((f) => [f.name, f.type, f.value]));
      if (key(vf) !== key(facts)) {
        throw new Error(
          `The facts of variant "${v.name}" of "${entry}" differ from the plain build's: facts must not depend on a variant`,
        );
      }
      variants.push({ ...v, wasm: c.wasm });
    }
    out.push({
      name,
      entry,
      path: `${target.to}/${name}_wasm.ts`,
      wasm: compiled.wasm,
      facts,
      variants,
      text: renderModule(name, entry, compiled.wasm, facts, variants),
    });
  }
  return out;
}

/**
 * Compares a fresh build with the committed modules.
 * @param built the result of {@linkcode buildAll}
 * @returns one sentence per stale, missing or orphaned module (empty when all are fresh)
 */
export async function staleModules(built: readonly GeneratedModule[]): Promise<string[]> {
  const problems: string[] = [];
  for (const m of built) {
    let committed: string | undefined;
    try {
      committed = await Deno.readTextFile(ROOT + m.path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    if (committed === undefined) problems.push(`"${m.path}" is missing (from "${m.entry}")`);
    else if (committed !== m.text) problems.push(`"${m.path}" is stale (from "${m.entry}")`);
  }
  const expected = new Set(built.map((m) => m.path));
  for (const { from, to } of TARGETS) {
    try {
      for await (const e of Deno.readDir(ROOT + to)) {
        const path = `${to}/${e.name}`;
        if (e.isFile && e.name.endsWith("_wasm.ts") && !expected.has(path)) {
          problems.push(`"${path}" has no entry in "${from}/"`);
        }
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  return problems;
}

async function main(args: string[]): Promise<number> {
  const check = args.includes("--check");
  const built = await buildAll();
  if (check) {
    const problems = await staleModules(built);
    for (const p of problems) console.error(p);
    if (problems.length > 0) {
      console.error("Generated WASM modules are out of date: run `deno task build`");
      return 1;
    }
    console.log(`${built.length} generated WASM module(s) are fresh`);
    return 0;
  }
  for (const m of built) {
    await Deno.mkdir(ROOT + m.path.slice(0, m.path.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(ROOT + m.path, m.text);
    const vs = m.variants.map((v) => `, ${v.name} ${v.wasm.length}`).join("");
    console.log(`${m.entry} -> ${m.path} (${m.wasm.length} bytes${vs})`);
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
