/* code_share.c - the shared code blobs of waiting and running runs: a
 * short list (one entry per plugin version in use), looked up under one
 * lock. */
#include "runs/code_share.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct wf_code_table {
    pthread_mutex_t mu;
    wf_code *head;
};

wf_code_table *wf_code_table_new(void)
{
    wf_code_table *t = calloc(1, sizeof *t);
    if (t != NULL)
        pthread_mutex_init(&t->mu, NULL);
    return t;
}

void wf_code_table_free(wf_code_table *t)
{
    if (t == NULL)
        return;
    pthread_mutex_destroy(&t->mu);
    free(t);
}

wf_code *wf_code_acquire(wf_code_table *t, const char *plugin, int version, const char *code,
                         size_t len)
{
    pthread_mutex_lock(&t->mu);
    for (wf_code *c = t->head; c != NULL; c = c->next) {
        if (c->version == version && c->len == len && strcmp(c->plugin, plugin) == 0 &&
            memcmp(c->data, code, len) == 0) {
            c->refs++;
            pthread_mutex_unlock(&t->mu);
            return c;
        }
    }
    pthread_mutex_unlock(&t->mu);
    /* Copied outside the lock: a megabyte is not copied while other runs
     * wait to be queued. */
    wf_code *c = malloc(sizeof *c + len + 1);
    char *name = strdup(plugin);
    if (c == NULL || name == NULL) {
        free(c);
        free(name);
        return NULL;
    }
    c->table = t;
    c->refs = 1;
    c->plugin = name;
    c->version = version;
    c->len = len;
    memcpy(c->data, code, len);
    c->data[len] = '\0';
    pthread_mutex_lock(&t->mu);
    c->next = t->head;
    t->head = c;
    pthread_mutex_unlock(&t->mu);
    return c;
}

void wf_code_release(wf_code *c)
{
    if (c == NULL)
        return;
    wf_code_table *t = c->table;
    pthread_mutex_lock(&t->mu);
    if (--c->refs > 0) {
        pthread_mutex_unlock(&t->mu);
        return;
    }
    wf_code **pp = &t->head;
    while (*pp != c)
        pp = &(*pp)->next;
    *pp = c->next;
    pthread_mutex_unlock(&t->mu);
    free(c->plugin);
    free(c);
}
