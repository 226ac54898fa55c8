/* test_wasi_paths.c - path resolution, escapes, rights and the synthetic
 * file system, through the WASI path_* and fd_* functions. */
#include "wasi_fixture.h"

static int setup(void **state) { *state = fixture_new(NULL); return 0; }
static int teardown(void **state) { fixture_free(*state); return 0; }

static void test_open_image_file_and_read(void **state)
{
    struct fixture *f = *state;
    uint32_t fd = 0;
    assert_int_equal(open_root(f, "usr/lib/python3.11/os.py", 0, R_READ, &fd), 0);
    set_iov(f, G_IOV, 0, G_BUF, 100);
    assert_int_equal(wf_wasi_fd_read(f->h, fd, G_IOV, 1, G_OUT), 0);
    assert_int_equal(get_u32(f, G_OUT), 11);
    assert_memory_equal(f->mem.data + G_BUF, "import sys\n", 11);
    assert_int_equal(wf_wasi_fd_close(f->h, fd), 0);
}

static void test_dotdot_cannot_leave_the_root(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(open_root(f, "..", 0, R_READ, NULL), WASI_ENOTCAPABLE);
    assert_int_equal(open_root(f, "usr/../..", 0, R_READ, NULL), WASI_ENOTCAPABLE);
    assert_int_equal(open_root(f, "usr/lib/../../../etc/passwd", 0, R_READ, NULL), WASI_ENOTCAPABLE);
    assert_int_equal(open_root(f, "tmp/../usr/lib/python3.11/os.py", 0, R_READ, NULL), 0);
}

static void test_absolute_paths_refused(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(open_root(f, "/etc/passwd", 0, R_READ, NULL), WASI_ENOTCAPABLE);
    assert_int_equal(open_root(f, "/usr", 0, R_READ, NULL), WASI_ENOTCAPABLE);
}

static void test_dirfd_is_a_capability(void **state)
{
    struct fixture *f = *state;
    uint32_t d = 0;
    assert_int_equal(open_root(f, "usr/lib", WASI_O_DIRECTORY, R_READ, &d), 0);
    assert_int_equal(open_at(f, d, "python3.11/os.py", 0, R_READ, 0, NULL), 0);
    /* ".." above the descriptor's own directory is refused, even though the
     * tree goes on above it. */
    assert_int_equal(open_at(f, d, "../lib/python3.11/os.py", 0, R_READ, 0, NULL), WASI_ENOTCAPABLE);
    assert_int_equal(open_at(f, d, "link/os.py", 0, R_READ, 0, NULL), 0);
}

static void test_symlink_escape_refused(void **state)
{
    struct fixture *f = *state;
    /* usr/lib/esc -> ../../../etc */
    assert_int_equal(open_root(f, "usr/lib/esc/passwd", 0, R_READ, NULL), WASI_ENOTCAPABLE);
    assert_int_equal(open_root(f, "usr/lib/esc/", 0, R_READ, NULL), WASI_ENOTCAPABLE);
    assert_int_equal(open_root(f, "usr/lib/esc", 0, R_READ, NULL), WASI_ENOTCAPABLE);
    /* Without following, the link itself is what is opened: refused. */
    assert_int_equal(open_at(f, 3, "usr/lib/esc", 0, R_READ, 0, NULL), WASI_ELOOP);
}

static void test_symlink_loops(void **state)
{
    struct fixture *f = *state;
    uint32_t a = put_str(f, G_PATH, "b");
    uint32_t b = put_str(f, G_PATH + 100, "tmp/a");
    assert_int_equal(wf_wasi_path_symlink(f->h, G_PATH, a, 3, G_PATH + 100, b), 0);
    a = put_str(f, G_PATH, "a");
    b = put_str(f, G_PATH + 100, "tmp/b");
    assert_int_equal(wf_wasi_path_symlink(f->h, G_PATH, a, 3, G_PATH + 100, b), 0);
    assert_int_equal(open_root(f, "tmp/a", 0, R_READ, NULL), WASI_ELOOP);
    assert_int_equal(open_root(f, "tmp/a/", 0, R_READ, NULL), WASI_ELOOP);
    assert_int_equal(open_root(f, "tmp/b/x", WASI_O_CREAT, R_RW, NULL), WASI_ELOOP);
}

