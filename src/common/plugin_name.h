/* plugin_name.h - the one rule for plugin names, shared by the HTTP layer,
 * the store and the CLI (a name is the uploaded file's name less ".py").
 *
 * The original accepted any file name; we accept the same, less the names
 * no URL can reach or that are dangerous as a path or in a log: empty,
 * "." and "..", '/', '\', NUL and other control characters (C0, DEL, C1),
 * text that is not UTF-8, more than WF_PLUGIN_NAME_MAX characters.
 *
 * A pure function over {pointer, length}: no I/O, no allocation. */
#ifndef WF_PLUGIN_NAME_H
#define WF_PLUGIN_NAME_H

#include <stddef.h>

/* Characters (Unicode code points), and the bytes they can take in UTF-8:
 * buffers for a name hold WF_PLUGIN_NAME_MAX_BYTES + 1. */
#define WF_PLUGIN_NAME_MAX 128
#define WF_PLUGIN_NAME_MAX_BYTES (4 * WF_PLUGIN_NAME_MAX)

/* 1 when the len bytes at s are a valid plugin name. When invalid and
 * why != NULL, *why is a static reason for a person. */
int wf_plugin_name_valid(const char *s, size_t len, const char **why);

#endif
