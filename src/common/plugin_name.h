/* plugin_name.h - the one rule for plugin names, shared by the HTTP layer,
 * the store and the CLI (a name is the uploaded file's name less ".py").
 *
 * A pure function over {pointer, length}: no I/O, no allocation. */
#ifndef WF_PLUGIN_NAME_H
#define WF_PLUGIN_NAME_H

#include <stddef.h>

/* ^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$ over exactly len bytes. 1 = valid.
 * When invalid and why != NULL, *why is a static reason for a person. */
int wf_plugin_name_valid(const char *s, size_t len, const char **why);

#endif