static void test_symlink_targets_confined(void **state)
{
    struct fixture *f = *state;
    uint32_t l = put_str(f, G_PATH + 100, "tmp/l");
    uint32_t t = put_str(f, G_PATH, "/etc");
    assert_int_equal(wf_wasi_path_symlink(f->h, G_PATH, t, 3, G_PATH + 100, l), WASI_ENOTCAPABLE);
    t = put_str(f, G_PATH, "../../etc");
    assert_int_equal(wf_wasi_path_symlink(f->h, G_PATH, t, 3, G_PATH + 100, l), WASI_ENOTCAPABLE);
    t = put_str(f, G_PATH, "../usr");
    assert_int_equal(wf_wasi_path_symlink(f->h, G_PATH, t, 3, G_PATH + 100, l), 0);
    assert_int_equal(open_root(f, "tmp/l/lib/python3.11/os.py", 0, R_READ, NULL), 0);
    /* a trailing slash follows the link and stays inside */
    assert_int_equal(open_root(f, "tmp/l/", WASI_O_DIRECTORY, R_READ, NULL), 0);
}

static void test_readonly_image(void **state)
{
    struct fixture *f = *state;
    uint32_t fd = 0;
    assert_int_equal(open_root(f, "usr/lib/python3.11/os.py", 0, R_RW, NULL), WASI_EROFS);
    assert_int_equal(open_root(f, "usr/lib/python3.11/os.py", WASI_O_TRUNC, R_READ, NULL), WASI_EROFS);
    assert_int_equal(open_root(f, "usr/new.py", WASI_O_CREAT, R_RW, NULL), WASI_EROFS);
    assert_int_equal(open_root(f, "newfile", WASI_O_CREAT, R_RW, NULL), WASI_EROFS);
    uint32_t n = put_str(f, G_PATH, "usr/lib/python3.11/os.py");
    assert_int_equal(wf_wasi_path_unlink_file(f->h, 3, G_PATH, n), WASI_EROFS);
    n = put_str(f, G_PATH, "usr/lib/python3.11/sub");
    assert_int_equal(wf_wasi_path_remove_directory(f->h, 3, G_PATH, n), WASI_EROFS);
    n = put_str(f, G_PATH, "usr/x");
    assert_int_equal(wf_wasi_path_create_directory(f->h, 3, G_PATH, n), WASI_EROFS);
    n = put_str(f, G_PATH, "tmp");
    assert_int_equal(wf_wasi_path_remove_directory(f->h, 3, G_PATH, n), WASI_EROFS);
    /* opened for reading: no write right on the descriptor */
    assert_int_equal(open_root(f, "usr/lib/python3.11/os.py", 0, R_READ, &fd), 0);
    set_iov(f, G_IOV, 0, G_BUF, 4);
    assert_int_equal(wf_wasi_fd_write(f->h, fd, G_IOV, 1, G_OUT), WASI_ENOTCAPABLE);
    assert_int_equal(wf_wasi_fd_filestat_set_size(f->h, fd, 0), WASI_ENOTCAPABLE);
}

