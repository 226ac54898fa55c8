/* cli_run.h - `wasmforge run PLUGIN.py [--input TEXT|--input-file F]`: one
 * run in the same sandbox with the same limits as the server, its result
 * printed as JSON on stdout. */
#ifndef WF_RUNS_CLI_RUN_H
#define WF_RUNS_CLI_RUN_H

#include "config/config.h"

/* argv[0] is the subcommand ("run") and is skipped. Returns 0 when the
 * plugin succeeded, 1 when it did not (or could not run), 2 on a usage
 * error. Nothing is recorded in the store. */
int wf_cli_run(const wf_config *cfg, int argc, char **argv);

#endif
