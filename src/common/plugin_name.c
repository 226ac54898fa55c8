/* plugin_name.c - the plugin-name rule; every layer asks this function, so
 * the HTTP API, the store and the CLI cannot disagree on a name. */
#include "common/plugin_name.h"

static int name_char(unsigned char c, int first)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')
        return 1;
    return !first && c == '-';
}

int wf_plugin_name_valid(const char *s, size_t len, const char **why)
{
    const char *reason = NULL;
    if (s == NULL || len == 0)
        reason = "the name is empty";
    else if (len > 64)
        reason = "the name is longer than 64 characters";
    else {
        for (size_t i = 0; i < len && reason == NULL; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c == '/' || c == '\\' || c == '.')
                reason = "the name must not contain '/', '\\' or '.' (no paths)";
            else if (c >= 0x80)
                reason = "the name must be ASCII";
            else if (!name_char(c, i == 0))
                reason = i == 0 && c == '-' ? "the name must not start with '-'"
                                            : "the name may only contain letters, digits, '_' and '-'";
        }
    }
    if (why != NULL)
        *why = reason;
    return reason == NULL;
}
