/* wf_error.c - error codes to text, and the error-buffer helper. */
#include "common/wf_error.h"

#include <stdarg.h>
#include <stdio.h>

const char *wf_strerror(int code)
{
    switch (code) {
    case WF_OK: return "success";
    case WF_ENOMEM: return "out of memory";
    case WF_EINVAL: return "invalid argument";
    case WF_ENOTFOUND: return "not found";
    case WF_EUNAVAIL: return "service unavailable";
    case WF_ETIMEOUT: return "timed out";
    case WF_EIO: return "input/output error";
    case WF_EFULL: return "queue full";
    case WF_ETOOBIG: return "too large";
    case WF_EPROTO: return "protocol violation";
    case WF_ECONFLICT: return "conflict";
    case WF_EINTERNAL: return "internal error";
    case WF_ENOSPC: return "no space left on the disk";
    default: return "unknown error";
    }
}

void wf_errorf(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}
