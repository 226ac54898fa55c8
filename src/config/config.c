/* config.c - reads WasmForge's configuration from the environment and `.env`,
 * validates every key and fills a wf_config (see config.h). */
#include "config/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/wf_error.h"

/* The keys a dotenv file may hold: parsed once, looked up after the
 * environment. */
typedef struct dotenv {
    char **keys;
    char **values;
    size_t n;
} dotenv;

typedef struct source {
    wf_config_lookup_fn lookup;
    void *ctx;
    dotenv env;
} source;

const char *wf_config_getenv(void *ctx, const char *key)
{
    (void)ctx;
    return getenv(key);
}

static void dotenv_free(dotenv *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->keys[i]);
        free(d->values[i]);
    }
    free(d->keys);
    free(d->values);
    *d = (dotenv){0};
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* The end of a quoted value: the first closing quote `q` after which the
 * line holds nothing but blanks or a ` # comment`. NULL when there is none
 * (an unterminated quote, or text after the closing quote). */
static char *closing_quote(char *val, char q)
{
    for (char *c = strchr(val + 1, q); c != NULL; c = strchr(c + 1, q)) {
        const char *rest = c + 1;
        while (isspace((unsigned char)*rest))
            rest++;
        if (*rest == '\0' || (*rest == '#' && rest > c + 1))
            return c;
    }
    return NULL;
}

/* Parse one `KEY=value` line the way common dotenv readers do: optional
 * `export `, quotes stripped, ` #` starts a comment after an unquoted
 * value or a closing quote. A line that is none of blank, comment or
 * KEY=value is an error, not something to skip: a typo there would
 * otherwise leave a key (say API_TOKEN) silently unset. The message names
 * the line by number only: its text may hold a secret. */
static int dotenv_line(dotenv *d, char *line, size_t lineno, const char *path, char *err,
                       size_t errlen)
{
    char *s = trim(line);
    if (*s == '\0' || *s == '#')
        return 0;
    if (strncmp(s, "export ", 7) == 0)
        s = trim(s + 7);
    char *eq = strchr(s, '=');
    if (eq == NULL || eq == s) {
        wf_errorf(err, errlen, "%s: line %zu is not KEY=value (nor blank or a # comment)", path,
                  lineno);
        return WF_EINVAL;
    }
    *eq = '\0';
    char *key = trim(s);
    char *val = trim(eq + 1);
    if (val[0] == '"' || val[0] == '\'') {
        char *end = closing_quote(val, val[0]);
        if (end == NULL) {
            wf_errorf(err, errlen, "%s: line %zu (%.64s): the quoted value has no closing %c, or "
                                   "text follows it", path, lineno, key, val[0]);
            return WF_EINVAL;
        }
        *end = '\0';
        val++;
    } else {
        for (char *c = val; *c; c++) {
            if (*c == '#' && (c == val || isspace((unsigned char)c[-1]))) {
                *c = '\0';
                break;
            }
        }
        val = trim(val);
    }
    if (*key == '\0' || strpbrk(key, " \t") != NULL) {
        wf_errorf(err, errlen, "%s: line %zu is not KEY=value (the key is empty or has blanks)",
                  path, lineno);
        return WF_EINVAL;
    }
    char **nk = realloc(d->keys, (d->n + 1) * sizeof *nk);
    if (nk == NULL)
        return WF_ENOMEM;
    d->keys = nk;
    char **nv = realloc(d->values, (d->n + 1) * sizeof *nv);
    if (nv == NULL)
        return WF_ENOMEM;
    d->values = nv;
    d->keys[d->n] = strdup(key);
    d->values[d->n] = strdup(val);
    if (d->keys[d->n] == NULL || d->values[d->n] == NULL) {
        free(d->keys[d->n]);
        free(d->values[d->n]);
        return WF_ENOMEM;
    }
    d->n++;
    return 0;
}

static int dotenv_read(dotenv *d, const char *path, char *err, size_t errlen)
{
    if (path == NULL)
        return 0;
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return 0; /* no .env is the normal case */
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    size_t lineno = 0;
    while (rc == 0 && getline(&line, &cap, f) != -1)
        rc = dotenv_line(d, line, ++lineno, path, err, errlen);
    free(line);
    fclose(f);
    return rc;
}

