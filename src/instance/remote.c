/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* remote.c: images to and from registries: pull, push, login, and the registries setting */
#include <fcntl.h>
#include <string.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/strv.h"
#include "image/auth.h"
#include "image/reference.h"
#include "image/registry.h"
#include "image/store.h"
#include "images.h"

/* The registry options from the command's flags and $root/registries.json. */
static int remote_options(InstContext *c, const InstRemoteOptions *o, ImgRegistryOptions *ret, char ***insecure,
                          char **auth_file, Error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/registries.json", c->root), *text = NULL;
        _cleanup_json_ json_t *j = NULL;
        size_t len;
        int r;

        *insecure = NULL;
        r = read_file_at(AT_FDCWD, path, &text, &len, NULL);
        if (r >= 0) {
                r = json_parse(text, len, path, &j, err);
                if (r >= 0)
                        r = json_get_strv(j, "insecure", "registries.json", insecure, err);
                if (r < 0)
                        return r;
        }
        *auth_file = xasprintf("%s/auth.json", c->root);
        *ret = (ImgRegistryOptions){
                .tls_verify = o->tls_verify < 0 ? IMG_TLS_VERIFY_DEFAULT
                              : o->tls_verify ? IMG_TLS_VERIFY_YES
                                              : IMG_TLS_VERIFY_NO,
                .insecure_registries = *insecure,
                .auth_file = *auth_file,
                .username = o->username,
                .password = o->password,
        };
        return 0;
}

int inst_image_pull(InstContext *c, const char *ref, const InstRemoteOptions *o, InstImage **ret, Error **err)
{
        _cleanup_(img_reference_freep) ImgReference *parsed = NULL;
        _cleanup_strv_ char **insecure = NULL;
        _cleanup_free_ char *auth = NULL, *name = NULL;
        ImgPullResult res = {};
        ImgPullOptions po = { .platform = o->platform, .progress = o->progress, .userdata = o->userdata };
        ImgStore *store;
        int r;

        r = img_reference_parse(ref, &parsed, err);
        if (r < 0)
                return r;
        r = inst_context_store(c, &store, err);
        if (r >= 0)
                r = remote_options(c, o, &po.remote, &insecure, &auth, err);
        if (r < 0)
                return r;
        r = inst_store_lock(c, err);
        if (r < 0)
                return r;
        r = img_registry_pull(store, parsed, &po, &res, err);
        if (r >= 0) {
                /* A pull by digest alone records no name, as podman does. */
                name = parsed->tag ? img_reference_to_string(parsed) : NULL;
                r = inst_image_install(c, res.digest, res.manifest_digest, name, ret, err);
        }
        img_pull_result_done(&res);
        /* The store as it was: verified blobs and layers of a failed pull are not kept either. */
        if (r < 0)
                inst_image_collect(c, NULL);
        inst_store_unlock(c);
        return r < 0 ? error_wrap(err, r, "pull '%s'", ref) : 0;
}

/* Repositories of registry that hold images here, for cross-repository mounts. */
static char **same_registry_repos(InstContext *c, const ImgReference *dst)
{
        InstImage **images = NULL;
        char **repos = NULL;
        size_t n = 0;

        if (inst_db_image_list(c->db, &images, &n, NULL) < 0)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                for (char **name = images[i]->names; name && *name; name++) {
                        _cleanup_(img_reference_freep) ImgReference *r = NULL;
                        if (img_reference_parse(*name, &r, NULL) < 0 || strcmp(r->registry, dst->registry) != 0 ||
                            strcmp(r->repository, dst->repository) == 0 || strv_contains(repos, r->repository))
                                continue;
                        strv_push(&repos, r->repository);
                }
                inst_image_free(images[i]);
        }
        free(images);
        return repos;
}

int inst_image_push(InstContext *c, const char *src, const char *dst, const InstRemoteOptions *o,
                    char **ret_digest, Error **err)
{
        _cleanup_(inst_image_freep) InstImage *img = NULL;
        _cleanup_(img_reference_freep) ImgReference *parsed = NULL;
        _cleanup_strv_ char **insecure = NULL, **mount_from = NULL;
        _cleanup_free_ char *auth = NULL;
        ImgPushOptions po = { .progress = o->progress, .userdata = o->userdata };
        ImgPushResult res = {};
        ImgStore *store;
        int r;

        r = inst_image_find(c, src, &img, err);
        if (r < 0)
                return r;
        r = img_reference_parse(dst ? dst : src, &parsed, err);
        if (r >= 0)
                r = inst_context_store(c, &store, err);
        if (r >= 0)
                r = remote_options(c, o, &po.remote, &insecure, &auth, err);
        if (r < 0)
                return r;
        mount_from = same_registry_repos(c, parsed);
        po.mount_from = mount_from;
        r = img_registry_push(store, parsed, img->manifest_digest, &po, &res, err);
        if (r < 0)
                return error_wrap(err, r, "push '%s'", dst ? dst : src);
        if (ret_digest)
                *ret_digest = xstrdup(img->manifest_digest);
        return 0;
}

int inst_registry_login(InstContext *c, const char *registry, const char *user, const char *password,
                        const InstRemoteOptions *o, Error **err)
{
        _cleanup_strv_ char **insecure = NULL;
        _cleanup_free_ char *auth = NULL;
        ImgRegistryOptions ro;
        int r;

        r = remote_options(c, o, &ro, &insecure, &auth, err);
        if (r >= 0)
                r = img_registry_check_login(registry, user, password, &ro, err);
        if (r >= 0)
                r = img_auth_login(auth, registry, user, password, err);
        return r < 0 ? error_wrap(err, r, "login to '%s'", registry) : 0;
}

int inst_registry_logout(InstContext *c, const char *registry, Error **err)
{
        _cleanup_free_ char *auth = xasprintf("%s/auth.json", c->root);
        return img_auth_logout(auth, registry, err);
}
