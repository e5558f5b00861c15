// npm run experiments [-- --quick] [--only 1,4-5] [--models …] [--seeds 1,2] [--steps N] [--force] [--report-only]
// Reproduces the paper's findings in miniature (issue 8) headless on the lab's own engine and writes
// docs/RESULTS.md with its PNG charts in docs/results/, every number traceable to a run directory
// under results/. Never edit RESULTS.md by hand: rerun this command (finished run directories are
// reused). The sections, the runner and the report live in tools/experiments/ (see cli.ts).
import { main } from './experiments/cli';
import { runMain } from './lib/args';

runMain(() => main(process.argv.slice(2)));