/* The value of a key: the environment first, then `.env`. Empty counts as
 * unset, as the original's readers treated it. */
static const char *get(source *src, const char *key)
{
    const char *v = src->lookup(src->ctx, key);
    if (v == NULL) {
        for (size_t i = src->env.n; i-- > 0;) {
            if (strcmp(src->env.keys[i], key) == 0) {
                v = src->env.values[i];
                break;
            }
        }
    }
    return (v != NULL && *v != '\0') ? v : NULL;
}

static int set_str(char **dst, const char *v)
{
    char *c = strdup(v);
    if (c == NULL)
        return WF_ENOMEM;
    free(*dst);
    *dst = c;
    return 0;
}

static int get_str(source *src, const char *key, const char *def, char **dst)
{
    const char *v = get(src, key);
    if (v == NULL && def == NULL)
        return 0;
    return set_str(dst, v ? v : def);
}

static int get_int(source *src, const char *key, long def, long min, long max,
                   long *out, char *err, size_t errlen)
{
    const char *v = get(src, key);
    if (v == NULL) {
        *out = def;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long n = strtol(v, &end, 10);
    while (isspace((unsigned char)*end))   /* strtol always sets end */
        end++;
    if (errno != 0 || end == v || *end != '\0' || n < min || n > max) {
        wf_errorf(err, errlen, "%s: '%s' is not accepted: give a whole number from %ld to %ld",
                  key, v, min, max);
        return WF_EINVAL;
    }
    *out = n;
    return 0;
}

static int get_bool(source *src, const char *key, int def, int *out, char *err, size_t errlen)
{
    const char *v = get(src, key);
    if (v == NULL) {
        *out = def;
        return 0;
    }
    static const char *yes[] = {"true", "1", "yes", "on"};
    static const char *no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    wf_errorf(err, errlen, "%s: '%s' is not accepted: give true or false", key, v);
    return WF_EINVAL;
}

/* ALLOWED_MODELS: comma list, blanks around names ignored, empty items
 * dropped. Exact names, so no case folding. Unset: the original's four
 * models; "*": every model Ollama lists. */
static int parse_models(wf_config *cfg, const char *v)
{
    if (v == NULL)
        v = WF_DEFAULT_ALLOWED_MODELS;
    size_t cap = 1;
    for (const char *c = v; *c; c++)
        cap += (*c == ',');
    cfg->allowed_models = calloc(cap + 1, sizeof(char *));
    if (cfg->allowed_models == NULL)
        return WF_ENOMEM;
    char *copy = strdup(v);
    if (copy == NULL)
        return WF_ENOMEM;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *name = trim(tok);
        if (*name == '\0')
            continue;
        if (strcmp(name, "*") == 0) {
            cfg->allowed_models_all = 1;
            continue;
        }
        cfg->allowed_models[cfg->allowed_models_n] = strdup(name);
        if (cfg->allowed_models[cfg->allowed_models_n] == NULL) {
            free(copy);
            return WF_ENOMEM;
        }
        cfg->allowed_models_n++;
    }
    free(copy);
    if (cfg->allowed_models_all) {
        /* "*" means every model: names beside it would only mislead. */
        for (size_t i = 0; i < cfg->allowed_models_n; i++) {
            free(cfg->allowed_models[i]);
            cfg->allowed_models[i] = NULL;
        }
        cfg->allowed_models_n = 0;
    }
    return 0;
}

/* Add one line to cfg->warnings. */
static int warn(wf_config *cfg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int warn(wf_config *cfg, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t old = cfg->warnings ? strlen(cfg->warnings) : 0;
    char *w = realloc(cfg->warnings, old + strlen(line) + 2);
    if (w == NULL)
        return WF_ENOMEM;
    snprintf(w + old, strlen(line) + 2, "%s\n", line);
    cfg->warnings = w;
    return 0;
}

/* Does the file hold WF_SDK_MARKER as a line of its own (blanks around it
 * allowed)? -1 with errno when it cannot be read. */
static int sdk_has_marker(const char *path)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    int found = 0;
    while (!found && getline(&line, &cap, f) != -1)
        found = strcmp(trim(line), WF_SDK_MARKER) == 0;
    int rd_err = ferror(f);
    free(line);
    fclose(f);
    if (rd_err) {
        errno = EIO;
        return -1;
    }
    return found;
}

