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
