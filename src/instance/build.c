/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* build.c: hull build: a Containerfile's steps run in hull containers, one layer per changing step */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "build.h"
#include "bundle.h"
#include "common/alloc.h"
#include "common/digest.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/strv.h"
#include "image/containerfile.h"
#include "image/diff.h"
#include "image/layer.h"
#include "image/manifest.h"
#include "image/store.h"
#include "images.h"
#include "internal.h"
#include "runtime/container.h"
#include "storage/overlay.h"

/* Where one stage stands: its layers so far, its config, and the cache chain up to here. */
typedef struct Stage {
        ImgDescriptor *layers;
        size_t n_layers;
        ImgConfig *cfg;
        char *chain; /* hex sha256 over the base and every step so far */
} Stage;

typedef struct Build {
        InstContext *c;
        const InstBuildOptions *o;
        ImgContainerfile *cf;
        int context_fd;
        ImgIgnore *ignore;
        Stage *stages;
        size_t n_stages;
        size_t step, n_steps;
} Build;

static void stage_done(Stage *s)
{
        for (size_t i = 0; i < s->n_layers; i++)
                img_descriptor_done(&s->layers[i]);
        free(s->layers);
        img_config_free(s->cfg);
        free(s->chain);
}

static void say(const Build *b, const char *fmt, ...) _printf_(2, 3);
static void say(const Build *b, const char *fmt, ...)
{
        va_list ap;

        if (b->o->is_quiet)
                return;
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

/* chain' = sha256(chain, text) */
static void chain_add(Stage *s, const char *text)
{
        _cleanup_(digest_freep) Digest *d = digest_new();
        char *next;

        digest_update(d, s->chain, strlen(s->chain));
        digest_update(d, "\n", 1);
        digest_update(d, text, strlen(text));
        next = digest_finish(d);
        free(s->chain);
        s->chain = xstrdup(next + strlen("sha256:"));
        free(next);
}

/* Stores a JSON document as a blob; *ret_digest and *ret_size describe it. */
static int put_json(InstContext *c, json_t *j, char **ret_digest, int64_t *ret_size, Error **err)
{
        _cleanup_free_ char *text = json_dump_compact(j);
        ImgStore *store;
        int r;

        r = inst_context_store(c, &store, err);
        if (r < 0)
                return r;
        *ret_size = (int64_t)strlen(text);
        return img_store_put_buf(store, text, strlen(text), NULL, ret_digest, err);
}

/* FROM: the base image's layers and config, or nothing for scratch. */
static int stage_from(Build *b, size_t index, Stage *s, Error **err)
{
        const ImgStage *st = &b->cf->stages[index];
        _cleanup_(inst_image_freep) InstImage *img = NULL;
        _cleanup_(img_manifest_freep) ImgManifest *m = NULL;
        _cleanup_error_ Error *e = NULL;
        int r;

        if (st->base_stage >= 0) {
                const Stage *from = &b->stages[st->base_stage];
                json_t *copy = NULL;
                s->layers = xnew0(ImgDescriptor, from->n_layers + 1);
                for (size_t i = 0; i < from->n_layers; i++)
                        img_descriptor_copy(&from->layers[i], &s->layers[i]);
                s->n_layers = from->n_layers;
                r = img_config_to_json(from->cfg, &copy, err);
                if (r >= 0) {
                        _cleanup_free_ char *text = json_dump_compact(copy);
                        r = img_config_parse(text, strlen(text), &s->cfg, err);
                }
                json_decref(copy);
                s->chain = xstrdup(from->chain);
                return r;
        }
        if (strcmp(st->base, "scratch") == 0) {
                static const char empty[] = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},"
                                            "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
                s->chain = xstrdup("scratch");
                return img_config_parse(empty, strlen(empty), &s->cfg, err);
        }
        r = inst_image_find(b->c, st->base, &img, &e);
        if (r == -ENOENT) {
                InstRemoteOptions ro = { .tls_verify = b->o->tls_verify, .platform = st->platform };
                e = error_free(e);
                say(b, "pulling %s", st->base);
                r = inst_image_pull(b->c, st->base, &ro, &img, err);
        } else if (r < 0 && err) {
                *err = TAKE_PTR(e);
        }
        if (r >= 0)
                r = inst_image_load(b->c, img->manifest_digest, &m, &s->cfg, err);
        if (r < 0)
                return r;
        s->layers = xnew0(ImgDescriptor, m->n_layers + 1);
        for (size_t i = 0; i < m->n_layers; i++)
                img_descriptor_copy(&m->layers[i], &s->layers[i]);
        s->n_layers = m->n_layers;
        s->chain = xstrdup(img->id);
        /* ENV PATH=/x:$PATH needs the base image's environment. */
        return img_containerfile_expand_stage(b->cf, index, s->cfg->env, err);
}