static int is_url_scheme(const char *v, const char *scheme)
{
    size_t n = strlen(scheme);
    return strncmp(v, scheme, n) == 0;
}

/* DATABASE_URL wins; else DB_HOST selects PostgreSQL with the original's
 * DB_* keys; else SQLite in DATA_DIR. */
static int load_database(wf_config *cfg, source *src, char *err, size_t errlen)
{
    const char *url = get(src, "DATABASE_URL");
    if (url != NULL) {
        if (is_url_scheme(url, "postgresql://") || is_url_scheme(url, "postgres://")) {
            cfg->db_kind = WF_DB_POSTGRES;
            return set_str(&cfg->pg_conninfo, url);
        }
        if (is_url_scheme(url, "sqlite:///")) {
            cfg->db_kind = WF_DB_SQLITE;
            return set_str(&cfg->sqlite_path, url + strlen("sqlite://"));
        }
        if (is_url_scheme(url, "sqlite://")) {
            /* sqlite://relative/path, as SQLAlchemy-style URLs allow */
            cfg->db_kind = WF_DB_SQLITE;
            const char *p = url + strlen("sqlite://");
            if (*p == '\0')
                goto bad;
            return set_str(&cfg->sqlite_path, p);
        }
    bad:
        wf_errorf(err, errlen, "DATABASE_URL: not accepted: give postgresql://USER:PASSWORD@HOST:PORT/DB "
                               "or sqlite:///path/to/file.db");
        return WF_EINVAL;
    }
    const char *host = get(src, "DB_HOST");
    if (host != NULL) {
        long port = 5432;
        int rc = get_int(src, "DB_PORT", 5432, 1, 65535, &port, err, errlen);
        if (rc != 0)
            return rc;
        /* libpq keyword/value conninfo; values quoted so spaces and quotes
         * in passwords survive. */
        const char *keys[] = {"host", "dbname", "user", "password"};
        const char *vals[] = {host, get(src, "DB_NAME"), get(src, "DB_USER"), get(src, "DB_PASSWORD")};
        size_t cap = 64;
        for (size_t i = 0; i < 4; i++)
            cap += 16 + (vals[i] ? 2 * strlen(vals[i]) : 0);
        char *ci = malloc(cap);
        if (ci == NULL)
            return WF_ENOMEM;
        size_t n = (size_t)snprintf(ci, cap, "port=%ld", port);
        for (size_t i = 0; i < 4; i++) {
            if (vals[i] == NULL)
                continue;
            n += (size_t)snprintf(ci + n, cap - n, " %s='", keys[i]);
            for (const char *c = vals[i]; *c; c++) {
                if (*c == '\'' || *c == '\\')
                    ci[n++] = '\\';
                ci[n++] = *c;
            }
            ci[n++] = '\'';
            ci[n] = '\0';
        }
        cfg->db_kind = WF_DB_POSTGRES;
        free(cfg->pg_conninfo);
        cfg->pg_conninfo = ci;
        return 0;
    }
    cfg->db_kind = WF_DB_SQLITE;
    size_t len = strlen(cfg->data_dir) + sizeof("/wasmforge.db");
    char *p = malloc(len);
    if (p == NULL)
        return WF_ENOMEM;
    snprintf(p, len, "%s/wasmforge.db", cfg->data_dir);
    free(cfg->sqlite_path);
    cfg->sqlite_path = p;
    return 0;
}

