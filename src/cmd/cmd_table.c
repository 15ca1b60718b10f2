/* The one command table: each command's name, handler and help text, read
 * by main.c to dispatch and, through struct config_registry, by the parser,
 * `--help` and the man page. */
#include "cmd/cmd.h"

#include "util/banned.h"

const struct command_spec cmd_table[] = {
    {"sync", CMDB_SYNC, cmd_sync,
     "[--provider P] [--campaign ID] [--full | --incremental "
     "[--hours N]] [--streams LIST] [--lookback DURATION]",
     "copy provider data into the store",
     "Syncs every provider that has credentials (or the one named by "
     "--provider) into the store, resuming from saved checkpoints. "
     "Without --full, reports are re-read only for campaigns whose "
     "counters changed."},
    {"export", CMDB_EXPORT, cmd_export,
     "csv [--campaign ID] [--export-dir DIR | --combined FILE] "
     "[--csv-columns MAP] [--no-formula-protect]",
     "write one csv file per sent campaign",
     "Writes campaign_{id}_{name}.csv for every sent campaign (or one) "
     "from the store, atomically; nothing is fetched. With --combined, "
     "one file of every campaign's participants instead, with "
     "campaign_id and provider columns first."},
    {"stats", CMDB_STATS, cmd_stats, "[--provider P]",
     "show what the store holds",
     "Prints campaign, participant and event totals, csv files and the "
     "last run."},
    {"report", CMDB_REPORT, cmd_report,
     "html [--provider P] [--account A] [--since DATE] [--until DATE] "
     "[--out FILE]",
     "write an html engagement report",
     "Writes one self-contained HTML file (inline CSS and SVG charts, "
     "no script, nothing fetched; prints on A4 or Letter) from the "
     "store: headline figures against the previous period of the same "
     "length, daily activity, weekly open and click rates, campaigns, "
     "top links and the funnel, deliverability, lists, and each "
     "account's last sync. Without --since and --until it covers every "
     "day the store holds data of."},
    {"state", CMDB_STATE, cmd_state, "show | reset [--provider P] [--stream S]",
     "show or reset sync checkpoints",
     "show prints the last sync and the saved checkpoints (all of them "
     "with -v); reset removes checkpoints so the next sync starts "
     "over."},
    {"check", CMDB_CHECK, cmd_check, "",
     "validate configuration, reach store and providers",
     "Prints every configuration key with where its value came from "
     "(secrets only as their length), opens the store and makes one "
     "request to each configured provider."},
    {"help", CMDB_HELP, NULL, "[COMMAND]", "show help for a command", NULL},
};

const size_t cmd_table_len = sizeof(cmd_table) / sizeof(cmd_table[0]);
