/* main.c - the wasmforge command: serve (default), run, check, --help,
 * --version. Only this file and start-up code may exit the process. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/wf_error.h"
#include "config/config.h"
#include "http/server.h"
#include "ollama/ollama.h"
#include "runs/cli_run.h"
#include "runs/runs.h"
#include "store/prune.h"
#include "store/store.h"

enum { EXIT_CONFIG = 2 };

static const char usage[] =
    "usage: wasmforge [serve]                      start the HTTP server (default)\n"
    "       wasmforge run PLUGIN.py [--input TEXT | --input-file FILE]\n"
    "                                              run one plugin in the sandbox, print the result as JSON\n"
    "       wasmforge check                        check the configuration, the store and Ollama\n"
    "       wasmforge --help | --version\n"
    "\n"
    "Configuration comes from the environment, then from ./.env (the environment wins).\n"
    "Main keys: HOST PORT DATA_DIR DATABASE_URL (or DB_HOST DB_PORT DB_NAME DB_USER DB_PASSWORD DB_SSL_CERT)\n"
    "OLLAMA_BASE_URL ALLOWED_MODELS USE_WASMEDGE (or SANDBOX=wasm|native) MAX_EXECUTION_TIME MAX_MEMORY_MB\n"
    "MAX_PROMPT_LENGTH MAX_AI_CALLS_PER_EXECUTION MAX_OUTPUT_BYTES MAX_INPUT_BYTES MAX_PLUGIN_BYTES\n"
    "MAX_CONCURRENT_RUNS API_TOKEN CORS_ORIGINS LOG_LEVEL LOG_FORMAT. See README.md for all of them.\n";

/* Descriptors 0-2 must be open, or the first file we open would become
 * stdout and log lines would land in it (SQLite does the same). */
static void ensure_std_fds(void)
{
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
            int n = open("/dev/null", O_RDWR);
            if (n != fd)
                _exit(EXIT_FAILURE);
        }
    }
}

static int load_config(wf_config *cfg)
{
    char err[512] = "";
    if (wf_config_load(cfg, wf_config_getenv, NULL, ".env", err, sizeof err) != 0) {
        fprintf(stderr, "wasmforge: configuration error: %s\n", err);
        return -1;
    }
    wf_log_setup((enum wf_log_level)cfg->log_level, cfg->log_json);
    /* Settings the original's .env may carry that do not apply here. */
    for (const char *w = cfg->warnings; w != NULL && *w != '\0';) {
        const char *nl = strchr(w, '\n');
        int n = nl ? (int)(nl - w) : (int)strlen(w);
        wf_log_warn("configuration: %.*s", n, w);
        w = nl ? nl + 1 : w + n;
    }
    return 0;
}

/* DATA_DIR holds the SQLite file and caches (plugin code, run inputs and
 * outputs: nobody else's business); create it (one level, 0700) when
 * missing so the embedded defaults work from an empty folder. A folder
 * that exists is the operator's: its mode is left alone, with a warning
 * when others can enter it. */
static int ensure_data_dir(const wf_config *cfg)
{
    struct stat st;
    if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "wasmforge: cannot create DATA_DIR '%s': %s\n", cfg->data_dir, strerror(errno));
        return -1;
    }
    if (stat(cfg->data_dir, &st) == 0 && (st.st_mode & 0077) != 0)
        wf_log_warn("DATA_DIR '%s' is open to other users (mode %03o); 0700 is advised",
                    cfg->data_dir, (unsigned)(st.st_mode & 0777));
    return 0;
}

static int cmd_check(void)
{
    wf_config cfg;
    if (load_config(&cfg) != 0)
        return EXIT_CONFIG;
    int problems = 0;
    char buf[2048];
    wf_config_describe(&cfg, buf, sizeof buf);
    printf("configuration: ok\n%s", buf);

    char err[512] = "";
    wf_store *store = NULL;
    if (ensure_data_dir(&cfg) != 0) {
        problems++;
    } else if (wf_store_open(&cfg, &store, err, sizeof err) != 0) {
        printf("store: FAILED: %s\n", err);
        problems++;
    } else {
        printf("store: ok (%s)\n", wf_store_kind(store));
    }

    wf_ollama *ol = NULL;
    char *version = NULL;
    if (wf_ollama_new(cfg.ollama_base_url, &ol) != 0) {
        printf("ollama: FAILED: cannot create client\n");
        problems++;
    } else if (wf_ollama_version(ol, 3000, &version, err, sizeof err) != 0) {
        printf("ollama: FAILED: %s: %s\n", cfg.ollama_base_url, err);
        problems++;
    } else {
        json_t *models = NULL;
        size_t nmodels = 0;
        if (wf_ollama_tags(ol, 3000, &models, err, sizeof err) == 0) {
            nmodels = json_array_size(models);
            json_decref(models);
        }
        printf("ollama: ok (version %s, %zu models)\n", version, nmodels);
        free(version);
    }

    wf_runs *runs = NULL;
    if (wf_runs_new(&cfg, NULL, ol, &runs, err, sizeof err) != 0) {
        printf("sandbox: FAILED: %s\n", err);
        problems++;
    } else {
        int line = 0, col = 0;
        char msg[256] = "";
        int rc = wf_runs_check_syntax(runs, "x = 1\n", 6, &line, &col, msg, sizeof msg);
        if (rc != 0) {
            printf("sandbox: FAILED: %s cannot compile Python: %s\n", wf_runs_sandbox_name(runs),
                   rc == WF_EINVAL ? msg : wf_strerror(rc));
            problems++;
        } else {
            printf("sandbox: ok (%s)\n", wf_runs_sandbox_name(runs));
        }
        wf_runs_drain(runs, 0);
        wf_runs_free(runs);
    }
    wf_ollama_free(ol);
    wf_store_close(store);
    wf_config_free(&cfg);
    printf(problems ? "check: %d problem(s)\n" : "check: all good\n", problems);
    return problems ? EXIT_FAILURE : EXIT_SUCCESS;
}

