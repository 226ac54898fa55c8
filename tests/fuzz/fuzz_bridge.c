/* fuzz_bridge.c - libFuzzer target for the bridge: arbitrary bytes from a
 * plugin, split into arbitrary reads, through the frame decoder and the
 * message checks. Nothing may crash, leak or accept a broken frame. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "runs/bridge.h"
#include "runs/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* The first byte chooses how the rest is cut into reads. */
    size_t step = (size_t)data[0] % 17 + 1;
    data++;
    size--;
    wf_bridge_rx rx;
    wf_bridge_rx_init(&rx, 4096);
    char err[256];
    char *allowed[] = {"mistral:latest", NULL};
    wf_config cfg = {.max_ai_calls = 3, .max_prompt_length = 100, .allowed_models = allowed,
                     .allowed_models_n = 1, .max_num_predict = 4096, .max_num_ctx = 8192};
    for (size_t off = 0; off < size;) {
        size_t n = size - off < step ? size - off : step;
        if (wf_bridge_rx_feed(&rx, data + off, n, err, sizeof err) < 0)
            break;
        off += n;
        json_t *m;
        int rc;
        while ((rc = wf_bridge_rx_next(&rx, &m, err, sizeof err)) == 1) {
            wf_bridge_msg msg;
            if (wf_bridge_msg_parse(m, &msg, err, sizeof err) == 0 && msg.op == WF_OP_CALL_AI) {
                wf_ai_verdict v;
                wf_ai_policy_check(&cfg, 0, &msg, &v);
                json_decref(v.options);
            }
            /* What decodes must encode again. */
            unsigned char *out;
            size_t outlen;
            if (wf_bridge_encode(m, &out, &outlen) == 0)
                free(out);
            json_decref(m);
        }
        if (rc < 0)
            break;
    }
    wf_bridge_rx_clear(&rx);
    /* The sanitiser over the raw bytes too. */
    int cut;
    char *s = wf_utf8_sanitize((const char *)data, size, size / 2, &cut);
    free(s);
    return 0;
}
