/* log_placeholder.c - stands in until the real logger lands; delete this
 * file in the commit that adds src/common/log.c. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void wf_log_setup(enum wf_log_level min_level, int json)
{
    (void)min_level;
    (void)json;
}

int wf_log_level_parse(const char *s)
{
    if (strcasecmp(s, "debug") == 0) return WF_LOG_DEBUG;
    if (strcasecmp(s, "info") == 0) return WF_LOG_INFO;
    if (strcasecmp(s, "warn") == 0 || strcasecmp(s, "warning") == 0) return WF_LOG_WARN;
    if (strcasecmp(s, "error") == 0) return WF_LOG_ERROR;
    return -1;
}

void wf_log(enum wf_log_level level, const char *fmt, ...)
{
    (void)level;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
