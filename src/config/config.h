/* config.h - WasmForge configuration: the environment, then `.env`.
 *
 * Every key of SPEC §2 and the original's .env. The environment wins over
 * `.env`. A bad value is an error that names the key and says what is
 * accepted; the server exits with code 2 on it. */
#ifndef WF_CONFIG_H
#define WF_CONFIG_H

#include <stddef.h>

enum wf_db_kind { WF_DB_SQLITE, WF_DB_POSTGRES };
enum wf_sandbox_kind { WF_SANDBOX_WASM, WF_SANDBOX_NATIVE };

typedef struct wf_config {
    char *host;               /* HOST, "127.0.0.1" */
    int port;                 /* PORT, 8000; 0 = any free port (tests) */
    char *data_dir;           /* DATA_DIR, "./data" */

    enum wf_db_kind db_kind;  /* from DATABASE_URL, else DB_HOST set => postgres */
    char *sqlite_path;        /* sqlite: file path ("<data_dir>/wasmforge.db") */
    char *pg_conninfo;        /* postgres: libpq conninfo or URL (holds secrets: never log) */
    char *db_ssl_cert;        /* DB_SSL_CERT: CA file; TLS verify-full when set */

    char *ollama_base_url;    /* OLLAMA_BASE_URL, no trailing slash */
    char **allowed_models;    /* ALLOWED_MODELS, NULL-terminated, in their order;
                               * default the original's four models */
    size_t allowed_models_n;
    int allowed_models_all;   /* ALLOWED_MODELS=*: every model Ollama lists
                               * (allowed_models is then empty) */

    char *sdk_path;           /* SDK_PATH or NULL (built-in SDK); NULL too when
                               * the file is missing or does not declare our
                               * bridge (a warning says why) */
    int max_execution_time;   /* seconds, MAX_EXECUTION_TIME, 120 */
    int max_prompt_length;    /* characters, MAX_PROMPT_LENGTH, 4000 */
    int max_ai_calls;         /* MAX_AI_CALLS_PER_EXECUTION, 10 */
    int max_num_predict;      /* MAX_NUM_PREDICT: cap of options.num_predict, 4096 */
    int max_num_ctx;          /* MAX_NUM_CTX: cap of options.num_ctx, 8192 */
    enum wf_sandbox_kind sandbox; /* USE_WASMEDGE / SANDBOX */
    char *wasm_python_path;   /* WASM_PYTHON_PATH or NULL (built-in; also when
                               * the file is missing, with a warning) */
    char *wasm_python_dir;    /* WASM_PYTHON_DIR or NULL (likewise) */
    int max_memory_mb;        /* MAX_MEMORY_MB, 256 */
    size_t max_output_bytes;  /* MAX_OUTPUT_BYTES, 1 MiB */
    size_t max_input_bytes;   /* MAX_INPUT_BYTES, 1 MiB */
    size_t max_plugin_bytes;  /* MAX_PLUGIN_BYTES, 1 MiB */
    int max_concurrent_runs;  /* MAX_CONCURRENT_RUNS, sized to the machine */
    int max_queued_runs;      /* MAX_QUEUED_RUNS, the bounded wait queue, 1000 */
    char *api_token;          /* API_TOKEN or NULL (secret: never log) */
    char *cors_origins;       /* CORS_ORIGINS or NULL: browser origins allowed beyond the
                                 server's own and loopback ones; "*" = every origin */
    char *allowed_hosts;      /* ALLOWED_HOSTS or NULL: Host names answered beyond IP
                                 literals, localhost and HOST (http/access.h) */
    int log_level;            /* LOG_LEVEL as enum wf_log_level */
    int log_json;             /* LOG_FORMAT=json */
    char *web_dir;            /* WEB_DIR or NULL (the web/ folder beside the binary) */
    int shutdown_grace;       /* SHUTDOWN_GRACE seconds for in-flight runs, 30 */
    int http_threads;         /* HTTP_THREADS, half the cores (at least 1) */
    unsigned run_uid_base;    /* RUN_UID_BASE: runs' uids start here (as root) */
    int http_max_connections; /* HTTP_MAX_CONNECTIONS, open connections in all, 4096 */
    int http_max_per_ip;      /* HTTP_MAX_CONNECTIONS_PER_IP, 0 = no limit, 256 */
    int http_timeout_s;       /* HTTP_TIMEOUT, seconds a connection may stay silent, 30 */
    int run_history_days;     /* RUN_HISTORY_DAYS, 0 = keep forever, 30 */
    long run_history_max_rows;/* RUN_HISTORY_MAX_ROWS, 0 = no limit, 100000 */
    char *warnings;           /* settings ignored at load, one line each (why
                               * and what is used instead), or NULL; the
                               * caller logs them once logging is set up */
    int db_timeout_ms;        /* DB_TIMEOUT_MS: bound on one database connect or
                               * statement, 5000 */
} wf_config;

/* The marker line a replacement platform_sdk.py (SDK_PATH) must hold to be
 * used: it says the SDK speaks our bridge (the _wf_bridge module), not the
 * original's stdin/stdout protocol. */
#define WF_SDK_MARKER "WASMFORGE_BRIDGE = 1"

/* The original's default allowlist. */
#define WF_DEFAULT_ALLOWED_MODELS "mistral:latest,llama3.2:latest,gemma2:2b,qwen2.5:1.5b"

/* A lookup function for keys: returns the value or NULL. Lets tests feed
 * their own environment; wf_config_getenv reads the process environment. */
typedef const char *(*wf_config_lookup_fn)(void *ctx, const char *key);
const char *wf_config_getenv(void *ctx, const char *key);

/* Load: keys from `lookup` first, then from the dotenv file at `dotenv_path`
 * (may be NULL or missing). On error returns WF_EINVAL and writes a message
 * naming the key into err. The result is owned by the caller:
 * wf_config_free() (safe on a zeroed or partly loaded config). */
int wf_config_load(wf_config *cfg, wf_config_lookup_fn lookup, void *ctx,
                   const char *dotenv_path, char *err, size_t errlen);
void wf_config_free(wf_config *cfg);

/* Is `model` in ALLOWED_MODELS (exact name, case and all)? True for any
 * model with ALLOWED_MODELS=*. The one place the allowlist is decided: the
 * bridge, the run's list_models, /api/models/list and /metrics ask here. */
int wf_config_model_allowed(const wf_config *cfg, const char *model);

/* Human-readable summary of the configuration with secrets masked, one key
 * a line, into `out`. Used by `wasmforge check`. */
void wf_config_describe(const wf_config *cfg, char *out, size_t outlen);

#endif
