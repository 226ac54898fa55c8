/* run_io.c - a running run's descriptors: its stdout and stderr (kept up
 * to MAX_OUTPUT_BYTES), its bridge socket both ways, and the messages the
 * runner sends (the done message: RUNNING -> REPORTED, run.h). */
#include "runs/run.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runs/bridge.h"
#include "runs/supervisor_internal.h"

void wf_run_queue_tx(wf_runs *rs, wf_run *r, unsigned char *bytes, size_t n)
{
    /* Nothing more goes to a run that is being ended. */
    if (r->proc.bridge_fd < 0 || !wf_run_live(r)) {
        free(bytes);
        return;
    }
    free(r->tx);
    r->tx = bytes;
    r->tx_len = n;
    r->tx_off = 0;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = &r->w_bridge};
    epoll_ctl(rs->epfd, EPOLL_CTL_MOD, r->proc.bridge_fd, &ev);
}

static void keep_output(wf_runs *rs, wf_run *r, wf_outbuf *b, const char *data, size_t n)
{
    size_t cap = r->cfg->max_output_bytes;
    /* wf_runs_peek copies the buffer from other threads. */
    pthread_mutex_lock(&rs->live_mu);
    if (b->len < cap) {
        size_t take = n < cap - b->len ? n : cap - b->len;
        /* Grow with the output, not to the cap at once: most runs print
         * little. */
        char *nd = b->data == NULL ? malloc(take < 4096 ? 4096 : take)
                                   : realloc(b->data, b->len + take);
        if (nd != NULL) {
            b->data = nd;
            memcpy(b->data + b->len, data, take);
            b->len += take;
        } else {
            /* Out of memory: what was kept goes (not leaked); the total
             * still counts. */
            free(b->data);
            b->data = NULL;
            b->len = 0;
        }
    }
    b->total += n;
    pthread_mutex_unlock(&rs->live_mu);
    /* Past the cap the bytes are only counted; a plugin that keeps going
     * long after is stopped rather than left to burn the CPU. */
    if (b->total > cap * 4 + 65536)
        wf_run_kill(rs, r, WF_KILL_FLOOD, NULL);
}

void wf_run_read_output(wf_runs *rs, wf_run *r, int *fd, wf_outbuf *b, int all)
{
    char buf[65536];
    for (int i = 0; all || i < 8; i++) {
        if (*fd < 0)
            return;
        ssize_t n = read(*fd, buf, sizeof buf);
        if (n > 0) {
            keep_output(rs, r, b, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        wf_runs_unwatch(rs, fd); /* EOF or error */
        return;
    }
}

/* One message from the runner (a RUNNING or REPORTED run). */
static void handle_msg(wf_runs *rs, wf_run *r, json_t *frame)
{
    wf_bridge_msg m;
    char err[256];
    if (wf_bridge_msg_parse(frame, &m, err, sizeof err) < 0) {
        wf_run_kill(rs, r, WF_KILL_VIOLATION, err);
        return;
    }
    if (r->state == WF_RUN_REPORTED) {
        wf_run_kill(rs, r, WF_KILL_VIOLATION, "a bridge message after the run's end");
        return;
    }
    switch (m.op) {
    case WF_OP_CALL_AI:
    case WF_OP_LIST_MODELS:
        if (r->ai_pending || r->tx != NULL) {
            wf_run_kill(rs, r, WF_KILL_VIOLATION, "a second bridge request before the answer "
                                                  "to the first");
            return;
        }
        wf_run_ai_request(rs, r, &m);
        return;
    case WF_OP_DONE:
        wf_run_move(r, WF_RUN_REPORTED);
        r->done_status = strdup(m.status);
        r->done_error = m.error ? strdup(m.error) : NULL;
        r->result_json = m.result_json ? strdup(m.result_json) : NULL;
        if (r->done_status == NULL)
            wf_run_kill(rs, r, WF_KILL_VIOLATION, "out of memory");
        return;
    default:
        wf_run_kill(rs, r, WF_KILL_VIOLATION, "a bridge message a run does not send");
        return;
    }
}

void wf_run_read_bridge(wf_runs *rs, wf_run *r, int all)
{
    unsigned char buf[65536];
    char err[256];
    for (int i = 0; all || i < 8; i++) {
        if (r->proc.bridge_fd < 0)
            return;
        ssize_t n = recv(r->proc.bridge_fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            wf_runs_unwatch(rs, &r->proc.bridge_fd);
            return;
        }
        int rc = wf_bridge_rx_feed(&r->rx, buf, (size_t)n, err, sizeof err);
        json_t *msg;
        while (rc == 0 && (rc = wf_bridge_rx_next(&r->rx, &msg, err, sizeof err)) == 1) {
            handle_msg(rs, r, msg);
            json_decref(msg);
            if (r->state == WF_RUN_ENDING)
                return;
            rc = 0;
        }
        if (rc < 0) {
            wf_run_kill(rs, r, WF_KILL_VIOLATION, err);
            return;
        }
    }
}

void wf_run_write_bridge(wf_runs *rs, wf_run *r)
{
    while (r->tx != NULL && r->proc.bridge_fd >= 0) {
        ssize_t n = send(r->proc.bridge_fd, r->tx + r->tx_off, r->tx_len - r->tx_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0) {
            /* The runner is gone; its exit will be seen on the pidfd. */
            free(r->tx);
            r->tx = NULL;
            wf_runs_unwatch(rs, &r->proc.bridge_fd);
            return;
        }
        r->tx_off += (size_t)n;
        if (r->tx_off == r->tx_len) {
            free(r->tx);
            r->tx = NULL;
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &r->w_bridge};
            epoll_ctl(rs->epfd, EPOLL_CTL_MOD, r->proc.bridge_fd, &ev);
        }
    }
}
