/* plugin_name.c - the plugin-name rule; every layer asks this function, so
 * the HTTP API, the store and the CLI cannot disagree on a name. */
#include "common/plugin_name.h"

#include <string.h>

#include "common/utf8.h"

int wf_plugin_name_valid(const char *s, size_t len, const char **why)
{
    const char *reason = NULL;
    if (s == NULL || len == 0)
        reason = "the name is empty";
    else if (!wf_utf8_valid(s, len))
        reason = "the name must be UTF-8 text";
    else if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
        reason = "the name must not be '.' or '..'";
    else if (wf_utf8_chars(s, len) > WF_PLUGIN_NAME_MAX)
        reason = "the name is longer than 128 characters";
    else {
        const unsigned char *p = (const unsigned char *)s;
        for (size_t i = 0; i < len && reason == NULL; i++) {
            /* C1 controls (U+0080..U+009F) are 0xC2 0x80..0x9F in UTF-8. */
            int c1 = p[i] == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f;
            if (p[i] == '/' || p[i] == '\\')
                reason = "the name must not contain '/' or '\\' (no paths)";
            else if (p[i] < 0x20 || p[i] == 0x7f || c1)
                reason = "the name must not contain control characters";
        }
    }
    if (why != NULL)
        *why = reason;
    return reason == NULL;
}
