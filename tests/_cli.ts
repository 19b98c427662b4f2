/**
 * The experiment runner's command line as the tests start it: `deno task run` without the task
 * runner in between (so a kill reaches the runner itself), from the project root.
 *
 * @module
 */

/** The project root. */
export const ROOT: string = new URL("../", import.meta.url).pathname;

/**
 * A `deno task run` process.
 * @param args the runner's arguments
 * @param env extra environment variables
 * @returns the spawned process, stdout and stderr piped
 */
export function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys",
      "--allow-run",
      "src/runtime/run_cli.ts",
      ...args,
    ],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/**
 * Waits for a process and returns its exit code and its output, stdout then stderr.
 * @param p the process
 * @returns code and text
 */
export async function finish(p: Deno.ChildProcess): Promise<{ code: number; out: string }> {
  const o = await p.output();
  return {
    code: o.code,
    out: new TextDecoder().decode(o.stdout) + new TextDecoder().decode(o.stderr),
  };
}