static int load_sandbox(wf_config *cfg, source *src, char *err, size_t errlen)
{
    int use_wasm = 1;
    int rc = get_bool(src, "USE_WASMEDGE", 1, &use_wasm, err, errlen);
    if (rc != 0)
        return rc;
    const char *sb = get(src, "SANDBOX");
    if (sb != NULL) {
        if (strcmp(sb, "wasm") == 0) {
            use_wasm = 1;
        } else if (strcmp(sb, "native") == 0) {
            use_wasm = 0;
        } else {
            wf_errorf(err, errlen, "SANDBOX: '%s' is not accepted: give wasm or native", sb);
            return WF_EINVAL;
        }
    }
    cfg->sandbox = use_wasm ? WF_SANDBOX_WASM : WF_SANDBOX_NATIVE;
    return 0;
}

static int load_http(wf_config *cfg, source *src, char *err, size_t errlen)
{
    long v = 0;
    int rc = get_str(src, "HOST", "127.0.0.1", &cfg->host);
    if (rc == 0)
        rc = get_int(src, "PORT", 8000, 0, 65535, &v, err, errlen);
    if (rc != 0)
        return rc;
    cfg->port = (int)v;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu < 1)
        ncpu = 1;
    /* Half the cores: one libmicrohttpd thread serves 100,000 small answers
     * a second, and the other cores are where plugins run (and, on a
     * benchmark box, where the load generator runs). More threads than
     * free cores only add scheduling delay to every answer's tail. */
    long half = ncpu / 2 > 0 ? ncpu / 2 : 1;
    rc = get_int(src, "HTTP_THREADS", half, 1, 256, &v, err, errlen);
    if (rc != 0)
        return rc;
    cfg->http_threads = (int)v;
    rc = get_str(src, "CORS_ORIGINS", NULL, &cfg->cors_origins);
    if (rc == 0)
        rc = get_str(src, "ALLOWED_HOSTS", NULL, &cfg->allowed_hosts);
    if (rc == 0)
        rc = get_str(src, "API_TOKEN", NULL, &cfg->api_token);
    if (rc == 0)
        rc = get_str(src, "WEB_DIR", NULL, &cfg->web_dir);
    return rc;
}

/* A table of integer keys read in one go: val = the key's value. */
typedef struct int_key {
    const char *key;
    long def, min, max;
    long val;
} int_key;

static int get_ints(source *src, int_key *k, size_t n, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        int rc = get_int(src, k[i].key, k[i].def, k[i].min, k[i].max, &k[i].val, err, errlen);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int load_limits(wf_config *cfg, source *src, char *err, size_t errlen)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu < 1)
        ncpu = 1;
    int_key k[] = {
        {"MAX_EXECUTION_TIME", 120, 1, 86400, 0},
        {"MAX_PROMPT_LENGTH", 4000, 1, 10000000, 0},
        {"MAX_AI_CALLS_PER_EXECUTION", 10, 0, 100000, 0},
        /* Ollama's own defaults are 128 tokens to predict (-1 = no end)
         * and a 2048-token context; these caps keep one call from holding
         * the model for minutes or the GPU's memory. */
        {"MAX_NUM_PREDICT", 4096, 1, 1000000, 0},
        {"MAX_NUM_CTX", 8192, 256, 1048576, 0},
        {"MAX_MEMORY_MB", 256, 16, 4096, 0},
        {"MAX_OUTPUT_BYTES", 1048576, 1024, 1L << 30, 0},
        {"MAX_INPUT_BYTES", 1048576, 1, 1L << 30, 0},
        {"MAX_PLUGIN_BYTES", 1048576, 1, 1L << 30, 0},
        /* Runs mostly wait on AI answers, so several per core. */
        {"MAX_CONCURRENT_RUNS", 4 * ncpu, 1, 10000, 0},
        {"MAX_QUEUED_RUNS", 1000, 0, 1000000, 0},
        {"SHUTDOWN_GRACE", 30, 0, 3600, 0},
        /* The first of the uids runs take, one per concurrent run (see
         * sandbox/child_harden.h): a range no account on the host uses. */
        {"RUN_UID_BASE", 1500000000L, 1000, 4294967295L - 65536, 0},
        {"DB_TIMEOUT_MS", 5000, 100, 600000, 0},
    };
    int rc = get_ints(src, k, sizeof k / sizeof k[0], err, errlen);
    if (rc != 0)
        return rc;
    cfg->max_execution_time = (int)k[0].val;
    cfg->max_prompt_length = (int)k[1].val;
    cfg->max_ai_calls = (int)k[2].val;
    cfg->max_num_predict = (int)k[3].val;
    cfg->max_num_ctx = (int)k[4].val;
    cfg->max_memory_mb = (int)k[5].val;
    cfg->max_output_bytes = (size_t)k[6].val;
    cfg->max_input_bytes = (size_t)k[7].val;
    cfg->max_plugin_bytes = (size_t)k[8].val;
    cfg->max_concurrent_runs = (int)k[9].val;
    cfg->max_queued_runs = (int)k[10].val;
    cfg->shutdown_grace = (int)k[11].val;
    cfg->run_uid_base = (unsigned)k[12].val;
    cfg->db_timeout_ms = (int)k[13].val;
    return 0;
}