static void test_tmp_read_write_rename_unlink(void **state)
{
    struct fixture *f = *state;
    uint32_t fd = 0;
    assert_int_equal(open_root(f, "tmp/a.txt", WASI_O_CREAT | WASI_O_EXCL, R_RW, &fd), 0);
    memcpy(f->mem.data + G_BUF, "hello", 5);
    set_iov(f, G_IOV, 0, G_BUF, 5);
    assert_int_equal(wf_wasi_fd_write(f->h, fd, G_IOV, 1, G_OUT), 0);
    assert_int_equal(get_u32(f, G_OUT), 5);
    assert_int_equal(open_root(f, "tmp/a.txt", WASI_O_CREAT | WASI_O_EXCL, R_RW, NULL), WASI_EEXIST);
    uint32_t n = put_str(f, G_PATH, "tmp/d");
    assert_int_equal(wf_wasi_path_create_directory(f->h, 3, G_PATH, n), 0);
    assert_int_equal(wf_wasi_path_create_directory(f->h, 3, G_PATH, n), WASI_EEXIST);
    uint32_t a = put_str(f, G_PATH, "tmp/a.txt"), b = put_str(f, G_PATH + 100, "tmp/d/b.txt");
    assert_int_equal(wf_wasi_path_rename(f->h, 3, G_PATH, a, 3, G_PATH + 100, b), 0);
    /* the open descriptor still reads the renamed file */
    set_iov(f, G_IOV, 0, G_BUF + 100, 10);
    assert_int_equal(wf_wasi_fd_pread(f->h, fd, G_IOV, 1, 0, G_OUT), 0);
    assert_int_equal(get_u32(f, G_OUT), 5);
    /* rmdir of a non-empty dir, unlink of a dir */
    n = put_str(f, G_PATH, "tmp/d");
    assert_int_equal(wf_wasi_path_remove_directory(f->h, 3, G_PATH, n), WASI_ENOTEMPTY);
    assert_int_equal(wf_wasi_path_unlink_file(f->h, 3, G_PATH, n), WASI_EISDIR);
    /* a directory cannot move below itself */
    a = put_str(f, G_PATH, "tmp/d");
    b = put_str(f, G_PATH + 100, "tmp/d/e");
    assert_int_equal(wf_wasi_path_rename(f->h, 3, G_PATH, a, 3, G_PATH + 100, b), WASI_EINVAL);
    n = put_str(f, G_PATH, "tmp/d/b.txt");
    assert_int_equal(wf_wasi_path_unlink_file(f->h, 3, G_PATH, n), 0);
    /* unlinked but open: still readable, freed at close */
    assert_int_equal(wf_wasi_fd_pread(f->h, fd, G_IOV, 1, 0, G_OUT), 0);
    assert_int_equal(get_u32(f, G_OUT), 5);
    assert_int_equal(wf_wasi_fd_close(f->h, fd), 0);
    n = put_str(f, G_PATH, "tmp/d");
    assert_int_equal(wf_wasi_path_remove_directory(f->h, 3, G_PATH, n), 0);
}

static void test_tmp_quotas(void **state)
{
    (void)state;
    struct wf_wasi_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.tmp_max_bytes = 4096;
    cfg.tmp_max_inodes = 3;
    struct fixture *f = fixture_new(&cfg);
    uint32_t fd = 0;
    assert_int_equal(open_root(f, "tmp/big", WASI_O_CREAT, R_RW, &fd), 0);
    assert_int_equal(wf_wasi_fd_filestat_set_size(f->h, fd, 4096), 0);
    assert_int_equal(wf_wasi_fd_filestat_set_size(f->h, fd, 4097), WASI_ENOSPC);
    set_iov(f, G_IOV, 0, G_BUF, 10);
    assert_int_equal(wf_wasi_fd_pwrite(f->h, fd, G_IOV, 1, 4090, G_OUT), WASI_ENOSPC);
    assert_int_equal(wf_wasi_fd_pwrite(f->h, fd, G_IOV, 1, UINT64_MAX - 3, G_OUT), WASI_EINVAL);
    assert_int_equal(open_root(f, "tmp/b", WASI_O_CREAT, R_RW, NULL), 0);
    assert_int_equal(open_root(f, "tmp/c", WASI_O_CREAT, R_RW, NULL), WASI_ENOSPC);
    fixture_free(f);
}

