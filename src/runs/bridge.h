/* bridge.h - the frame codec of the bridge between host and runner (SPEC §5).
 *
 * A frame is a 4-byte little-endian length and that many bytes of UTF-8
 * JSON holding one object. The decoder is strict: an empty or oversized
 * frame, bytes that are not JSON, JSON that is not an object, duplicate
 * keys or trailing bytes are protocol violations (WF_EPROTO / WF_ETOOBIG),
 * never guesses. Pure code: no I/O, no globals; unit-tested and fuzzed.
 *
 * Ownership: a wf_bridge_rx owns its buffer (wf_bridge_rx_clear frees it);
 * objects returned by wf_bridge_rx_next are new references for the caller;
 * buffers returned by wf_bridge_encode are malloc'd for the caller. */
#ifndef WF_RUNS_BRIDGE_H
#define WF_RUNS_BRIDGE_H

#include <jansson.h>
#include <stddef.h>

typedef struct wf_bridge_rx {
    unsigned char *buf;
    size_t len;       /* bytes buffered */
    size_t cap;
    size_t max_frame; /* largest payload accepted */
} wf_bridge_rx;

void wf_bridge_rx_init(wf_bridge_rx *rx, size_t max_frame);
void wf_bridge_rx_clear(wf_bridge_rx *rx);

/* Append bytes read from the channel. WF_ETOOBIG when the frame being
 * assembled announces more than max_frame; WF_ENOMEM. */
int wf_bridge_rx_feed(wf_bridge_rx *rx, const void *data, size_t n,
                      char *err, size_t errlen);

/* Take the next complete frame: 1 and *msg set, 0 when more bytes are
 * needed, or a negative WF_E* code with err saying what was wrong. */
int wf_bridge_rx_next(wf_bridge_rx *rx, json_t **msg, char *err, size_t errlen);

/* Parse one payload (without the length prefix) as strictly as rx_next. */
int wf_bridge_decode(const unsigned char *p, size_t n, size_t max_frame,
                     json_t **msg, char *err, size_t errlen);

/* Encode an object as one frame (prefix included) into a malloc'd buffer. */
int wf_bridge_encode(const json_t *msg, unsigned char **out, size_t *outlen);

#endif
