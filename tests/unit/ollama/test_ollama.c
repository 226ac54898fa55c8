/* test_ollama.c - the Ollama client against the Ollama double
 * (tests/support/ollama_double.py, started as a child process). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/wf_error.h"
#include "ollama/ollama.h"

static pid_t double_pid;
static char double_url[64];

/* Start the double; its first stdout line is its port. */
static int start_double(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    double_pid = fork();
    if (double_pid < 0)
        return -1;
    if (double_pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl("/usr/bin/python3", "python3", "tests/support/ollama_double.py", "--port", "0",
              (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char line[32] = {0};
    size_t n = 0;
    while (n < sizeof line - 1) {
        ssize_t r = read(fds[0], line + n, 1);
        if (r <= 0 || line[n] == '\n')
            break;
        n++;
    }
    close(fds[0]);
    int port = atoi(line);
    if (port <= 0) {
        fprintf(stderr, "the Ollama double did not start (run from the repository root)\n");
        return -1;
    }
    snprintf(double_url, sizeof double_url, "http://127.0.0.1:%d", port);
    return 0;
}

static int stop_double(void **state)
{
    (void)state;
    if (double_pid > 0) {
        kill(double_pid, SIGTERM);
        waitpid(double_pid, NULL, 0);
    }
    curl_global_cleanup();
    return 0;
}

struct text {
    char *p;
    size_t n;
};

static size_t sink(char *p, size_t s, size_t n, void *ctx)
{
    struct text *t = ctx;
    char *q = realloc(t->p, t->n + s * n + 1);
    assert_non_null(q);
    memcpy(q + t->n, p, s * n);
    t->n += s * n;
    q[t->n] = '\0';
    t->p = q;
    return s * n;
}

/* An admin call to the double; returns the answer parsed. */
static json_t *admin(const char *method, const char *path, const char *body)
{
    char url[128];
    snprintf(url, sizeof url, "%s%s", double_url, path);
    CURL *h = curl_easy_init();
    struct text t = {0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_cleanup(h);
    json_t *v = t.p ? json_loads(t.p, 0, NULL) : NULL;
    free(t.p);
    assert_non_null(v);
    return v;
}

static void configure(const char *json)
{
    json_decref(admin("POST", "/_double/config", json));
    json_decref(admin("DELETE", "/_double/requests", NULL));
}

static wf_ollama *client(void)
{
    wf_ollama *ol = NULL;
    assert_int_equal(wf_ollama_new(double_url, &ol), 0);
    return ol;
}

static void test_new_rejects_bad_url(void **state)
{
    (void)state;
    wf_ollama *ol = (wf_ollama *)1;
    assert_int_equal(wf_ollama_new("localhost:11434", &ol), WF_EINVAL);
    assert_null(ol);
    assert_int_equal(wf_ollama_new("http://h:1/", &ol), 0);
    assert_string_equal(wf_ollama_base_url(ol), "http://h:1");
    wf_ollama_free(ol);
}

static void test_version(void **state)
{
    (void)state;
    configure("{\"reset\": true, \"version\": \"0.9.1\"}");
    wf_ollama *ol = client();
    char *v = NULL, err[256] = "";
    assert_int_equal(wf_ollama_version(ol, 5000, &v, err, sizeof err), 0);
    assert_string_equal(v, "0.9.1");
    free(v);
    wf_ollama_free(ol);
}

static void test_tags(void **state)
{
    (void)state;
    configure("{\"reset\": true}");
    wf_ollama *ol = client();
    json_t *models = NULL;
    char err[256] = "";
    assert_int_equal(wf_ollama_tags(ol, 5000, &models, err, sizeof err), 0);
    assert_true(json_array_size(models) >= 5);
    json_t *first = json_array_get(models, 0);
    assert_string_equal(json_string_value(json_object_get(first, "name")), "mistral:latest");
    assert_string_equal(json_string_value(json_object_get(json_object_get(first, "details"),
                                                          "parameter_size")),
                        "7.2B");
    json_decref(models);

    configure("{\"reset\": true, \"models\": []}");
    assert_int_equal(wf_ollama_tags(ol, 5000, &models, err, sizeof err), 0);
    assert_int_equal(json_array_size(models), 0);
    json_decref(models);
    wf_ollama_free(ol);
}

static void test_generate_streams_and_assembles(void **state)
{
    (void)state;
    configure("{\"reset\": true, \"chunk_chars\": 3}");
    wf_ollama *ol = client();
    char *ans = NULL, err[256] = "";
    assert_int_equal(wf_ollama_generate(ol, "mistral:latest", "héllo wörld", NULL, NULL, 5000,
                                        &ans, err, sizeof err),
                     0);
    assert_string_equal(ans, "echo: héllo wörld");
    free(ans);

    json_t *reqs = admin("GET", "/_double/requests", NULL);
    assert_int_equal(json_array_size(reqs), 1);
    json_t *r = json_array_get(reqs, 0);
    assert_string_equal(json_string_value(json_object_get(r, "path")), "/api/generate");
    json_t *body = json_object_get(r, "body");
    assert_true(json_is_true(json_object_get(body, "stream")));
    assert_string_equal(json_string_value(json_object_get(body, "prompt")), "héllo wörld");
    json_decref(reqs);
    wf_ollama_free(ol);
}

static void test_chat_with_system_and_options(void **state)
{
    (void)state;
    configure("{\"reset\": true}");
    wf_ollama *ol = client();
    char *ans = NULL, err[256] = "";
    json_t *opts = json_pack("{s:f}", "temperature", 0.5);
    assert_int_equal(wf_ollama_generate(ol, "gemma2:2b", "hi", "be brief", opts, 5000, &ans,
                                        err, sizeof err),
                     0);
    json_decref(opts);
    assert_string_equal(ans, "echo: [be brief] hi");
    free(ans);

    json_t *reqs = admin("GET", "/_double/requests", NULL);
    json_t *r = json_array_get(reqs, 0);
    assert_string_equal(json_string_value(json_object_get(r, "path")), "/api/chat");
    json_t *body = json_object_get(r, "body");
    assert_true(json_real_value(json_object_get(json_object_get(body, "options"),
                                                "temperature")) == 0.5);
    assert_int_equal(json_array_size(json_object_get(body, "messages")), 2);
    json_decref(reqs);
    wf_ollama_free(ol);
}

static void test_connections_are_reused(void **state)
{
    (void)state;
    configure("{\"reset\": true}");
    wf_ollama *ol = client();
    char *v = NULL, err[256] = "";
    for (int i = 0; i < 3; i++) {
        assert_int_equal(wf_ollama_version(ol, 5000, &v, err, sizeof err), 0);
        free(v);
    }
    json_t *reqs = admin("GET", "/_double/requests", NULL);
    assert_int_equal(json_array_size(reqs), 3);
    json_int_t port = json_integer_value(json_object_get(json_array_get(reqs, 0), "peer_port"));
    for (size_t i = 1; i < 3; i++)
        assert_int_equal(json_integer_value(json_object_get(json_array_get(reqs, i), "peer_port")),
                         port);
    json_decref(reqs);
    wf_ollama_free(ol);
}

static void test_canned_and_empty_answer(void **state)
{
    (void)state;
    configure("{\"reset\": true, \"answers\": {\"qwen2.5:1.5b\": \"\", \"mistral:latest\": "
              "\"Paris.\"}}");
    wf_ollama *ol = client();
    char *ans = NULL, err[256] = "";
    assert_int_equal(wf_ollama_generate(ol, "qwen2.5:1.5b", "x", NULL, NULL, 5000, &ans, err,
                                        sizeof err),
                     0);
    assert_string_equal(ans, "");
    free(ans);
    assert_int_equal(wf_ollama_generate(ol, "mistral:latest", "x", NULL, NULL, 5000, &ans, err,
                                        sizeof err),
                     0);
    assert_string_equal(ans, "Paris.");
    free(ans);
    wf_ollama_free(ol);
}

static void test_generate_unknown_model(void **state)
{
    (void)state;
    configure("{\"reset\": true}");
    wf_ollama *ol = client();
    char *ans = NULL, err[256] = "";
    assert_int_equal(wf_ollama_generate(ol, "ghost:7b", "x", NULL, NULL, 5000, &ans, err,
                                        sizeof err),
                     WF_ENOTFOUND);
    assert_null(ans);
    assert_string_equal(err, "model 'ghost:7b' not found");
    wf_ollama_free(ol);
}

static void test_error_inside_stream(void **state)
{
    (void)state;
    configure("{\"reset\": true, \"fault\": \"stream_error\"}");
    wf_ollama *ol = client();
    char *ans = NULL, err[256] = "";
    assert_int_equal(wf_ollama_generate(ol, "mistral:latest", "a long enough prompt", NULL, NULL,
                                        5000, &ans, err, sizeof err),
                     WF_EIO);
    assert_null(ans);
    assert_non_null(strstr(err, "error was encountered while running the model"));
    wf_ollama_free(ol);
}

static void test_dropped_mid_answer(void **state)
{
    (void)state;
    configure("{\"reset\": true, \"fault\": \"drop_mid\"}");
    wf_ollama *ol = client();
    char *ans = NULL, err[256] = "";
    assert_int_equal(wf_ollama_generate(ol, "mistral:latest", "a long enough prompt", NULL, NULL,
                                        5000, &ans, err, sizeof err),
                     WF_EUNAVAIL);
    assert_null(ans);
    configure("{\"reset\": true, \"fault\": \"drop\"}");
    json_t *models = NULL;
    assert_int_equal(wf_ollama_tags(ol, 5000, &models, err, sizeof err), WF_EUNAVAIL);
    assert_null(models);
    wf_ollama_free(ol);
}

static void test_garbage(void **state)
{
    (void)state;
    configure("{\"reset\": true, \"fault\": \"garbage\"}");
    wf_ollama *ol = client();
    char *ans = NULL, *v = NULL, err[256] = "";
    json_t *models = NULL;
    assert_int_equal(wf_ollama_tags(ol, 5000, &models, err, sizeof err), WF_EPROTO);
    assert_null(models);
    assert_int_equal(wf_ollama_version(ol, 5000, &v, err, sizeof err), WF_EPROTO);
    assert_null(v);
    assert_int_equal(wf_ollama_generate(ol, "mistral:latest", "x", NULL, NULL, 5000, &ans, err,
                                        sizeof err),
                     WF_EPROTO);
    assert_null(ans);
    wf_ollama_free(ol);
}

/* Answers of the wrong shape, each one a protocol error. */
static void test_wrong_shapes(void **state)
{
    (void)state;
    wf_ollama *ol = client();
    char *ans = NULL, *v = NULL, err[256] = "";
    json_t *out = NULL;
    static const char *const tags_bodies[] = {
        "{\"models\": \"many\"}", "{\"models\": [1, 2]}", "{\"models\": [{\"size\": 1}]}",
        "[]", "{\"models\": []} trailing", "",
    };
    for (size_t i = 0; i < sizeof tags_bodies / sizeof tags_bodies[0]; i++) {
        json_t *cfg = json_pack("{s:b, s:{s:s}}", "reset", 1, "raw", "body", tags_bodies[i]);
        char *body = json_dumps(cfg, JSON_COMPACT);
        configure(body);
        free(body);
        json_decref(cfg);
        assert_int_equal(wf_ollama_tags(ol, 5000, &out, err, sizeof err), WF_EPROTO);
        assert_null(out);
    }
    configure("{\"reset\": true, \"raw\": {\"body\": \"{\\\"version\\\": 7}\"}}");
    assert_int_equal(wf_ollama_version(ol, 5000, &v, err, sizeof err), WF_EPROTO);
    assert_null(v);

    static const char *const streams[] = {
        "{\"response\": \"a\", \"done\": \"no\"}\n",             /* done not a boolean */
        "{\"response\": 5, \"done\": false}\n",                   /* response not text */
        "{\"response\": \"a\", \"done\": false}\n",               /* never done */
        "{\"response\": \"a\", \"done\": true}\n{\"response\": \"b\", \"done\": true}\n",
        "{\"response\": \"a\", \"done\": false}\nnot json\n",
        "[\"response\"]\n",
    };
    for (size_t i = 0; i < sizeof streams / sizeof streams[0]; i++) {
        json_t *cfg = json_pack("{s:b, s:{s:s, s:s}}", "reset", 1, "raw", "body", streams[i],
                                "content_type", "application/x-ndjson");
        char *body = json_dumps(cfg, JSON_COMPACT);
        configure(body);
        free(body);
        json_decref(cfg);
        assert_int_equal(wf_ollama_generate(ol, "mistral:latest", "x", NULL, NULL, 5000, &ans,
                                            err, sizeof err),
                         WF_EPROTO);
        assert_null(ans);
    }
    /* a complete answer without a final newline is fine */
    configure("{\"reset\": true, \"raw\": {\"body\": \"{\\\"response\\\": \\\"ok\\\", "
              "\\\"done\\\": true}\"}}");
    assert_int_equal(wf_ollama_generate(ol, "mistral:latest", "x", NULL, NULL, 5000, &ans, err,
                                        sizeof err),
                     0);
    assert_string_equal(ans, "ok");
    free(ans);
    wf_ollama_free(ol);
}

static void test_http_500(void **state)
{
    (void)state;
    configure("{\"reset\": true, \"fault\": \"http500\"}");
    wf_ollama *ol = client();
    char *ans = NULL, err[256] = "";
    assert_int_equal(wf_ollama_generate(ol, "mistral:latest", "x", NULL, NULL, 5000, &ans, err,
                                        sizeof err),
                     WF_EIO);
    assert_string_equal(err, "internal server error (double)");
    wf_ollama_free(ol);
}

static void test_refused(void **state)
{
    (void)state;
    /* a port that was free a moment ago: nothing listens there */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    getsockname(s, (struct sockaddr *)&a, &al);
    close(s);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(a.sin_port));
    wf_ollama *ol = NULL;
    assert_int_equal(wf_ollama_new(url, &ol), 0);
    char *v = NULL, err[256] = "";
    assert_int_equal(wf_ollama_version(ol, 5000, &v, err, sizeof err), WF_EUNAVAIL);
    assert_non_null(strstr(err, url));
    wf_ollama_free(ol);
}

static void test_timeout(void **state)
{
    (void)state;
    configure("{\"reset\": true, \"delay\": 3}");
    wf_ollama *ol = client();
    char *ans = NULL, err[256] = "";
    assert_int_equal(wf_ollama_generate(ol, "mistral:latest", "x", NULL, NULL, 300, &ans, err,
                                        sizeof err),
                     WF_ETIMEOUT);
    assert_null(ans);
    wf_ollama_free(ol);
}

static void test_answer_size_capped(void **state)
{
    (void)state;
    size_t n = (1u << 20) + 100;
    char *big = malloc(n + 1);
    memset(big, 'x', n);
    big[n] = '\0';
    json_t *cfg = json_pack("{s:b, s:i, s:{s:s}}", "reset", 1, "chunk_chars", 65536, "answers",
                            "mistral:latest", big);
    char *body = json_dumps(cfg, JSON_COMPACT);
    configure(body);
    free(body);
    json_decref(cfg);
    free(big);
    wf_ollama *ol = client();
    char *ans = NULL, err[256] = "";
    assert_int_equal(wf_ollama_generate(ol, "mistral:latest", "x", NULL, NULL, 20000, &ans, err,
                                        sizeof err),
                     WF_ETOOBIG);
    assert_null(ans);
    wf_ollama_free(ol);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    wf_ollama *ol = client();
    char *ans = NULL, err[256] = "";
    assert_int_equal(wf_ollama_generate(ol, "m", "\xff\xfe", NULL, NULL, 1000, &ans, err,
                                        sizeof err),
                     WF_EINVAL);
    json_t *arr = json_array();
    assert_int_equal(wf_ollama_generate(ol, "m", "p", NULL, arr, 1000, &ans, err, sizeof err),
                     WF_EINVAL);
    json_decref(arr);
    assert_null(ans);
    wf_ollama_free(ol);
}

struct worker {
    wf_ollama *ol;
    int idx;
    int ok;
};

static void *work(void *p)
{
    struct worker *w = p;
    char prompt[32], want[64], err[256];
    snprintf(prompt, sizeof prompt, "prompt %d", w->idx);
    snprintf(want, sizeof want, "echo: prompt %d", w->idx);
    for (int i = 0; i < 5; i++) {
        char *ans = NULL;
        int rc = wf_ollama_generate(w->ol, "mistral:latest", prompt, NULL, NULL, 10000, &ans,
                                    err, sizeof err);
        if (rc == 0 && strcmp(ans, want) == 0)
            w->ok++;
        free(ans);
    }
    return NULL;
}

static void test_concurrent_calls(void **state)
{
    (void)state;
    configure("{\"reset\": true}");
    wf_ollama *ol = client();
    enum { N = 8 };
    pthread_t t[N];
    struct worker w[N];
    for (int i = 0; i < N; i++) {
        w[i] = (struct worker){ol, i, 0};
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].ok, 5);
    }
    wf_ollama_free(ol);
}

struct slow_call {
    wf_ollama *ol;
    int rc;
    char err[256];
};

static void *slow_call_fn(void *arg)
{
    struct slow_call *c = arg;
    char *ans = NULL;
    c->rc = wf_ollama_generate(c->ol, "mistral:latest", "x", NULL, NULL, 60000, &ans, c->err,
                               sizeof c->err);
    free(ans);
    return NULL;
}

/* At shutdown a call waiting on a slow model ends without its answer. */
static void test_cancel_all(void **state)
{
    (void)state;
    configure("{\"reset\": true, \"delay\": 30}");
    wf_ollama *ol = client();
    struct slow_call c = {.ol = ol, .rc = 1};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, slow_call_fn, &c), 0);
    for (int i = 0; i < 500; i++) { /* until the double holds the request */
        json_t *reqs = admin("GET", "/_double/requests", NULL);
        size_t n = json_array_size(reqs);
        json_decref(reqs);
        if (n > 0)
            break;
        usleep(20000);
    }
    wf_ollama_cancel_all(ol);
    pthread_join(t, NULL);
    assert_int_equal(c.rc, WF_EUNAVAIL);
    assert_non_null(strstr(c.err, "cancelled"));
    /* and every later call at once */
    char *ver = NULL, err[256] = "";
    assert_int_equal(wf_ollama_version(ol, 5000, &ver, err, sizeof err), WF_EUNAVAIL);
    assert_null(ver);
    assert_non_null(strstr(err, "cancelled"));
    wf_ollama_free(ol);
    configure("{\"reset\": true}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_rejects_bad_url),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_tags),
        cmocka_unit_test(test_generate_streams_and_assembles),
        cmocka_unit_test(test_chat_with_system_and_options),
        cmocka_unit_test(test_connections_are_reused),
        cmocka_unit_test(test_canned_and_empty_answer),
        cmocka_unit_test(test_generate_unknown_model),
        cmocka_unit_test(test_error_inside_stream),
        cmocka_unit_test(test_dropped_mid_answer),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_wrong_shapes),
        cmocka_unit_test(test_http_500),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_cancel_all),
        cmocka_unit_test(test_answer_size_capped),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_concurrent_calls),
    };
    return cmocka_run_group_tests(tests, start_double, stop_double);
}