static void test_readdir_root(void **state)
{
    struct fixture *f = *state;
    uint32_t used;
    assert_int_equal(wf_wasi_fd_readdir(f->h, 3, G_BUF, 4096, 0, G_OUT), 0);
    used = get_u32(f, G_OUT);
    char names[4][8];
    int k = 0;
    for (uint32_t off = 0; off < used && k < 4; k++) {
        uint32_t nl = get_u32(f, G_BUF + off + 16);
        snprintf(names[k], sizeof(names[k]), "%.*s", (int)nl, (char *)f->mem.data + G_BUF + off + 24);
        off += 24 + nl;
    }
    assert_int_equal(k, 4);
    assert_string_equal(names[0], ".");
    assert_string_equal(names[1], "..");
    assert_string_equal(names[2], "tmp");
    assert_string_equal(names[3], "usr");
    /* a tiny buffer is filled completely: the caller knows to grow it */
    assert_int_equal(wf_wasi_fd_readdir(f->h, 3, G_BUF, 10, 0, G_OUT), 0);
    assert_int_equal(get_u32(f, G_OUT), 10);
    /* a cookie past the end gives nothing */
    assert_int_equal(wf_wasi_fd_readdir(f->h, 3, G_BUF, 4096, 99, G_OUT), 0);
    assert_int_equal(get_u32(f, G_OUT), 0);
}

static void test_path_errors(void **state)
{
    struct fixture *f = *state;
    uint32_t fd = 0;
    assert_int_equal(open_root(f, "usr/lib/python3.11/os.py/", 0, R_READ, NULL), WASI_ENOTDIR);
    assert_int_equal(open_root(f, "usr/lib/python3.11/os.py/x", 0, R_READ, NULL), WASI_ENOTDIR);
    assert_int_equal(open_root(f, "nope", 0, R_READ, NULL), WASI_ENOENT);
    assert_int_equal(open_root(f, "", 0, R_READ, NULL), WASI_ENOENT);
    assert_int_equal(open_root(f, "usr/lib/python3.11/os.py", WASI_O_DIRECTORY, R_READ, NULL), WASI_ENOTDIR);
    /* a path through a file descriptor that is not a directory */
    assert_int_equal(open_root(f, "usr/lib/python3.11/os.py", 0, R_READ, &fd), 0);
    assert_int_equal(open_at(f, fd, "x", 0, R_READ, 0, NULL), WASI_ENOTCAPABLE);
    /* a name over 255 bytes */
    char longname[300];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(open_root(f, longname, 0, R_READ, NULL), WASI_ENAMETOOLONG);
    /* an embedded NUL */
    memcpy(f->mem.data + G_PATH, "usr\0x", 5);
    assert_int_equal(wf_wasi_path_open(f->h, 3, 0, G_PATH, 5, 0, R_READ, R_READ, 0, G_OUT), WASI_EINVAL);
    /* the path runs off the end of memory */
    assert_int_equal(wf_wasi_path_open(f->h, 3, 0, FAKE_SIZE - 2, 3, 0, R_READ, R_READ, 0, G_OUT), WASI_EFAULT);
    /* bad flags */
    assert_int_equal(wf_wasi_path_open(f->h, 3, 0, G_PATH, 3, 0x100, R_READ, R_READ, 0, G_OUT), WASI_EINVAL);
}

