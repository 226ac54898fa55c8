/* wf_error.h - the one error convention of WasmForge.
 *
 * Functions that can fail return 0 on success or a negative WF_E* code
 * (libuv style). Where a person needs detail, the caller passes an error
 * buffer (char *err, size_t errlen) that the callee fills with one line. */
#ifndef WF_ERROR_H
#define WF_ERROR_H

#include <stddef.h>

enum wf_error {
    WF_OK = 0,
    WF_ENOMEM = -1,      /* allocation failed */
    WF_EINVAL = -2,      /* invalid argument or input */
    WF_ENOTFOUND = -3,   /* no such plugin / run / model */
    WF_EUNAVAIL = -4,    /* a dependency (database, Ollama) is unreachable */
    WF_ETIMEOUT = -5,    /* a deadline passed */
    WF_EIO = -6,         /* I/O or system call failure */
    WF_EFULL = -7,       /* a bounded queue or quota is full */
    WF_ETOOBIG = -8,     /* input over a configured size limit */
    WF_EPROTO = -9,      /* a peer broke a protocol (bridge, Ollama answer) */
    WF_ECONFLICT = -10,  /* concurrent modification */
    WF_EINTERNAL = -11,  /* a bug: an invariant did not hold */
    WF_ENOSPC = -12,     /* a disk (the database's, or DATA_DIR) is full */
};

/* A short, static, human description of an error code. Never NULL. */
const char *wf_strerror(int code);

/* snprintf into a caller-owned error buffer; tolerates err == NULL. */
void wf_errorf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
