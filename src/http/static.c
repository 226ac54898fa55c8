/* static.c - the web UI's files: GET / and /assets/..., from WEB_DIR or the
 * web/ folder beside the binary. Paths are checked component by component
 * and opened below the folder's descriptor, never followed through links. */
#include "http/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

static const char not_built_html[] =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>WasmForge</title></head>"
    "<body style=\"font-family:sans-serif;max-width:40em;margin:3em auto\">"
    "<h1>WasmForge</h1><p>The server is running, but the web UI is not built "
    "(no <code>web/</code> folder beside the binary and no <code>WEB_DIR</code>).</p>"
    "<p>The API is described at <a href=\"/docs\">/docs</a> "
    "(<a href=\"/openapi.json\">openapi.json</a>); health at <a href=\"/health\">/health</a>.</p>"
    "</body></html>";

int wf_static_setup(struct wf_http *srv)
{
    char path[PATH_MAX];
    if (srv->cfg->web_dir != NULL && *srv->cfg->web_dir != '\0') {
        snprintf(path, sizeof path, "%s", srv->cfg->web_dir);
    } else {
        ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
        if (n <= 0)
            return -1;
        path[n] = '\0';
        char *slash = strrchr(path, '/');
        if (slash == NULL)
            return -1;
        snprintf(slash + 1, sizeof path - (size_t)(slash + 1 - path), "web");
    }
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        wf_log_info("web UI: %s not found; / shows a placeholder page", path);
        return -1;
    }
    srv->web_fd = fd;
    srv->web_dir = strdup(path);
    wf_log_info("web UI: serving %s", path);
    return 0;
}

void wf_static_free(struct wf_http *srv)
{
    if (srv->web_fd >= 0)
        close(srv->web_fd);
    srv->web_fd = -1;
    free(srv->web_dir);
    srv->web_dir = NULL;
}

static const char *content_type(const char *path)
{
    static const struct { const char *ext, *type; } types[] = {
        { ".html", "text/html; charset=utf-8" },
        { ".js", "text/javascript; charset=utf-8" },
        { ".mjs", "text/javascript; charset=utf-8" },
        { ".css", "text/css; charset=utf-8" },
        { ".json", "application/json" },
        { ".map", "application/json" },
        { ".svg", "image/svg+xml" },
        { ".png", "image/png" },
        { ".jpg", "image/jpeg" },
        { ".jpeg", "image/jpeg" },
        { ".gif", "image/gif" },
        { ".webp", "image/webp" },
        { ".ico", "image/x-icon" },
        { ".woff", "font/woff" },
        { ".woff2", "font/woff2" },
        { ".ttf", "font/ttf" },
        { ".txt", "text/plain; charset=utf-8" },
        { ".wasm", "application/wasm" },
        { ".webmanifest", "application/manifest+json" },
    };
    const char *dot = strrchr(path, '.');
    if (dot != NULL)
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcasecmp(dot, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

/* Only plain names: [A-Za-z0-9._-@+~] components, none starting with '.',
 * so "..", hidden files and anything odd are refused before the file
 * system is asked. */
static int safe_relative(const char *rel)
{
    if (*rel == '\0' || strlen(rel) > 512)
        return 0;
    const char *p = rel;
    while (*p) {
        if (*p == '.' || *p == '/')
            return 0; /* component starting with '.' or empty component */
        while (*p && *p != '/') {
            unsigned char ch = (unsigned char)*p;
            if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                  strchr("._-@+~", ch)))
                return 0;
            p++;
        }
        if (*p == '/')
            p++;
        if (*p == '\0' && p[-1] == '/')
            return 0;
    }
    return 1;
}

/* Open rel below dirfd one component at a time, refusing symlinks. */
static int open_beneath(int dirfd, const char *rel)
{
    char buf[520];
    snprintf(buf, sizeof buf, "%s", rel);
    int fd = dup(dirfd);
    char *save = NULL;
    char *comp = strtok_r(buf, "/", &save);
    while (fd >= 0 && comp != NULL) {
        char *next = strtok_r(NULL, "/", &save);
        int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (next ? O_DIRECTORY : 0);
        int nfd = openat(fd, comp, flags);
        close(fd);
        fd = nfd;
        comp = next;
    }
    return fd;
}

enum MHD_Result wf_static_serve(struct wf_req *rq)
{
    struct wf_http *srv = rq->srv;
    int index = strcmp(rq->url, "/") == 0;
    if (srv->web_fd < 0) {
        if (index)
            return wf_reply(rq, 200, "text/html; charset=utf-8", not_built_html,
                            sizeof not_built_html - 1, MHD_RESPMEM_PERSISTENT);
        return wf_reply_error(rq, 404, "Not Found");
    }
    const char *rel = index ? "index.html" : rq->url + 1;
    if (!safe_relative(rel))
        return wf_reply_error(rq, 404, "Not Found");
    int fd = open_beneath(srv->web_fd, rel);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return wf_reply_error(rq, 404, "Not Found");
    }

    char etag[64];
    snprintf(etag, sizeof etag, "\"%llx-%llx\"", (unsigned long long)st.st_mtime,
             (unsigned long long)st.st_size);
    const char *inm = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    struct MHD_Response *resp;
    int status;
    if (inm != NULL && strcmp(inm, etag) == 0) {
        close(fd);
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        status = 304;
    } else {
        resp = MHD_create_response_from_fd((size_t)st.st_size, fd); /* closes fd */
        if (resp == NULL)
            close(fd);
        status = 200;
    }
    if (resp != NULL) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type(rel));
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
        /* Built assets carry a content hash in their name: cache for good.
         * Anything else (index.html) is revalidated on every load. */
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                                strncmp(rel, "assets/", 7) == 0 ? "public, max-age=31536000, immutable"
                                                                : "no-cache");
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    }
    return wf_reply_response(rq, status, resp);
}
