/* vfs.h - the guest's synthetic file system: a read-only image (the standard
 * library, loaded once from a ustar archive) plus a writable in-memory /tmp.
 *
 * Nothing here touches a host file on the guest's behalf: the only host file
 * ever read is the archive, by the embedder, before the guest starts.
 * Functions return 0 or a positive WASI errno (WASI_E* from wasi_abi.h).
 *
 * Ownership: an image owns its nodes and the archive bytes; nodes of an image
 * are immutable and never reference-counted, so pages stay shared after
 * fork. A wf_vfs (one per run) owns its root and every /tmp node; a /tmp node
 * lives while a directory entry (nlink) or an open descriptor (refs) holds
 * it. */
#ifndef WF_VFS_H
#define WF_VFS_H

#include <stddef.h>
#include <stdint.h>

enum wf_vfs_type { WF_VFS_DIR = 1, WF_VFS_FILE = 2, WF_VFS_SYMLINK = 3 };

struct wf_vfs_node;

struct wf_vfs_dirent {
    char *name;
    uint32_t namelen;
    struct wf_vfs_node *node;
};

struct wf_vfs_node {
    uint8_t type;           /* enum wf_vfs_type */
    uint8_t readonly;       /* part of an image or the synthetic root */
    uint8_t owns_data;      /* data was malloc'd (else it points into the archive) */
    uint32_t nlink;         /* directory entries naming this node */
    uint32_t refs;          /* open descriptors (writable nodes only) */
    uint64_t ino;
    uint64_t atim, mtim, ctim;          /* ns since the epoch */
    struct wf_vfs_node *parent;         /* directories only; NULL at a top */
    /* file contents or symlink target */
    uint8_t *data;
    uint64_t size, cap;
    /* directory entries, in creation order */
    struct wf_vfs_dirent *ents;
    uint32_t nents, capents;
};

struct wf_vfs_image {
    struct wf_vfs_node *top;   /* a directory holding the archive's top level */
    void *archive;             /* mmap'd or malloc'd archive bytes */
    size_t archive_len;
    int archive_mapped;
    uint64_t nodes;
};

struct wf_vfs {
    struct wf_vfs_node *root;  /* read-only: the image's top entries + "tmp" */
    struct wf_vfs_node *tmp;
    uint64_t max_bytes, used_bytes;
    uint32_t max_inodes, used_inodes;
    uint64_t next_ino;
};

#define WF_VFS_NAME_MAX 255
#define WF_VFS_PATH_MAX 4096

/* Loads a ustar archive (regular files, directories, symlinks, hard links;
 * pax and GNU long names) into a read-only image. The file is mapped, not
 * copied. Entries with "..", absolute names or over-long names are refused. */
int wf_vfs_image_load_tar(const char *path, struct wf_vfs_image **out,
                          char *err, size_t errlen);
/* Same from bytes the image copies. */
int wf_vfs_image_from_buffer(const void *buf, size_t len,
                             struct wf_vfs_image **out, char *err, size_t errlen);
void wf_vfs_image_free(struct wf_vfs_image *img);

/* A run's tree: "/" (read-only) holding the image's top-level entries and a
 * writable, empty "/tmp" capped at max_bytes of data and max_inodes nodes. */
int wf_vfs_init(struct wf_vfs *vfs, const struct wf_vfs_image *img,
                uint64_t max_bytes, uint32_t max_inodes);
void wf_vfs_destroy(struct wf_vfs *vfs);

struct wf_vfs_node *wf_vfs_lookup(const struct wf_vfs_node *dir,
                                  const char *name, size_t len);

/* Creates name in dir (a writable directory). For symlinks, target/tlen is
 * the link's text. *out is the new node (nlink 1, refs 0). */
int wf_vfs_create(struct wf_vfs *vfs, struct wf_vfs_node *dir,
                  const char *name, size_t len, enum wf_vfs_type type,
                  const char *target, size_t tlen, struct wf_vfs_node **out);
/* Removes an entry: want_dir selects rmdir (must be an empty directory)
 * versus unlink (must not be a directory). */
int wf_vfs_remove(struct wf_vfs *vfs, struct wf_vfs_node *dir,
                  const char *name, size_t len, int want_dir);
int wf_vfs_rename(struct wf_vfs *vfs, struct wf_vfs_node *odir,
                  const char *oname, size_t olen, struct wf_vfs_node *ndir,
                  const char *nname, size_t nlen);
/* A new name for an existing non-directory node. */
int wf_vfs_link(struct wf_vfs *vfs, struct wf_vfs_node *node,
                struct wf_vfs_node *ndir, const char *nname, size_t nlen);

/* File contents. Reads past the end return 0 bytes. */
size_t wf_vfs_read(const struct wf_vfs_node *f, uint64_t off, void *buf,
                   size_t len);
int wf_vfs_write(struct wf_vfs *vfs, struct wf_vfs_node *f, uint64_t off,
                 const void *buf, size_t len);
int wf_vfs_truncate(struct wf_vfs *vfs, struct wf_vfs_node *f, uint64_t size);

/* Descriptor references on writable nodes (no-ops on read-only ones). */
void wf_vfs_ref(struct wf_vfs_node *n);
void wf_vfs_unref(struct wf_vfs *vfs, struct wf_vfs_node *n);

uint64_t wf_vfs_now(void);

#endif
