/* check_syntax.c - wf_runs_check_syntax: compile code in a sandbox of its
 * own without running it. A small synchronous bridge client (poll on the
 * one socket, one request, one answer): the check blocks its caller
 * briefly and is no run, so it stays out of the loop and the run's life. */
#include "runs/runs.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "common/utf8.h"
#include "common/wf_error.h"
#include "runs/bridge.h"
#include "runs/policy.h"
#include "runs/supervisor_internal.h"
#include "sandbox/sandbox.h"

#define CHECK_TIMEOUT_MS 10000

int wf_runs_check_syntax(wf_runs *rs, const char *code, size_t len, int *line, int *col,
                         char *msg, size_t msglen)
{
    *line = *col = 0;
    if (rs->sb == NULL) {
        wf_errorf(msg, msglen, "the sandbox is unavailable");
        return WF_EUNAVAIL;
    }
    wf_sandbox_limits lim = wf_runs_limits(rs->cfg);
    lim.cpu_s = CHECK_TIMEOUT_MS / 1000;
    wf_sandbox_proc p;
    char err[256];
    int rc = wf_sandbox_spawn(rs->sb, &lim, &p, err, sizeof err);
    if (rc < 0) {
        wf_errorf(msg, msglen, "the sandbox could not start: %s", err);
        return WF_EUNAVAIL;
    }
    char *clean = wf_utf8_sanitize(code, len, len, NULL);
    json_t *req = clean ? json_pack("{s:s,s:s,s:I}", "op", "check", "code", clean, "max_frame",
                                    (json_int_t)65536)
                        : NULL;
    free(clean);
    unsigned char *tx = NULL;
    size_t tx_len = 0, tx_off = 0;
    if (req == NULL || wf_bridge_encode(req, &tx, &tx_len) < 0) {
        json_decref(req);
        wf_sandbox_kill(rs->sb, &p);
        wf_sandbox_exit st;
        wf_sandbox_reap(rs->sb, &p, &st);
        return WF_ENOMEM;
    }
    json_decref(req);

    wf_bridge_rx rx;
    wf_bridge_rx_init(&rx, 65536);
    rc = WF_EUNAVAIL;
    wf_errorf(msg, msglen, "the sandbox gave no answer");
    int64_t deadline = wf_runs_now_ms() + CHECK_TIMEOUT_MS;
    int answered = 0;
    while (!answered) {
        int64_t left = deadline - wf_runs_now_ms();
        if (left <= 0) {
            wf_errorf(msg, msglen, "the syntax check timed out");
            break;
        }
        struct pollfd pf = {.fd = p.bridge_fd,
                            .events = (short)(POLLIN | (tx_off < tx_len ? POLLOUT : 0))};
        int n = poll(&pf, 1, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            continue;
        if ((pf.revents & POLLOUT) && tx_off < tx_len) {
            ssize_t w = send(p.bridge_fd, tx + tx_off, tx_len - tx_off,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0)
                tx_off += (size_t)w;
            else if (w < 0 && errno != EAGAIN && errno != EINTR)
                break;
        }
        if (pf.revents & (POLLIN | POLLHUP | POLLERR)) {
            unsigned char buf[4096];
            ssize_t k = recv(p.bridge_fd, buf, sizeof buf, MSG_DONTWAIT);
            if (k < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (k <= 0)
                break;
            json_t *m = NULL;
            char perr[256];
            int fr = wf_bridge_rx_feed(&rx, buf, (size_t)k, perr, sizeof perr);
            if (fr == 0)
                fr = wf_bridge_rx_next(&rx, &m, perr, sizeof perr);
            if (fr < 0) {
                wf_errorf(msg, msglen, "the sandbox broke the protocol: %s", perr);
                break;
            }
            if (fr == 1) {
                wf_bridge_msg bm;
                if (wf_bridge_msg_parse(m, &bm, perr, sizeof perr) == 0 &&
                    bm.op == WF_OP_CHECKED) {
                    answered = 1;
                    if (bm.ok) {
                        rc = 0;
                        if (msglen)
                            msg[0] = '\0';
                    } else {
                        rc = WF_EINVAL;
                        *line = bm.line;
                        *col = bm.col;
                        wf_errorf(msg, msglen, "%s", bm.message);
                    }
                } else {
                    wf_errorf(msg, msglen, "the sandbox answered out of protocol");
                    answered = 1;
                }
                json_decref(m);
            }
        }
    }
    free(tx);
    wf_bridge_rx_clear(&rx);
    wf_sandbox_kill(rs->sb, &p);
    wf_sandbox_exit st;
    wf_sandbox_reap(rs->sb, &p, &st);
    return rc;
}