/* What one client, and all of them together, may hold of the server: open
 * connections, how long they may stay silent, and how much run history is
 * kept (pruned in the background). */
static int load_server_limits(wf_config *cfg, source *src, char *err, size_t errlen)
{
    int_key k[] = {
        {"HTTP_MAX_CONNECTIONS", 4096, 16, 1000000, 0},
        {"HTTP_MAX_CONNECTIONS_PER_IP", 256, 0, 1000000, 0},
        {"HTTP_TIMEOUT", 30, 1, 86400, 0},
        {"RUN_HISTORY_DAYS", 30, 0, 36500, 0},
        {"RUN_HISTORY_MAX_ROWS", 100000, 0, 1000000000L, 0},
    };
    int rc = get_ints(src, k, sizeof k / sizeof k[0], err, errlen);
    if (rc != 0)
        return rc;
    cfg->http_max_connections = (int)k[0].val;
    cfg->http_max_per_ip = (int)k[1].val;
    cfg->http_timeout_s = (int)k[2].val;
    cfg->run_history_days = (int)k[3].val;
    cfg->run_history_max_rows = k[4].val;
    return 0;
}

/* Forget a path setting, saying why. */
static int drop_path(wf_config *cfg, char **path, const char *key, const char *why,
                     const char *instead)
{
    int rc = warn(cfg, "%s: '%s' %s: ignored, %s", key, *path, why, instead);
    free(*path);
    *path = NULL;
    return rc;
}

/* SDK_PATH, WASM_PYTHON_PATH and WASM_PYTHON_DIR name optional replacements:
 * the original's env.example names its own SDK (which speaks the original's
 * stdin/stdout protocol, not our bridge) and WasmEdge files that are not
 * there on our machines. Such a setting is ignored with a warning and the
 * built-in one is used, so the original's .env works as it is.
 * DB_SSL_CERT is different: a missing CA file must not quietly turn TLS
 * off, so it stops start-up. */
