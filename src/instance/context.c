/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* context.c: where hull's state lives, opened once per command */
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/json.h"
#include "image/store.h"
#include "instance.h"
#include "runtime/container.h"

int inst_context_open(const char *root, const char *runroot, InstContext **ret, Error **err)
{
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        int r;

        r = inst_context_open_bare(root, runroot, &c, err);
        if (r >= 0)
                r = inst_context_open_db(c, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

int inst_context_open_db(InstContext *c, Error **err)
{
        return c->db ? 0 : inst_db_open(c->root, &c->db, err);
}

int inst_context_open_bare(const char *root, const char *runroot, InstContext **ret, Error **err)
{
        _cleanup_(inst_context_freep) InstContext *c = xnew0(InstContext, 1);
        char self[PATH_MAX];
        ssize_t n;
        int r;

        c->store_lock_fd = -EBADF;
        c->root = xstrdup(root);
        c->runroot = runroot ? xstrdup(runroot) : xasprintf("%s/run", root);
        r = mkdir_p(c->root, 0700, err);
        if (r >= 0)
                r = mkdir_p(c->runroot, 0700, err);
        if (r < 0)
                return error_wrap(err, r, "state root");
        n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n > 0) {
                self[n] = '\0';
                c->self_exe = xstrdup(self);
        }
        *ret = TAKE_PTR(c);
        return 0;
}

void inst_context_forget_bundle(InstContext *c)
{
        c->bundle_id = mfree(c->bundle_id);
        c->bundle_config = json_decref_null(c->bundle_config);
        c->bundle_text = mfree(c->bundle_text);
}

InstContext *inst_context_free(InstContext *c)
{
        if (!c)
                return NULL;
        if (c->store_lock_fd >= 0)
                close(c->store_lock_fd);
        inst_db_close(c->db);
        img_store_free(c->store);
        rt_context_free(c->rt);
        free(c->root);
        free(c->runroot);
        free(c->self_exe);
        inst_context_forget_bundle(c);
        free(c);
        return NULL;
}

int inst_context_store(InstContext *c, ImgStore **ret, Error **err)
{
        if (!c->store) {
                int r = img_store_open(c->root, &c->store, err);
                if (r < 0)
                        return r;
        }
        *ret = c->store;
        return 0;
}

int inst_context_runtime(InstContext *c, RtContext **ret, Error **err)
{
        if (!c->rt) {
                _cleanup_free_ char *dir = xasprintf("%s/oci", c->runroot);
                int r = rt_context_open(dir, false, &c->rt, err);
                if (r < 0)
                        return r;
        }
        *ret = c->rt;
        return 0;
}

char *inst_dir(const InstContext *c, const char *id)
{
        return xasprintf("%s/instances/%s", c->root, id);
}

char *inst_path(const InstContext *c, const char *id, const char *file)
{
        return xasprintf("%s/instances/%s/%s", c->root, id, file);
}
