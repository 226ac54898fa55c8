/* test_config.c - configuration: defaults, every key's validation, .env
 * parsing and precedence, database selection, secrets kept out of output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/wf_error.h"
#include "config/config.h"

/* A fake environment: "KEY=value" strings, NULL-terminated. */
static const char *fake_lookup(void *ctx, const char *key)
{
    const char **env = ctx;
    size_t n = strlen(key);
    for (; env && *env; env++) {
        if (strncmp(*env, key, n) == 0 && (*env)[n] == '=')
            return *env + n + 1;
    }
    return NULL;
}

static int load(wf_config *cfg, const char **env, const char *dotenv, char *err)
{
    return wf_config_load(cfg, fake_lookup, env, dotenv, err, 256);
}

static char *write_dotenv(const char *text)
{
    static char path[64];
    strcpy(path, "/tmp/wf-test-env-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_defaults(void **state)
{
    (void)state;
    wf_config cfg;
    char err[256] = "";
    assert_int_equal(load(&cfg, NULL, NULL, err), 0);
    assert_string_equal(cfg.host, "127.0.0.1");
    assert_int_equal(cfg.port, 8000);
    assert_string_equal(cfg.data_dir, "./data");
    assert_int_equal(cfg.db_kind, WF_DB_SQLITE);
    assert_string_equal(cfg.sqlite_path, "./data/wasmforge.db");
    assert_string_equal(cfg.ollama_base_url, "http://localhost:11434");
    /* the original's default allowlist, in its order */
    assert_int_equal(cfg.allowed_models_n, 4);
    assert_string_equal(cfg.allowed_models[0], "mistral:latest");
    assert_string_equal(cfg.allowed_models[3], "qwen2.5:1.5b");
    assert_false(cfg.allowed_models_all);
    assert_int_equal(cfg.max_num_predict, 4096);
    assert_int_equal(cfg.max_num_ctx, 8192);
    assert_null(cfg.warnings);
    assert_int_equal(cfg.max_execution_time, 120);
    assert_int_equal(cfg.max_prompt_length, 4000);
    assert_int_equal(cfg.max_ai_calls, 10);
    assert_int_equal(cfg.max_memory_mb, 256);
    assert_int_equal(cfg.max_output_bytes, 1048576);
    assert_int_equal(cfg.sandbox, WF_SANDBOX_WASM);
    assert_null(cfg.api_token);
    assert_null(cfg.cors_origins);  /* own and loopback origins only */
    assert_null(cfg.allowed_hosts); /* IP literals and localhost only */
    assert_true(cfg.max_concurrent_runs >= 1);
    assert_int_equal(cfg.run_uid_base, 1500000000u);
    assert_int_equal(cfg.http_max_connections, 4096);
    assert_int_equal(cfg.http_max_per_ip, 256);
    assert_int_equal(cfg.http_timeout_s, 30);
    assert_int_equal(cfg.run_history_days, 30);
    assert_int_equal(cfg.run_history_max_rows, 100000);
    assert_false(wf_config_model_allowed(&cfg, "anything:latest"));
    assert_true(wf_config_model_allowed(&cfg, "gemma2:2b"));
    wf_config_free(&cfg);
}

static void test_bad_values_name_the_key(void **state)
{
    (void)state;
    struct {
        const char *kv;
        const char *key;
    } cases[] = {
        {"PORT=abc", "PORT"},
        {"PORT=70000", "PORT"},
        {"PORT=-1", "PORT"},
        {"MAX_EXECUTION_TIME=0", "MAX_EXECUTION_TIME"},
        {"MAX_EXECUTION_TIME=12s", "MAX_EXECUTION_TIME"},
        {"MAX_PROMPT_LENGTH=1e9", "MAX_PROMPT_LENGTH"},
        {"MAX_AI_CALLS_PER_EXECUTION=-3", "MAX_AI_CALLS_PER_EXECUTION"},
        {"MAX_MEMORY_MB=1", "MAX_MEMORY_MB"},
        {"RUN_UID_BASE=0", "RUN_UID_BASE"},            /* root's */
        {"RUN_UID_BASE=4294967000", "RUN_UID_BASE"},   /* the range would wrap */
        {"HTTP_MAX_CONNECTIONS=8", "HTTP_MAX_CONNECTIONS"},
        {"HTTP_MAX_CONNECTIONS_PER_IP=-1", "HTTP_MAX_CONNECTIONS_PER_IP"},
        {"HTTP_TIMEOUT=0", "HTTP_TIMEOUT"},
        {"RUN_HISTORY_DAYS=forever", "RUN_HISTORY_DAYS"},
        {"RUN_HISTORY_MAX_ROWS=-5", "RUN_HISTORY_MAX_ROWS"},
        {"USE_WASMEDGE=maybe", "USE_WASMEDGE"},
        {"SANDBOX=docker", "SANDBOX"},
        {"LOG_LEVEL=loud", "LOG_LEVEL"},
        {"LOG_FORMAT=xml", "LOG_FORMAT"},
        {"DATABASE_URL=mysql://x", "DATABASE_URL"},
        {"OLLAMA_BASE_URL=localhost:11434", "OLLAMA_BASE_URL"},
        {"DB_HOST=db", "DB_PORT"}, /* paired with DB_PORT=x below */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *env[] = {cases[i].kv, "DB_PORT=x", NULL};
        if (strncmp(cases[i].kv, "DB_HOST", 7) != 0)
            env[1] = NULL;
        wf_config cfg;
        char err[256] = "";
        assert_int_equal(load(&cfg, env, NULL, err), WF_EINVAL);
        if (strstr(err, cases[i].key) != err)
            fail_msg("%s: error does not start with the key: %s", cases[i].kv, err);
    }
}

static void test_dotenv_and_precedence(void **state)
{
    (void)state;
    char *path = write_dotenv(
        "# comment\n"
        "export PORT=9001\n"
        "HOST = 0.0.0.0 \n"
        "ALLOWED_MODELS=mistral:latest, llama3.2:latest ,,gemma2:2b\n"
        "API_TOKEN=\"s3cret token\"\n"
        "MAX_EXECUTION_TIME=30 # seconds\n"
        "CORS_ORIGINS=\"http://a.example\" # the app\n"
        "DATA_DIR='quoted # not a comment'  # but this is\n"
        "WEB_DIR=\"say \"hi\"\"\n");
    const char *env[] = {"PORT=9002", NULL};
    wf_config cfg;
    char err[256] = "";
    assert_int_equal(load(&cfg, env, path, err), 0);
    assert_int_equal(cfg.port, 9002); /* the environment wins */
    assert_string_equal(cfg.host, "0.0.0.0");
    assert_int_equal(cfg.allowed_models_n, 3);
    assert_string_equal(cfg.allowed_models[0], "mistral:latest");
    assert_string_equal(cfg.allowed_models[1], "llama3.2:latest");
    assert_string_equal(cfg.allowed_models[2], "gemma2:2b");
    assert_true(wf_config_model_allowed(&cfg, "gemma2:2b"));
    assert_false(wf_config_model_allowed(&cfg, "mistral")); /* exact names only */
    assert_string_equal(cfg.api_token, "s3cret token");
    assert_int_equal(cfg.max_execution_time, 30);
    /* A comment after a closing quote leaves the quotes out of the value. */
    assert_string_equal(cfg.cors_origins, "http://a.example");
    assert_string_equal(cfg.data_dir, "quoted # not a comment");
    assert_string_equal(cfg.web_dir, "say \"hi\"");
    char desc[2048];
    wf_config_describe(&cfg, desc, sizeof desc);
    assert_null(strstr(desc, "s3cret"));
    wf_config_free(&cfg);
    unlink(path);
}

/* A .env line that is not KEY=value stops start-up, naming the line by
 * its number (not its text, which may hold a secret). */
static void test_dotenv_bad_lines(void **state)
{
    (void)state;
    static const char *bad[] = {
        "PORT=9001\nAPI_TOKEN hunter2-line\n",
        "PORT=9001\n=value\n",
        "PORT=9001\nAPI_TOKEN=\"unterminated\n",
        "PORT=9001\nAPI_TOKEN=\"a\"b\n",
        "PORT=9001\nMY KEY=x\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *path = write_dotenv(bad[i]);
        wf_config cfg;
        char err[256] = "";
        assert_int_equal(load(&cfg, NULL, path, err), WF_EINVAL);
        if (strstr(err, "line 2") == NULL || strstr(err, path) == NULL)
            fail_msg("case %zu: the error does not name the line: %s", i, err);
        assert_null(strstr(err, "hunter2"));
        unlink(path);
    }
}

static void test_database_selection(void **state)
{
    (void)state;
    wf_config cfg;
    char err[256] = "";
    const char *pg_url[] = {"DATABASE_URL=postgresql://u:p@h:5/d", "DB_HOST=ignored", NULL};
    assert_int_equal(load(&cfg, pg_url, NULL, err), 0);
    assert_int_equal(cfg.db_kind, WF_DB_POSTGRES);
    assert_string_equal(cfg.pg_conninfo, "postgresql://u:p@h:5/d");
    wf_config_free(&cfg);

    const char *sq[] = {"DATABASE_URL=sqlite:///var/lib/wf.db", NULL};
    assert_int_equal(load(&cfg, sq, NULL, err), 0);
    assert_int_equal(cfg.db_kind, WF_DB_SQLITE);
    assert_string_equal(cfg.sqlite_path, "/var/lib/wf.db");
    wf_config_free(&cfg);

    const char *orig[] = {"DB_HOST=10.0.0.5", "DB_PORT=6543", "DB_NAME=wasmforge",
                          "DB_USER=wf", "DB_PASSWORD=it's secret", NULL};
    assert_int_equal(load(&cfg, orig, NULL, err), 0);
    assert_int_equal(cfg.db_kind, WF_DB_POSTGRES);
    assert_non_null(strstr(cfg.pg_conninfo, "host='10.0.0.5'"));
    assert_non_null(strstr(cfg.pg_conninfo, "port=6543"));
    assert_non_null(strstr(cfg.pg_conninfo, "password='it\\'s secret'"));
    char desc[2048];
    wf_config_describe(&cfg, desc, sizeof desc);
    assert_null(strstr(desc, "secret"));
    wf_config_free(&cfg);

    const char *dd[] = {"DATA_DIR=/srv/wf", NULL};
    assert_int_equal(load(&cfg, dd, NULL, err), 0);
    assert_string_equal(cfg.sqlite_path, "/srv/wf/wasmforge.db");
    wf_config_free(&cfg);
}

static void test_sandbox_switches(void **state)
{
    (void)state;
    wf_config cfg;
    char err[256] = "";
    const char *off[] = {"USE_WASMEDGE=false", NULL};
    assert_int_equal(load(&cfg, off, NULL, err), 0);
    assert_int_equal(cfg.sandbox, WF_SANDBOX_NATIVE);
    wf_config_free(&cfg);
    const char *ours[] = {"USE_WASMEDGE=false", "SANDBOX=wasm", NULL};
    assert_int_equal(load(&cfg, ours, NULL, err), 0);
    assert_int_equal(cfg.sandbox, WF_SANDBOX_WASM);
    wf_config_free(&cfg);
    const char *trailing[] = {"OLLAMA_BASE_URL=http://ollama:11434///", NULL};
    assert_int_equal(load(&cfg, trailing, NULL, err), 0);
    assert_string_equal(cfg.ollama_base_url, "http://ollama:11434");
    wf_config_free(&cfg);
}

static void test_empty_value_is_unset(void **state)
{
    (void)state;
    wf_config cfg;
    char err[256] = "";
    const char *env[] = {"PORT=", "ALLOWED_MODELS=", "API_TOKEN=", NULL};
    assert_int_equal(load(&cfg, env, NULL, err), 0);
    assert_int_equal(cfg.port, 8000);
    assert_int_equal(cfg.allowed_models_n, 4);
    assert_null(cfg.api_token);
    wf_config_free(&cfg);
}

static void test_allowed_models_star(void **state)
{
    (void)state;
    wf_config cfg;
    char err[256] = "";
    const char *env[] = {"ALLOWED_MODELS=*", NULL};
    assert_int_equal(load(&cfg, env, NULL, err), 0);
    assert_true(cfg.allowed_models_all);
    assert_int_equal(cfg.allowed_models_n, 0);
    assert_true(wf_config_model_allowed(&cfg, "anything:latest"));
    wf_config_free(&cfg);
}

/* The original's env.example points at files that are not there (its SDK,
 * its WasmEdge Python): ignored with a warning, the built-in ones used. */
static void test_missing_paths_are_ignored_with_a_warning(void **state)
{
    (void)state;
    wf_config cfg;
    char err[256] = "";
    const char *env[] = {"SDK_PATH=./wf-no-such-dir/platform_sdk.py",
                         "WASM_PYTHON_PATH=/opt/wasmedge-python/bin/python-3.11.1-wasmedge.wasm",
                         "WASM_PYTHON_DIR=/opt/wasmedge-python", NULL};
    assert_int_equal(load(&cfg, env, NULL, err), 0);
    assert_null(cfg.sdk_path);
    assert_null(cfg.wasm_python_path);
    assert_null(cfg.wasm_python_dir);
    assert_non_null(cfg.warnings);
    assert_non_null(strstr(cfg.warnings, "SDK_PATH: './wf-no-such-dir/platform_sdk.py'"));
    assert_non_null(strstr(cfg.warnings, "built-in SDK"));
    assert_non_null(strstr(cfg.warnings, "WASM_PYTHON_PATH"));
    assert_non_null(strstr(cfg.warnings, "WASM_PYTHON_DIR"));
    wf_config_free(&cfg);

    /* an SDK without the marker line speaks another protocol: not used */
    char *path = write_dotenv("def call_ai(m, p):\n    return input()\n");
    char kv[128];
    snprintf(kv, sizeof kv, "SDK_PATH=%s", path);
    const char *env2[] = {kv, NULL};
    assert_int_equal(load(&cfg, env2, NULL, err), 0);
    assert_null(cfg.sdk_path);
    assert_non_null(strstr(cfg.warnings, WF_SDK_MARKER));
    wf_config_free(&cfg);
    unlink(path);

    /* with the marker it is used */
    path = write_dotenv("import _wf_bridge\n" WF_SDK_MARKER "\n");
    snprintf(kv, sizeof kv, "SDK_PATH=%s", path);
    assert_int_equal(load(&cfg, env2, NULL, err), 0);
    assert_string_equal(cfg.sdk_path, path);
    assert_null(cfg.warnings);
    wf_config_free(&cfg);
    unlink(path);

    /* a missing CA file still stops start-up: TLS must not go quietly */
    const char *env3[] = {"DB_SSL_CERT=/nonexistent/ca.crt", NULL};
    assert_int_equal(load(&cfg, env3, NULL, err), WF_EINVAL);
    assert_non_null(strstr(err, "DB_SSL_CERT"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_bad_values_name_the_key),
        cmocka_unit_test(test_dotenv_and_precedence),
        cmocka_unit_test(test_dotenv_bad_lines),
        cmocka_unit_test(test_database_selection),
        cmocka_unit_test(test_sandbox_switches),
        cmocka_unit_test(test_empty_value_is_unset),
        cmocka_unit_test(test_allowed_models_star),
        cmocka_unit_test(test_missing_paths_are_ignored_with_a_warning),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