static int load_paths(wf_config *cfg, source *src, char *err, size_t errlen)
{
    int rc = get_str(src, "SDK_PATH", NULL, &cfg->sdk_path);
    if (rc == 0)
        rc = get_str(src, "WASM_PYTHON_PATH", NULL, &cfg->wasm_python_path);
    if (rc == 0)
        rc = get_str(src, "WASM_PYTHON_DIR", NULL, &cfg->wasm_python_dir);
    if (rc == 0)
        rc = get_str(src, "DB_SSL_CERT", NULL, &cfg->db_ssl_cert);
    if (rc != 0)
        return rc;
    if (cfg->db_ssl_cert != NULL && access(cfg->db_ssl_cert, R_OK) != 0) {
        wf_errorf(err, errlen, "DB_SSL_CERT: cannot read '%s': %s", cfg->db_ssl_cert,
                  strerror(errno));
        return WF_EINVAL;
    }
    if (cfg->sdk_path != NULL) {
        int has = sdk_has_marker(cfg->sdk_path);
        char why[300];
        if (has < 0) {
            snprintf(why, sizeof why, "cannot be read (%s)", strerror(errno));
            rc = drop_path(cfg, &cfg->sdk_path, "SDK_PATH", why, "the built-in SDK is used");
        } else if (has == 0) {
            rc = drop_path(cfg, &cfg->sdk_path, "SDK_PATH",
                           "is not an SDK for this server's bridge (it lacks the line "
                           "\"" WF_SDK_MARKER "\"; the original's SDK speaks another protocol)",
                           "the built-in SDK is used");
        }
        if (rc != 0)
            return rc;
    }
    struct stat st;
    if (cfg->wasm_python_path != NULL &&
        (stat(cfg->wasm_python_path, &st) != 0 || !S_ISREG(st.st_mode)))
        rc = drop_path(cfg, &cfg->wasm_python_path, "WASM_PYTHON_PATH", "is not a file",
                       "the built-in Python engine is used");
    if (rc == 0 && cfg->wasm_python_dir != NULL &&
        (stat(cfg->wasm_python_dir, &st) != 0 || !S_ISDIR(st.st_mode)))
        rc = drop_path(cfg, &cfg->wasm_python_dir, "WASM_PYTHON_DIR", "is not a folder",
                       "the built-in Python engine is used");
    return rc;
}

static int load_ollama(wf_config *cfg, source *src, char *err, size_t errlen)
{
    int rc = get_str(src, "OLLAMA_BASE_URL", "http://localhost:11434", &cfg->ollama_base_url);
    if (rc != 0)
        return rc;
    char *u = cfg->ollama_base_url;
    if (!is_url_scheme(u, "http://") && !is_url_scheme(u, "https://")) {
        wf_errorf(err, errlen, "OLLAMA_BASE_URL: '%s' is not accepted: give an http:// or https:// URL", u);
        return WF_EINVAL;
    }
    size_t n = strlen(u);
    while (n > 0 && u[n - 1] == '/')
        u[--n] = '\0';
    return parse_models(cfg, get(src, "ALLOWED_MODELS"));
}

static int load_logging(wf_config *cfg, source *src, char *err, size_t errlen)
{
    const char *lvl = get(src, "LOG_LEVEL");
    cfg->log_level = WF_LOG_INFO;
    if (lvl != NULL) {
        int l = wf_log_level_parse(lvl);
        if (l < 0) {
            wf_errorf(err, errlen, "LOG_LEVEL: '%s' is not accepted: give debug, info, warning or error", lvl);
            return WF_EINVAL;
        }
        cfg->log_level = l;
    }
    const char *fmt = get(src, "LOG_FORMAT");
    cfg->log_json = 0;
    if (fmt != NULL) {
        if (strcmp(fmt, "json") == 0) {
            cfg->log_json = 1;
        } else if (strcmp(fmt, "text") != 0) {
            wf_errorf(err, errlen, "LOG_FORMAT: '%s' is not accepted: give text or json", fmt);
            return WF_EINVAL;
        }
    }
    return 0;
}

int wf_config_load(wf_config *cfg, wf_config_lookup_fn lookup, void *ctx,
                   const char *dotenv_path, char *err, size_t errlen)
{
    *cfg = (wf_config){0};
    source src = {.lookup = lookup ? lookup : wf_config_getenv, .ctx = ctx};
    int rc = dotenv_read(&src.env, dotenv_path, err, errlen);
    if (rc == 0)
        rc = get_str(&src, "DATA_DIR", "./data", &cfg->data_dir);
    if (rc == 0)
        rc = load_logging(cfg, &src, err, errlen);
    if (rc == 0)
        rc = load_http(cfg, &src, err, errlen);
    if (rc == 0)
        rc = load_database(cfg, &src, err, errlen);
    if (rc == 0)
        rc = load_ollama(cfg, &src, err, errlen);
    if (rc == 0)
        rc = load_sandbox(cfg, &src, err, errlen);
    if (rc == 0)
        rc = load_limits(cfg, &src, err, errlen);
    if (rc == 0)
        rc = load_paths(cfg, &src, err, errlen);
    if (rc == 0)
        rc = load_server_limits(cfg, &src, err, errlen);
    if (rc == WF_ENOMEM)
        wf_errorf(err, errlen, "out of memory while reading the configuration");
    dotenv_free(&src.env);
    if (rc != 0)
        wf_config_free(cfg);
    return rc;
}

