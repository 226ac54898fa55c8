/* cli_run.c - the `wasmforge run` command: submit one run to a private
 * supervisor, wait for it, print the run result. */
#include "runs/cli_run.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/plugin_name.h"
#include "common/wf_error.h"
#include "ollama/ollama.h"
#include "runs/runs.h"

typedef struct cli_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    int success;
    char *json;
} cli_wait;

static void on_done(void *ctx, const wf_run_result *res)
{
    cli_wait *w = ctx;
    json_t *o = wf_run_result_json(res);
    char *s = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
    json_decref(o);
    pthread_mutex_lock(&w->mu);
    w->json = s;
    w->success = res->success;
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static char *slurp(const char *path, size_t max, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rbe");
    if (f == NULL) {
        fprintf(stderr, "wasmforge run: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(max + 2);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    int bad = buf == NULL || ferror(f);
    if (f != stdin)
        fclose(f);
    if (bad) {
        fprintf(stderr, "wasmforge run: cannot read %s\n", path);
        free(buf);
        return NULL;
    }
    if (n > max) {
        fprintf(stderr, "wasmforge run: %s is larger than the %zu-byte limit\n", path, max);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int usage(void)
{
    fprintf(stderr, "usage: wasmforge run PLUGIN.py [--input TEXT | --input-file FILE]\n");
    return 2;
}

int wf_cli_run(const wf_config *cfg, int argc, char **argv)
{
    const char *path = NULL, *input_text = NULL, *input_file = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--input") == 0 && i + 1 < argc && !input_file)
            input_text = argv[++i];
        else if (strcmp(argv[i], "--input-file") == 0 && i + 1 < argc && !input_text)
            input_file = argv[++i];
        else if (argv[i][0] == '-' && strcmp(argv[i], "-") != 0)
            return usage();
        else if (path == NULL)
            path = argv[i];
        else
            return usage();
    }
    if (path == NULL)
        return usage();

    size_t code_len = 0, input_len = 0;
    char *code = slurp(path, cfg->max_plugin_bytes, &code_len);
    if (code == NULL)
        return 1;
    char *input = NULL;
    if (input_file) {
        input = slurp(input_file, cfg->max_input_bytes, &input_len);
    } else {
        input = strdup(input_text ? input_text : "");
        input_len = input ? strlen(input) : 0;
        if (input && input_len > cfg->max_input_bytes) {
            fprintf(stderr, "wasmforge run: the input is larger than the %zu-byte limit\n",
                    cfg->max_input_bytes);
            free(input);
            input = NULL;
        }
    }
    if (input == NULL) {
        free(code);
        return 1;
    }
    /* The plugin's name: its file name less .py. */
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char name[WF_PLUGIN_NAME_MAX_BYTES + 4]; /* + ".py" */
    snprintf(name, sizeof name, "%s", base);
    size_t nl = strlen(name);
    if (nl > 3 && strcmp(name + nl - 3, ".py") == 0)
        name[nl - 3] = '\0';

    int rc = 1;
    wf_ollama *ol = NULL;
    wf_runs *runs = NULL;
    char err[512] = "";
    cli_wait w = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    if (wf_ollama_new(cfg->ollama_base_url, &ol) < 0) {
        fprintf(stderr, "wasmforge run: cannot set up the Ollama client\n");
        goto out;
    }
    if (wf_runs_new(cfg, NULL, ol, &runs, err, sizeof err) < 0) {
        fprintf(stderr, "wasmforge run: %s\n", err);
        goto out;
    }
    wf_plugin plugin = {.name = name, .code = code, .version = 0};
    int sr = wf_runs_submit(runs, &plugin, input, input_len, NULL, on_done, &w, NULL);
    if (sr < 0) {
        wf_runs_stats st;
        wf_runs_get_stats(runs, &st);
        fprintf(stderr, "wasmforge run: the run was refused: %s (%s)\n", wf_strerror(sr),
                st.sandbox_detail ? st.sandbox_detail : "");
        goto out;
    }
    pthread_mutex_lock(&w.mu);
    while (!w.done)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    if (w.json) {
        fputs(w.json, stdout);
        fputc('\n', stdout);
        fflush(stdout);
        rc = w.success ? 0 : 1;
    } else {
        fprintf(stderr, "wasmforge run: out of memory printing the result\n");
    }
out:
    wf_runs_free(runs);
    wf_ollama_free(ol);
    free(w.json);
    free(code);
    free(input);
    return rc;
}
