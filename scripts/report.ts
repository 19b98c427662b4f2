/**
 * `deno task report <run dir> [--out FILE] [--title T]`: writes the run's report, one
 * self-contained HTML page with every curve (uPlot inlined; opens offline), from the
 * directory's `results.jsonl` (else Ray Tune's `result.json`) and `evaluation.jsonl`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { writeReport } from "../src/runtime/log_files.ts";

const USAGE = `Usage: deno task report <run dir> [options]

  --out FILE     where to write the page (default <run dir>/report.html)
  --title T      the page's title (default the directory's name)
  -h, --help     this help`;

/**
 * Runs the command line.
 * @param argv the arguments
 * @returns the exit code
 */
export async function main(argv: string[]): Promise<number> {
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        out: { type: "string" },
        title: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    console.error(`expected one run directory, got ${positionals.length}\n\n${USAGE}`);
    return 2;
  }
  try {
    const out = await writeReport(positionals[0]!, { out: values.out, title: values.title });
    console.log(`wrote ${out}`);
    return 0;
  } catch (e) {
    console.error(`report: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