void wf_config_free(wf_config *cfg)
{
    if (cfg == NULL)
        return;
    char **strs[] = {&cfg->host, &cfg->data_dir, &cfg->sqlite_path, &cfg->pg_conninfo,
                     &cfg->db_ssl_cert, &cfg->ollama_base_url, &cfg->sdk_path,
                     &cfg->wasm_python_path, &cfg->wasm_python_dir, &cfg->api_token,
                     &cfg->cors_origins, &cfg->allowed_hosts, &cfg->web_dir, &cfg->warnings};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
    if (cfg->allowed_models) {
        for (size_t i = 0; i < cfg->allowed_models_n; i++)
            free(cfg->allowed_models[i]);
        free(cfg->allowed_models);
    }
    cfg->allowed_models = NULL;
    cfg->allowed_models_n = 0;
    cfg->allowed_models_all = 0;
}

int wf_config_model_allowed(const wf_config *cfg, const char *model)
{
    if (model == NULL)
        return 0;
    if (cfg->allowed_models_all)
        return 1;
    for (size_t i = 0; i < cfg->allowed_models_n; i++) {
        if (strcmp(cfg->allowed_models[i], model) == 0)
            return 1;
    }
    return 0;
}

void wf_config_describe(const wf_config *cfg, char *out, size_t outlen)
{
    size_t n = 0;
#define PUT(...)                                                        \
    do {                                                                \
        if (n < outlen)                                                 \
            n += (size_t)snprintf(out + n, outlen - n, __VA_ARGS__);    \
    } while (0)
    PUT("listen            %s:%d\n", cfg->host, cfg->port);
    PUT("data dir          %s\n", cfg->data_dir);
    if (cfg->db_kind == WF_DB_SQLITE)
        PUT("database          sqlite %s\n", cfg->sqlite_path);
    else
        PUT("database          postgresql (credentials hidden)%s\n",
            cfg->db_ssl_cert ? ", TLS verified" : "");
    PUT("ollama            %s\n", cfg->ollama_base_url);
    PUT("allowed models    ");
    if (cfg->allowed_models_all)
        PUT("* (every model Ollama lists)");
    for (size_t i = 0; i < cfg->allowed_models_n; i++)
        PUT("%s%s", i ? "," : "", cfg->allowed_models[i]);
    PUT("\n");
    PUT("sandbox           %s\n", cfg->sandbox == WF_SANDBOX_WASM ? "wasm" : "native");
    PUT("limits            %ds, %d MB, %d AI calls, prompt %d chars, output %zu bytes\n",
        cfg->max_execution_time, cfg->max_memory_mb, cfg->max_ai_calls,
        cfg->max_prompt_length, cfg->max_output_bytes);
    PUT("model options     num_predict <= %d, num_ctx <= %d\n", cfg->max_num_predict,
        cfg->max_num_ctx);
    PUT("sdk               %s\n", cfg->sdk_path ? cfg->sdk_path : "built-in");
    PUT("concurrency       %d runs, queue %d\n", cfg->max_concurrent_runs, cfg->max_queued_runs);
    PUT("http              %d connections, %d per address, %ds silence\n",
        cfg->http_max_connections, cfg->http_max_per_ip, cfg->http_timeout_s);
    PUT("run history       %d days, %ld rows (0 = no limit)\n", cfg->run_history_days,
        cfg->run_history_max_rows);
    PUT("api token         %s\n", cfg->api_token ? "set (hidden)" : "not set");
    PUT("browser origins   own, loopback%s%s\n", cfg->cors_origins ? ", " : "",
        cfg->cors_origins ? cfg->cors_origins : "");
    PUT("host names        IP literals, localhost%s%s\n", cfg->allowed_hosts ? ", " : "",
        cfg->allowed_hosts ? cfg->allowed_hosts : "");
#undef PUT
}