/* Adds a layer (its blob already stored) to the stage, unpacked for the steps that follow. */
static int stage_add_layer(Build *b, Stage *s, const char *diff_id, const char *digest, int64_t size,
                           const char *media_type, Error **err)
{
        _cleanup_close_ int layers_fd = -EBADF, fd = -EBADF;
        ImgLayerInfo info = {};
        ImgDescriptor *d;
        ImgStore *store;
        int r;

        r = inst_context_store(b->c, &store, err);
        if (r >= 0)
                r = inst_layers_open(b->c, &layers_fd, err);
        if (r < 0)
                return r;
        r = img_store_open_blob(store, digest, &fd, err);
        if (r >= 0)
                r = img_layer_unpack(fd, layers_fd, diff_id + strlen("sha256:"), diff_id, &info, err);
        img_layer_info_done(&info);
        if (r < 0)
                return r;
        d = xappend(s->layers, s->n_layers);
        d->media_type = xstrdup(media_type);
        d->digest = xstrdup(digest);
        d->size = size;
        strv_push(&s->cfg->diff_ids, diff_id);
        return 0;
}

/* A history entry for a step ("RUN make"), marked empty when it made no layer. */
static void stage_history(Stage *s, const ImgInstr *in, bool is_empty)
{
        ImgHistory *h = xappend(s->cfg->history, s->cfg->n_history);
        time_t now = time(NULL);
        struct tm tm;
        char when[32];

        gmtime_r(&now, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        h->created = xstrdup(when);
        h->created_by = xasprintf("%s %s", img_instr_kind_name(in->kind), in->raw ? in->raw : "");
        h->comment = xstrdup("hull build");
        h->empty_layer = is_empty;
}

/* Writes a layer from fn into the store: a temporary file, then a verified blob. */
typedef int (*LayerWriter)(void *data, int out_fd, ImgDiffResult *ret, Error **err);

static int store_layer(Build *b, LayerWriter fn, void *data, ImgDiffResult *ret, Error **err)
{
        _cleanup_close_ int fd = -EBADF;
        ImgStore *store;
        int r;

        r = inst_context_store(b->c, &store, err);
        if (r < 0)
                return r;
        fd = open(b->c->root, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0)
                return error_set(err, errno, "temporary layer file in '%s'", b->c->root);
        r = fn(data, fd, ret, err);
        if (r < 0)
                return r;
        if (lseek(fd, 0, SEEK_SET) < 0)
                return error_set(err, errno, "rewind layer file");
        return img_store_put_fd(store, fd, ret->digest, ret->size, NULL, err);
}

typedef struct RunStep {
        int upper_fd;
} RunStep;

static int write_upper(void *data, int out_fd, ImgDiffResult *ret, Error **err)
{
        RunStep *rs = data;
        return img_diff_write(rs->upper_fd, NULL, out_fd, ret, err);
}

/* The directory names of a stage's layers, for overlay. */
static char **layer_names(const Stage *s)
{
        char **v = xnew0(char *, 1);

        for (char **p = s->cfg->diff_ids; p && *p; p++)
                strv_push(&v, *p + strlen("sha256:"));
        return v;
}

/* RUN: the command in a hull container over the stage's layers; its changes become a layer. */
static int step_run(Build *b, Stage *s, const ImgInstr *in, Error **err)
{
        _cleanup_free_ char *hex = inst_random_hex(8), *id = xasprintf("build-%s", hex), *dir = NULL, *rootfs = NULL,
                            *upper = NULL, *work = NULL, *layers_dir = xasprintf("%s/layers", b->c->root),
                            *cfg_path = NULL;
        _cleanup_strv_ char **names = layer_names(s), **env = NULL;
        _cleanup_json_ json_t *icfg = NULL;
        _cleanup_close_ int rootfs_fd = -EBADF, upper_fd = -EBADF;
        char *no_entrypoint[] = { (char *)"", NULL };
        ImgDiffResult res = {};
        RtContext *rt;
        int status = 0, r;

        dir = xasprintf("%s/build/%s", b->c->root, hex);
        rootfs = xasprintf("%s/rootfs", dir);
        upper = xasprintf("%s/upper", dir);
        work = xasprintf("%s/work", dir);
        cfg_path = xasprintf("%s/config.json", dir);
        r = mkdir_p(dir, 0700, err);
        if (r >= 0)
                r = stor_overlay_mount(layers_dir, names, upper, work, rootfs, err);
        if (r < 0)
                goto out;
        rootfs_fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rootfs_fd < 0) {
                r = error_set(err, errno, "open '%s'", rootfs);
                goto out;
        }
        env = strv_copy(in->build_env);
        r = img_config_to_json(s->cfg, &icfg, err);
        if (r < 0)
                goto out;
        InstRunSpec spec = {
                .id = id,
                .cmd = in->argv,
                .entrypoint = no_entrypoint,
                .env = env,
                .user = s->cfg->user,
                .workdir = s->cfg->working_dir,
                .is_host_network = true,
        };
        r = inst_write_bundle_config(icfg, &spec, rootfs, rootfs_fd, cfg_path, NULL, NULL, err);
        if (r >= 0)
                r = inst_context_runtime(b->c, &rt, err);
        if (r >= 0) {
                RtCreateOptions ro = { .bundle = dir };
                r = rt_container_run(rt, id, &ro, &status, err);
        }
        if (r >= 0 && status != 0)
                r = error_setf(err, EIO, "the command exited with status %d", status);
        if (r < 0)
                goto out;
        r = stor_overlay_umount(rootfs, err);
        if (r < 0)
                goto out;
        upper_fd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (upper_fd < 0) {
                r = error_set(err, errno, "open '%s'", upper);
                goto out;
        }
        RunStep rs = { upper_fd };
        r = store_layer(b, write_upper, &rs, &res, err);
        if (r >= 0)
                r = stage_add_layer(b, s, res.diff_id, res.digest, res.size, res.media_type, err);
        if (r >= 0) {
                InstCacheEntry e = { res.diff_id, res.digest, res.size, (char *)res.media_type };
                inst_db_cache_put(b->c->db, s->chain, &e, NULL);
        }
out:
        stor_overlay_umount(rootfs, NULL);
        rm_rf_at(AT_FDCWD, dir, NULL);
        img_diff_result_done(&res);
        return r;
}

