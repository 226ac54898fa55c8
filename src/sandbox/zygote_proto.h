/* zygote_proto.h - the control protocol between the server (sandbox/wasm.c)
 * and the WebAssembly engine's zygote (src/engine/), over one SOCK_SEQPACKET.
 *
 * Server -> zygote, one message per run: a wf_zygote_req and, by SCM_RIGHTS,
 * exactly WF_ZYGOTE_NFDS descriptors in this order: the bridge (the run's end
 * of a stream socketpair), stdout (a pipe's write end), stderr (same), and the
 * status pipe's write end. The zygote forks; the child keeps the first three
 * (renumbered to WF_ZYGOTE_HOSTFD_*), the zygote keeps the status pipe.
 *
 * Zygote -> server, one answer per request: a wf_zygote_reply, with the
 * child's pidfd by SCM_RIGHTS when ok. When the zygote has reaped the child
 * it writes one wf_zygote_status to the status pipe and closes it, so a
 * status pipe that ends without one means the zygote itself died.
 *
 * At start the zygote sends one wf_zygote_reply with pid 0: ok = 1 when
 * Python is initialised and waiting, else ok = 0 and msg says why. */
#ifndef WF_ZYGOTE_PROTO_H
#define WF_ZYGOTE_PROTO_H

#include <stdint.h>

#define WF_ZYGOTE_MAGIC 0x57465a31u /* "WFZ1" */
#define WF_ZYGOTE_NFDS 4

/* The engine's control socket is this descriptor when it is exec'd. */
#define WF_ZYGOTE_CONTROL_FD 3

/* Host descriptors a run's child holds (everything else is closed). */
#define WF_ZYGOTE_HOSTFD_BRIDGE 100
#define WF_ZYGOTE_HOSTFD_STDOUT 101
#define WF_ZYGOTE_HOSTFD_STDERR 102

/* Guest descriptors: the bridge the runner is told, the control hook the
 * zygote's Python blocks on, and the hook through which a run's runner hands
 * the host the bytes of its stdin (the input and a newline, once per run:
 * sdk/runner.py). Kept apart from the preopen ("/" at 3): wasi-libc scans
 * preopens from 3 up to the first free number. */
#define WF_ZYGOTE_GUESTFD_BRIDGE 10
#define WF_ZYGOTE_GUESTFD_CONTROL 11
#define WF_ZYGOTE_GUESTFD_STDIN 12

struct wf_zygote_req {
    uint32_t magic;
    uint32_t memory_mb;  /* guest linear memory cap */
    uint32_t cpu_s;      /* RLIMIT_CPU */
    uint32_t tmp_mb;     /* the private /tmp */
    uint32_t run_uid;    /* a zygote running as root makes the run this
                            uid and gid (one per live run); 0: nobody */
};

struct wf_zygote_reply {
    uint32_t magic;
    int32_t ok;
    int32_t pid;
    char msg[244];       /* NUL-terminated; why, when not ok */
};

struct wf_zygote_status {
    uint32_t magic;
    int32_t exited;      /* 1: code valid; 0: killed by signal */
    int32_t code;
    int32_t signal;
};

#endif
