/**
 * What the Chromium tests share: Debian's Chromium, the flags of a headless run that touches no
 * network and no profile, and whether the tests run (skipped without Chromium unless
 * `COOP_REQUIRE_BROWSER=1`, which CI sets).
 *
 * @module
 */

/** Debian's Chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** Chromium flags for a headless run that touches no network and no profile. */
export const CHROMIUM_ARGS: string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Whether the browser tests are skipped (no Chromium, and CI did not require them). */
export const SKIP_BROWSER: boolean = !(await Deno.stat(CHROMIUM).then(() => true, () => false)) &&
  Deno.env.get("COOP_REQUIRE_BROWSER") !== "1";
if (SKIP_BROWSER) {
  console.warn(`browser tests skipped: ${CHROMIUM} is missing (apt-get install chromium)`);
}

/** The project root. */
const ROOT = new URL("../", import.meta.url).pathname;

/**
 * Starts an example's server script (`deno run -A <script> ...args`) and resolves once it
 * prints the loopback address it listens at ("at http://127.0.0.1:<port>/").
 * @param script the script, from the project root
 * @param args its arguments
 * @returns the address, and `stop` to end the server
 */
export async function serveOnLoopback(
  script: string,
  args: readonly string[],
): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${script} exited before listening:\n${seen}`);
    seen += value;
    const m = seen.match(/at (http:\/\/127\.0\.0\.1:\d+\/)/);
    if (m) {
      return {
        url: m[1]!,
        stop: async () => {
          child.kill("SIGTERM");
          await child.status;
          await reader.cancel().catch(() => {});
        },
      };
    }
  }
}