typedef struct CopyStep {
        int src_fd;
        ImgDiffCopy *copies;
        size_t n;
        ImgDiffOptions opts;
} CopyStep;

static int write_copies(void *data, int out_fd, ImgDiffResult *ret, Error **err)
{
        CopyStep *cs = data;
        return img_diff_write_paths(cs->src_fd, cs->copies, cs->n, &cs->opts, out_fd, ret, err);
}

static bool skip_ignored(const char *path, void *userdata)
{
        return img_ignore_match(userdata, path);
}

/* A file of the stage's file system (the topmost layer that has it, never through a symlink), or NULL. */
static char *layers_read(Build *b, const Stage *s, const char *path)
{
        size_t n = strv_length(s->cfg->diff_ids);

        for (size_t i = n; i > 0; i--) {
                _cleanup_free_ char *dir = xasprintf("%s/layers/%s", b->c->root,
                                                     s->cfg->diff_ids[i - 1] + strlen("sha256:"));
                _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                _cleanup_close_ int fd = dfd < 0 ? -EBADF : open_in_root(dfd, path, O_RDONLY | O_CLOEXEC, 0, 0);
                char *text = NULL;
                struct stat st;
                if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (4 << 20))
                        continue;
                if (fd_read_all(fd, &text, NULL, NULL) >= 0)
                        return text;
        }
        return NULL;
}

/* The destination of COPY/ADD: absolute, relative ones under WORKDIR. */
static char *copy_dest(const Stage *s, const char *dest)
{
        const char *wd = s->cfg->working_dir && *s->cfg->working_dir ? s->cfg->working_dir : "/";
        if (dest[0] == '/')
                return xstrdup(dest);
        return xasprintf("%s%s%s", wd, wd[strlen(wd) - 1] == '/' ? "" : "/", dest);
}

