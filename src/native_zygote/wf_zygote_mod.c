/* wf_zygote_mod.c - _wf_zygote, the CPython module of the native sandbox's
 * zygote: serve(control_fd, filter, drop_to_nobody, user_ns) forks runs.
 *
 * Loaded by src/engine/zygote.py into the host's /usr/bin/python3, in the
 * zygote that the server started in namespaces on the read-only view. The
 * fork/reap loop is sandbox/zygote_serve.c's; what is ours is each child's
 * set-up (sandbox/native_child.c's steps, without an exec): its own mount
 * namespace and /tmp, descriptors 0-3, rlimits, user, seccomp. Built
 * without sanitizers (Debian's python3 is not), see mk/nzyg.mk. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <linux/filter.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox/native.h"
#include "sandbox/zygote_serve.h"

/* Only the fields a run's confinement reads: user, namespaces, filter. */
static wf_native_plan plan;
static int served;

static void child_setup(void *ctx, const struct wf_zygote_req *req, const int fds[3],
                        int report_fd, pid_t zygote)
{
    (void)ctx;
    wf_native_spawn sp;
    memset(&sp, 0, sizeof sp);
    sp.memory_mb = (int)req->memory_mb;
    sp.cpu_s = (int)req->cpu_s;
    sp.tmp_mb = req->tmp_mb ? (int)req->tmp_mb : 16;
    sp.max_files = 64;
    sp.bridge_fd = fds[0];
    sp.out_fd = fds[1];
    sp.err_fd = fds[2];
    sp.report_fd = report_fd;
    sp.run_uid = req->run_uid ? (uid_t)req->run_uid : 65534;
    snprintf(sp.tmp_opts, sizeof sp.tmp_opts, "size=%dm,nr_inodes=4096,mode=1777", sp.tmp_mb);
    wf_native_child_tmp(&sp);
    sp.report_fd = wf_native_child_fds(&sp, 1);
    wf_native_child_confine(&plan, &sp, zygote, 0);
    close(sp.report_fd);
}

static PyObject *zy_serve(PyObject *self, PyObject *args)
{
    (void)self;
    int control_fd, drop, userns;
    Py_buffer filter;
    if (!PyArg_ParseTuple(args, "iy*pp", &control_fd, &filter, &drop, &userns))
        return NULL;
    if (served) {
        PyBuffer_Release(&filter);
        PyErr_SetString(PyExc_RuntimeError, "the zygote serves once");
        return NULL;
    }
    size_t n = (size_t)filter.len / sizeof(struct sock_filter);
    if (filter.len <= 0 || filter.len % (Py_ssize_t)sizeof(struct sock_filter) != 0 ||
        n > BPF_MAXINSNS) {
        PyBuffer_Release(&filter);
        wf_zyserve_fail(control_fd, "the seccomp program is malformed");
        PyErr_SetString(PyExc_ValueError, "malformed seccomp program");
        return NULL;
    }
    struct sock_filter *code = malloc((size_t)filter.len);
    if (code == NULL) {
        PyBuffer_Release(&filter);
        return PyErr_NoMemory();
    }
    memcpy(code, filter.buf, (size_t)filter.len);
    PyBuffer_Release(&filter);
    served = 1;
    plan.seccomp.filter = code;
    plan.seccomp.len = (unsigned short)n;
    plan.drop_to_nobody = drop;
    plan.ns_flags = userns ? CLONE_NEWUSER : 0;

    /* Returns only in a run's child, confined. */
    wf_zyserve_run(control_fd, 0, child_setup, NULL);
    PyOS_AfterFork_Child();
    Py_RETURN_NONE;
}

static PyMethodDef zy_methods[] = {
    {"serve", zy_serve, METH_VARARGS,
     "serve(control_fd, filter, drop_to_nobody, user_ns): fork runs; returns in each."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef zy_module = {
    PyModuleDef_HEAD_INIT, "_wf_zygote", "The native sandbox's zygote.", -1, zy_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__wf_zygote(void);
PyMODINIT_FUNC PyInit__wf_zygote(void)
{
    return PyModule_Create(&zy_module);
}