static void test_rights_cannot_grow(void **state)
{
    struct fixture *f = *state;
    uint32_t d = 0, n;
    /* a directory handed out without create rights cannot create */
    n = put_str(f, G_PATH, "tmp");
    assert_int_equal(wf_wasi_path_open(f->h, 3, 0, G_PATH, n, WASI_O_DIRECTORY,
                                       WASI_RIGHT_PATH_OPEN | WASI_RIGHT_FD_READDIR,
                                       WASI_RIGHT_FD_READ, 0, G_OUT), 0);
    d = get_u32(f, G_OUT);
    assert_int_equal(open_at(f, d, "x", WASI_O_CREAT, WASI_RIGHT_FD_READ, 0, NULL), WASI_ENOTCAPABLE);
    n = put_str(f, G_PATH, "y");
    assert_int_equal(wf_wasi_path_create_directory(f->h, d, G_PATH, n), WASI_ENOTCAPABLE);
    /* asking for more than the inheriting rights */
    assert_int_equal(wf_wasi_path_open(f->h, d, 0, G_PATH, 1, 0, WASI_RIGHT_FD_WRITE, 0, 0, G_OUT),
                     WASI_ENOTCAPABLE);
    assert_int_equal(wf_wasi_fd_fdstat_set_rights(f->h, d, WASI_RIGHTS_ALL, 0), WASI_ENOTCAPABLE);
    assert_int_equal(wf_wasi_fd_fdstat_set_rights(f->h, d, WASI_RIGHT_PATH_OPEN, 0), 0);
    assert_int_equal(wf_wasi_fd_readdir(f->h, d, G_BUF, 100, 0, G_OUT), WASI_ENOTCAPABLE);
}

static void test_resolver_direct(void **state)
{
    struct fixture *f = *state;
    struct wf_path_result r;
    uintptr_t root = (uintptr_t)f->h->vfs.root;
    assert_int_equal(wf_path_resolve(&wf_vfs_path_ops, NULL, root, ".", 1, 1, &r), 0);
    assert_int_equal(r.namelen, 0);
    assert_int_equal(r.dir, root);
    assert_int_equal(wf_path_resolve(&wf_vfs_path_ops, NULL, root, "usr/lib/link/sub/..", 19, 1, &r), 0);
    assert_int_equal(r.namelen, 0);
    assert_int_equal(r.depth, 3);
    assert_int_equal(wf_path_resolve(&wf_vfs_path_ops, NULL, root, "usr//lib///", 11, 0, &r), 0);
    assert_string_equal(r.name, "lib");
    assert_int_equal(r.trailing_slash, 1);
    assert_int_equal(wf_path_resolve(&wf_vfs_path_ops, NULL, root, "usr/lib/link", 12, 0, &r), 0);
    assert_int_equal(r.kind, WF_VFS_SYMLINK);
    assert_int_equal(wf_path_resolve(&wf_vfs_path_ops, NULL, root, "tmp/new", 7, 0, &r), 0);
    assert_int_equal(r.exists, 0);
}

static void test_tar_refuses_dotdot(void **state)
{
    (void)state;
    uint8_t buf[512 * 4];
    memset(buf, 0, sizeof(buf));
    size_t off = tar_add(buf, 0, "../evil", '0', "x", NULL);
    struct wf_vfs_image *img = NULL;
    char err[200];
    /* vfs.h's one convention: 0 or a positive WASI errno, for the image loaders too. */
    assert_int_equal(wf_vfs_image_from_buffer(buf, off + 1024, &img, err, sizeof(err)), WASI_EINVAL);
    assert_null(img);
    memset(buf, 0, sizeof(buf));
    off = tar_add(buf, 0, "a", '0', "x", NULL);
    buf[148] = '1';   /* break the checksum */
    assert_int_equal(wf_vfs_image_from_buffer(buf, off + 1024, &img, err, sizeof(err)), WASI_EINVAL);
    assert_int_equal(wf_vfs_image_load_tar("/nonexistent/stdlib.tar", &img, err, sizeof(err)), WASI_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_image_file_and_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dotdot_cannot_leave_the_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absolute_paths_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dirfd_is_a_capability, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_escape_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_loops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_targets_confined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readonly_image, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tmp_read_write_rename_unlink, setup, teardown),
        cmocka_unit_test(test_tmp_quotas),
        cmocka_unit_test_setup_teardown(test_readdir_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rights_cannot_grow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolver_direct, setup, teardown),
        cmocka_unit_test(test_tar_refuses_dotdot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