/* COPY and ADD: files of the context (or of an earlier stage) placed in a new layer. */
static int step_copy(Build *b, Stage *s, const ImgInstr *in, Error **err)
{
        _cleanup_free_ char *dest = copy_dest(s, in->dest), *mnt_dir = NULL, *mnt_root = NULL;
        _cleanup_strv_ char **paths = NULL;
        _cleanup_close_ int from_fd = -EBADF;
        CopyStep cs = { .src_fd = b->context_fd };
        ImgDiffResult res = {};
        size_t n_src = strv_length(in->args);
        bool is_dest_dir = dest[strlen(dest) - 1] == '/';
        int r = 0;

        if (in->from) {
                /* COPY --from=STAGE: that stage's file system, mounted for the copy. */
                if (in->from_stage < 0)
                        return error_setf(err, EINVAL, "COPY --from='%s': only earlier stages can be copied from",
                                          in->from);
                const Stage *from = &b->stages[in->from_stage];
                _cleanup_strv_ char **names = layer_names(from);
                _cleanup_free_ char *layers_dir = xasprintf("%s/layers", b->c->root), *up = NULL, *wk = NULL,
                                    *hex = inst_random_hex(8);
                mnt_dir = xasprintf("%s/build/%s", b->c->root, hex);
                mnt_root = xasprintf("%s/rootfs", mnt_dir);
                up = xasprintf("%s/upper", mnt_dir);
                wk = xasprintf("%s/work", mnt_dir);
                r = stor_overlay_mount(layers_dir, names, up, wk, mnt_root, err);
                if (r < 0)
                        goto out;
                from_fd = open(mnt_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (from_fd < 0) {
                        r = error_set(err, errno, "open '%s'", mnt_root);
                        goto out;
                }
                cs.src_fd = from_fd;
        } else {
                cs.opts.is_skipped = skip_ignored;
                cs.opts.userdata = b->ignore;
        }
        for (size_t i = 0; i < n_src; i++) {
                _cleanup_strv_ char **m = NULL;
                if (in->from) {
                        strv_push(&paths, in->args[i][0] == '/' ? in->args[i] + 1 : in->args[i]);
                        continue;
                }
                r = img_context_resolve(b->context_fd, in->args[i], b->ignore, &m, err);
                if (r < 0)
                        goto out;
                for (char **p = m; p && *p; p++)
                        strv_push(&paths, *p);
        }
        if (strv_length(paths) > 1)
                is_dest_dir = true;
        cs.n = strv_length(paths);
        cs.copies = xnew0(ImgDiffCopy, cs.n + 1);
        for (size_t i = 0; i < cs.n; i++)
                cs.copies[i] = (ImgDiffCopy){ paths[i], dest, is_dest_dir, in->kind == IMG_INSTR_ADD };
        if (in->chown) {
                _cleanup_free_ char *passwd = layers_read(b, s, "etc/passwd"), *group = layers_read(b, s, "etc/group");
                InstUser u = {};
                /* Names are looked up in the image being built, as Docker does; numbers need no files. */
                r = inst_user_resolve(in->chown, passwd, group, &u, err);
                if (r < 0) {
                        r = error_wrap(err, r, "--chown");
                        goto out;
                }
                cs.opts.has_owner = true;
                cs.opts.uid = u.uid;
                cs.opts.gid = u.gid;
                inst_user_done(&u);
        }
        if (in->chmod) {
                char *end;
                long mode = strtol(in->chmod, &end, 8);
                if (!*in->chmod || *end || mode < 0 || mode > 07777) {
                        r = error_setf(err, EINVAL, "--chmod='%s': expected an octal mode", in->chmod);
                        goto out;
                }
                cs.opts.has_mode = true;
                cs.opts.mode = (mode_t)mode;
        }
        r = store_layer(b, write_copies, &cs, &res, err);
        if (r >= 0)
                r = stage_add_layer(b, s, res.diff_id, res.digest, res.size, res.media_type, err);
        if (r >= 0)
                chain_add(s, res.diff_id);
out:
        free(cs.copies);
        if (mnt_dir) {
                from_fd = -EBADF;
                stor_overlay_umount(mnt_root, NULL);
                rm_rf_at(AT_FDCWD, mnt_dir, NULL);
        }
        img_diff_result_done(&res);
        return r;
}

/* Replaces a strv field with a copy of v. */
static void set_strv(char ***field, char *const *v)
{
        strv_free(*field);
        *field = strv_copy(v);
}

static void set_str(char **field, const char *v)
{
        free(*field);
        *field = v ? xstrdup(v) : NULL;
}

/* Steps that change only the config. */
static void step_config(Stage *s, const ImgInstr *in)
{
        ImgConfig *cfg = s->cfg;

        switch (in->kind) {
        case IMG_INSTR_ENV:
                for (char **p = in->args; p && *p; p++)
                        strv_env_set(&cfg->env, *p);
                break;
        case IMG_INSTR_WORKDIR:
                if (in->args[0][0] == '/') {
                        set_str(&cfg->working_dir, in->args[0]);
                } else {
                        char *wd = copy_dest(s, in->args[0]);
                        free(cfg->working_dir);
                        cfg->working_dir = wd;
                }
                break;
        case IMG_INSTR_USER: set_str(&cfg->user, in->args[0]); break;
        case IMG_INSTR_CMD: set_strv(&cfg->cmd, in->argv); break;
        case IMG_INSTR_ENTRYPOINT:
                set_strv(&cfg->entrypoint, in->argv);
                /* An ENTRYPOINT resets the CMD inherited from the base, as Docker does. */
                set_strv(&cfg->cmd, NULL);
                break;
        case IMG_INSTR_EXPOSE:
                for (char **p = in->args; p && *p; p++)
                        if (!strv_contains(cfg->exposed_ports, *p))
                                strv_push(&cfg->exposed_ports, *p);
                break;
        case IMG_INSTR_LABEL:
                for (char **p = in->args; p && *p; p++) {
                        /* Later labels replace earlier ones of the same key. */
                        size_t klen = strcspn(*p, "=");
                        char **q = cfg->labels;
                        for (; q && *q; q++)
                                if (strncmp(*q, *p, klen) == 0 && (*q)[klen] == '=')
                                        break;
                        if (q && *q) {
                                free(*q);
                                *q = xstrdup(*p);
                        } else {
                                strv_push(&cfg->labels, *p);
                        }
                }
                break;
        case IMG_INSTR_STOPSIGNAL: set_str(&cfg->stop_signal, in->args[0]); break;
        default: break;
        }
}

/* WORKDIR makes its directory when the image lacks it, as Docker does: a small RUN of mkdir. */
static bool workdir_exists(Build *b, const Stage *s, const char *path)
{
        for (char **p = s->cfg->diff_ids; p && *p; p++) {
                _cleanup_free_ char *dir = xasprintf("%s/layers/%s%s", b->c->root, *p + strlen("sha256:"), path);
                struct stat st;
                if (lstat(dir, &st) == 0 && S_ISDIR(st.st_mode))
                        return true;
        }
        return false;
}

/* One step, from the cache when it can be. */
static int build_step(Build *b, Stage *s, const ImgInstr *in, Error **err)
{
        InstCacheEntry e = {};
        int r;

        b->step++;
        say(b, "STEP %zu/%zu: %s %s", b->step, b->n_steps, img_instr_kind_name(in->kind), in->raw ? in->raw : "");
        switch (in->kind) {
        case IMG_INSTR_RUN:
                chain_add(s, in->canonical);
                if (!b->o->no_cache && inst_db_cache_get(b->c->db, s->chain, &e, NULL) > 0) {
                        ImgStore *store;
                        r = inst_context_store(b->c, &store, err);
                        if (r >= 0 && img_store_has(store, e.blob_digest)) {
                                say(b, "--> using cache %.12s", e.diff_id + strlen("sha256:"));
                                r = stage_add_layer(b, s, e.diff_id, e.blob_digest, e.size, e.media_type, err);
                                inst_cache_entry_done(&e);
                                if (r >= 0)
                                        stage_history(s, in, false);
                                return r;
                        }
                        inst_cache_entry_done(&e);
                }
                r = step_run(b, s, in, err);
                if (r >= 0)
                        stage_history(s, in, false);
                return r;
        case IMG_INSTR_COPY:
        case IMG_INSTR_ADD:
                r = step_copy(b, s, in, err);
                if (r >= 0)
                        stage_history(s, in, false);
                return r;
        case IMG_INSTR_WORKDIR:
                step_config(s, in);
                chain_add(s, in->canonical);
                if (s->n_layers > 0 && !workdir_exists(b, s, s->cfg->working_dir)) {
                        ImgInstr mk = *in;
                        char *argv[] = { (char *)"/bin/mkdir", (char *)"-p", s->cfg->working_dir, NULL };
                        mk.argv = argv;
                        r = step_run(b, s, &mk, err);
                        if (r < 0)
                                return r;
                }
                stage_history(s, in, true);
                return 0;
        default:
                step_config(s, in);
                chain_add(s, in->canonical);
                stage_history(s, in, true);
                return 0;
        }
}

/* The final stage as an image: config and manifest stored, then installed under the tag. */
static int build_commit(Build *b, Stage *s, InstImage **ret, Error **err)
{
        _cleanup_json_ json_t *cj = NULL, *mj = NULL;
        _cleanup_free_ char *cdigest = NULL, *mdigest = NULL, *name = NULL;
        ImgManifest m = { .layers = s->layers, .n_layers = s->n_layers };
        time_t now = time(NULL);
        struct tm tm;
        char when[32];
        int64_t csize, msize;
        int r;

        gmtime_r(&now, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        set_str(&s->cfg->created, when);
        r = img_config_to_json(s->cfg, &cj, err);
        if (r >= 0)
                r = put_json(b->c, cj, &cdigest, &csize, err);
        if (r < 0)
                return r;
        m.config = (ImgDescriptor){ .media_type = (char *)IMG_MEDIA_OCI_CONFIG, .digest = cdigest, .size = csize };
        r = img_manifest_to_json(&m, &mj, err);
        if (r >= 0)
                r = put_json(b->c, mj, &mdigest, &msize, err);
        if (r < 0)
                return r;
        if (b->o->tag) {
                r = inst_image_canonical_name(b->o->tag, &name, err);
                if (r < 0)
                        return r;
        }
        return inst_image_install(b->c, NULL, mdigest, name, ret, err);
}

int inst_build(InstContext *c, const InstBuildOptions *o, InstImage **ret, Error **err)
{
        _cleanup_(img_containerfile_freep) ImgContainerfile *cf = NULL;
        _cleanup_(img_ignore_freep) ImgIgnore *ignore = NULL;
        _cleanup_free_ char *text = NULL, *file = NULL, *build_dir = xasprintf("%s/build", c->root);
        _cleanup_close_ int context_fd = -EBADF;
        Build b = { .c = c, .o = o };
        size_t len;
        int r;

        if (o->tag) {
                _cleanup_free_ char *canonical = NULL;
                r = inst_image_canonical_name(o->tag, &canonical, err);
                if (r < 0)
                        return r;
        }
        context_fd = open(o->context, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (context_fd < 0)
                return error_set(err, errno, "build context '%s'", o->context);
        file = o->file ? xstrdup(o->file) : NULL;
        if (!file) {
                file = xasprintf("%s/Containerfile", o->context);
                if (access(file, F_OK) < 0) {
                        free(file);
                        file = xasprintf("%s/Dockerfile", o->context);
                }
        }
        r = read_file_at(AT_FDCWD, file, &text, &len, err);
        if (r < 0)
                return error_wrap(err, r, "Containerfile");
        r = img_containerfile_parse(text, len, o->build_args, &cf, err);
        if (r < 0)
                return r;
        if (cf->n_stages == 0)
                return error_setf(err, EINVAL, "Containerfile '%s' has no FROM", file);
        r = img_ignore_load(context_fd, &ignore, err);
        if (r < 0)
                return r;
        r = mkdir_p(build_dir, 0700, err);
        if (r >= 0)
                r = inst_store_lock(c, err);
        if (r < 0)
                return r;
        b.cf = cf;
        b.context_fd = context_fd;
        b.ignore = ignore;
        b.stages = xnew0(Stage, cf->n_stages + 1);
        for (size_t i = 0; i < cf->n_stages; i++)
                b.n_steps += 1 + cf->stages[i].n_instrs;
        for (size_t i = 0; r >= 0 && i < cf->n_stages; i++) {
                Stage *s = &b.stages[i];
                b.n_stages = i + 1;
                b.step++;
                say(&b, "STEP %zu/%zu: FROM %s", b.step, b.n_steps, cf->stages[i].base);
                r = stage_from(&b, i, s, err);
                for (size_t k = 0; r >= 0 && k < cf->stages[i].n_instrs; k++) {
                        const ImgInstr *in = &cf->stages[i].instrs[k];
                        r = build_step(&b, s, in, err);
                        if (r < 0)
                                r = error_wrap(err, r, "Containerfile line %u: %s", in->line,
                                               img_instr_kind_name(in->kind));
                }
        }
        if (r >= 0)
                r = build_commit(&b, &b.stages[cf->n_stages - 1], ret, err);
        for (size_t i = 0; i < b.n_stages; i++)
                stage_done(&b.stages[i]);
        free(b.stages);
        inst_store_unlock(c);
        return r;
}
