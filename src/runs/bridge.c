/* bridge.c - the bridge's frame codec: length-prefixed JSON objects, parsed
 * strictly. Everything a sandboxed plugin sends the host goes through here. */
#include "runs/bridge.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/wf_error.h"

void wf_bridge_rx_init(wf_bridge_rx *rx, size_t max_frame)
{
    memset(rx, 0, sizeof *rx);
    rx->max_frame = max_frame;
}

void wf_bridge_rx_clear(wf_bridge_rx *rx)
{
    free(rx->buf);
    rx->buf = NULL;
    rx->len = rx->cap = 0;
}

static size_t frame_length(const unsigned char *p)
{
    return (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
}

int wf_bridge_rx_feed(wf_bridge_rx *rx, const void *data, size_t n,
                      char *err, size_t errlen)
{
    if (n == 0)
        return 0;
    /* Check the announced length as soon as it is known, so that a peer
     * cannot make us buffer more than one maximal frame. */
    size_t have = rx->len + n;
    if (have >= 4) {
        unsigned char hdr[4];
        for (size_t i = 0; i < 4; i++)
            hdr[i] = i < rx->len ? rx->buf[i] : ((const unsigned char *)data)[i - rx->len];
        size_t want = frame_length(hdr);
        if (want > rx->max_frame) {
            wf_errorf(err, errlen, "bridge frame of %zu bytes is over the %zu-byte limit",
                      want, rx->max_frame);
            return WF_ETOOBIG;
        }
        if (have > 4 + want + 4 + rx->max_frame) {
            /* More than this frame and the next could hold: a peer must
             * wait for our answer before it sends again. */
            wf_errorf(err, errlen, "bridge peer sent more than one request at a time");
            return WF_EPROTO;
        }
    }
    if (have > rx->cap) {
        size_t cap = rx->cap ? rx->cap : 256;
        while (cap < have)
            cap *= 2;
        unsigned char *nb = realloc(rx->buf, cap);
        if (nb == NULL)
            return WF_ENOMEM;
        rx->buf = nb;
        rx->cap = cap;
    }
    memcpy(rx->buf + rx->len, data, n);
    rx->len = have;
    return 0;
}

int wf_bridge_decode(const unsigned char *p, size_t n, size_t max_frame,
                     json_t **msg, char *err, size_t errlen)
{
    *msg = NULL;
    if (n == 0) {
        wf_errorf(err, errlen, "empty bridge frame");
        return WF_EPROTO;
    }
    if (n > max_frame) {
        wf_errorf(err, errlen, "bridge frame of %zu bytes is over the %zu-byte limit",
                  n, max_frame);
        return WF_ETOOBIG;
    }
    json_error_t je;
    /* NUL characters inside strings are allowed here and refused where a
     * C string is needed, so that a plugin's odd prompt is a refusal, not a
     * broken protocol. */
    json_t *v = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (v == NULL) {
        wf_errorf(err, errlen, "bridge frame is not valid JSON: %s", je.text);
        return WF_EPROTO;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        wf_errorf(err, errlen, "bridge frame is not a JSON object");
        return WF_EPROTO;
    }
    *msg = v;
    return 0;
}

int wf_bridge_rx_next(wf_bridge_rx *rx, json_t **msg, char *err, size_t errlen)
{
    *msg = NULL;
    if (rx->len < 4)
        return 0;
    size_t want = frame_length(rx->buf);
    if (want > rx->max_frame) {
        wf_errorf(err, errlen, "bridge frame of %zu bytes is over the %zu-byte limit",
                  want, rx->max_frame);
        return WF_ETOOBIG;
    }
    if (rx->len - 4 < want)
        return 0;
    int rc = wf_bridge_decode(rx->buf + 4, want, rx->max_frame, msg, err, errlen);
    if (rc < 0)
        return rc;
    memmove(rx->buf, rx->buf + 4 + want, rx->len - 4 - want);
    rx->len -= 4 + want;
    return 1;
}

int wf_bridge_encode(const json_t *msg, unsigned char **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    char *s = json_dumps(msg, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (s == NULL)
        return WF_ENOMEM;
    size_t n = strlen(s);
    if (n > UINT32_MAX) {
        free(s);
        return WF_ETOOBIG;
    }
    unsigned char *b = malloc(n + 4);
    if (b == NULL) {
        free(s);
        return WF_ENOMEM;
    }
    b[0] = (unsigned char)(n & 0xff);
    b[1] = (unsigned char)((n >> 8) & 0xff);
    b[2] = (unsigned char)((n >> 16) & 0xff);
    b[3] = (unsigned char)((n >> 24) & 0xff);
    memcpy(b + 4, s, n);
    free(s);
    *out = b;
    *outlen = n + 4;
    return 0;
}