static int cmd_serve(void)
{
    wf_config cfg;
    if (load_config(&cfg) != 0)
        return EXIT_CONFIG;
    if (cfg.db_kind == WF_DB_SQLITE && ensure_data_dir(&cfg) != 0) {
        wf_config_free(&cfg);
        return EXIT_FAILURE;
    }

    /* SIGTERM/SIGINT are taken by sigwait below; blocked before any thread
     * starts so every thread inherits the mask. A peer closing a socket
     * must not kill the process. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    int status = EXIT_FAILURE;
    char err[512] = "";
    wf_store *store = NULL;
    wf_ollama *ol = NULL;
    wf_runs *runs = NULL;
    wf_http *http = NULL;
    wf_store_pruner *pruner = NULL;

    if (wf_store_open(&cfg, &store, err, sizeof err) != 0) {
        wf_log_error("cannot open the store: %s", err);
        goto out;
    }
    /* Run history within RUN_HISTORY_DAYS / RUN_HISTORY_MAX_ROWS: pruned at
     * start and every five minutes, never on a request's path. */
    if (wf_store_pruner_start(store, cfg.run_history_days, cfg.run_history_max_rows, 300,
                              &pruner) != 0) {
        wf_log_error("cannot start the run history pruner: out of memory");
        goto out;
    }
    if (wf_ollama_new(cfg.ollama_base_url, &ol) != 0) {
        wf_log_error("cannot create the Ollama client");
        goto out;
    }
    if (wf_runs_new(&cfg, store, ol, &runs, err, sizeof err) != 0) {
        wf_log_error("cannot start the sandbox: %s", err);
        goto out;
    }
    wf_http_deps deps = {.cfg = &cfg, .store = store, .ollama = ol, .runs = runs};
    if (wf_http_start(&deps, &http, err, sizeof err) != 0) {
        wf_log_error("cannot listen on %s:%d: %s", cfg.host, cfg.port, err);
        goto out;
    }
    wf_log_info("wasmforge %s: sandbox %s, database %s", WF_VERSION, wf_runs_sandbox_name(runs),
                wf_store_kind(store));
    wf_log_info("listening on http://%s:%d", cfg.host, wf_http_port(http));

    int sig = 0;
    while (sigwait(&stop, &sig) != 0)
        ;
    wf_log_info("%s received: draining (grace %ds)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                cfg.shutdown_grace);
    wf_http_quiesce(http);
    wf_runs_drain(runs, cfg.shutdown_grace);
    wf_http_stop(http);
    http = NULL;
    wf_log_info("stopped");
    status = EXIT_SUCCESS;
out:
    if (http) {
        wf_http_quiesce(http);
        if (runs)
            wf_runs_drain(runs, 0);
        wf_http_stop(http);
    }
    if (runs) {
        wf_runs_drain(runs, 0);
        wf_runs_free(runs);
    }
    wf_ollama_free(ol);
    wf_store_pruner_stop(pruner);
    wf_store_close(store);
    wf_config_free(&cfg);
    return status;
}

static int cmd_run(int argc, char **argv)
{
    wf_config cfg;
    if (load_config(&cfg) != 0)
        return EXIT_CONFIG;
    signal(SIGPIPE, SIG_IGN);
    int rc = wf_cli_run(&cfg, argc, argv);
    wf_config_free(&cfg);
    return rc;
}

int main(int argc, char **argv)
{
    ensure_std_fds();
    /* Everything the server creates (the SQLite file and its journal,
     * DATA_DIR, caches) is for its own user only. */
    umask(077);
    const char *cmd = argc > 1 ? argv[1] : "serve";
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return EXIT_SUCCESS;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("wasmforge %s\n", WF_VERSION);
        return EXIT_SUCCESS;
    }
    if (strcmp(cmd, "serve") == 0 && argc <= 2)
        return cmd_serve();
    if (strcmp(cmd, "check") == 0 && argc == 2)
        return cmd_check();
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    fprintf(stderr, "wasmforge: unknown command or arguments: '%s'\n\n%s", cmd, usage);
    return EXIT_CONFIG;
}
