/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* images.c: images as hull keeps them: blobs in the store, layers unpacked once, records in the database */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/strv.h"
#include "image/archives.h"
#include "image/layer.h"
#include "image/manifest.h"
#include "image/reference.h"
#include "image/store.h"
#include "images.h"
#include "internal.h"

/* Layers unpacked at once: each is mostly decompression, one core's work. */
#define UNPACK_THREADS 4

int inst_read_blob(InstContext *c, const char *digest, size_t max, char **ret, size_t *ret_len, Error **err)
{
        ImgStore *store;
        int r = inst_context_store(c, &store, err);

        return r < 0 ? r : img_store_read_blob(store, digest, max, ret, ret_len, err);
}

typedef struct UnpackJob {
        InstContext *c;
        int layers_fd;
        const ImgDescriptor *blob;
        const char *diff_id;
        int r;
        Error *err;
} UnpackJob;

typedef struct UnpackQueue {
        pthread_mutex_t lock;
        UnpackJob *jobs;
        size_t n, next;
        bool has_failed;
} UnpackQueue;

static void unpack_one(UnpackJob *j)
{
        _cleanup_close_ int fd = -EBADF;
        ImgLayerInfo info = {};
        const char *hex = j->diff_id + strlen("sha256:");

        /* The store was opened before the threads started; opening a blob only reads from it. */
        j->r = img_store_open_blob(j->c->store, j->blob->digest, &fd, &j->err);
        if (j->r >= 0)
                j->r = img_layer_unpack(fd, j->layers_fd, hex, j->diff_id, &info, &j->err);
        if (j->r < 0)
                j->r = error_wrap(&j->err, j->r, "layer '%.19s'", j->blob->digest);
        img_layer_info_done(&info);
}

static void *unpack_worker(void *arg)
{
        UnpackQueue *q = arg;

        for (;;) {
                UnpackJob *j = NULL;
                pthread_mutex_lock(&q->lock);
                if (!q->has_failed && q->next < q->n)
                        j = &q->jobs[q->next++];
                pthread_mutex_unlock(&q->lock);
                if (!j)
                        return NULL;
                unpack_one(j);
                if (j->r < 0) {
                        pthread_mutex_lock(&q->lock);
                        q->has_failed = true;
                        pthread_mutex_unlock(&q->lock);
                }
        }
}

/* Unpacks every layer of m whose directory is missing, several at once. */
static int unpack_layers(InstContext *c, const ImgManifest *m, const ImgConfig *cfg, Error **err)
{
        _cleanup_close_ int layers_fd = -EBADF;
        UnpackQueue q = { .lock = PTHREAD_MUTEX_INITIALIZER };
        pthread_t threads[UNPACK_THREADS];
        size_t n_threads;
        int r = 0;

        r = inst_layers_open(c, &layers_fd, err);
        if (r < 0)
                return r;
        q.jobs = xnew0(UnpackJob, m->n_layers + 1);
        for (size_t i = 0; i < m->n_layers; i++) {
                const char *hex = cfg->diff_ids[i] + strlen("sha256:");
                if (faccessat(layers_fd, hex, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                        continue;
                q.jobs[q.n++] = (UnpackJob){ c, layers_fd, &m->layers[i], cfg->diff_ids[i], 0, NULL };
        }
        n_threads = q.n < UNPACK_THREADS ? q.n : UNPACK_THREADS;
        if (n_threads == 1) {
                unpack_worker(&q);
                n_threads = 0;
        }
        for (size_t i = 0; i < n_threads; i++)
                if (pthread_create(&threads[i], NULL, unpack_worker, &q) != 0)
                        abort();
        for (size_t i = 0; i < n_threads; i++)
                pthread_join(threads[i], NULL);
        for (size_t i = 0; i < q.n; i++) {
                if (q.jobs[i].r < 0 && r == 0) {
                        r = q.jobs[i].r;
                        if (err && !*err)
                                *err = TAKE_PTR(q.jobs[i].err);
                }
                error_free(q.jobs[i].err);
        }
        free(q.jobs);
        return r;
}

/* Seconds since the epoch of an RFC 3339 time, or 0. */
static int64_t parse_time(const char *s)
{
        struct tm tm = {};

        if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
                return 0;
        return (int64_t)timegm(&tm);
}

int inst_image_load(InstContext *c, const char *manifest_digest, ImgManifest **ret_m, ImgConfig **ret_c,
                         Error **err)
{
        _cleanup_free_ char *mbuf = NULL, *cbuf = NULL;
        _cleanup_(img_manifest_freep) ImgManifest *m = NULL;
        _cleanup_(img_config_freep) ImgConfig *cfg = NULL;
        size_t mlen, clen;
        int r;

        r = inst_read_blob(c, manifest_digest, IMG_MANIFEST_MAX, &mbuf, &mlen, err);
        if (r >= 0)
                r = img_manifest_parse(mbuf, mlen, &m, err);
        if (r >= 0)
                r = inst_read_blob(c, m->config.digest, IMG_CONFIG_MAX, &cbuf, &clen, err);
        if (r >= 0)
                r = img_config_parse(cbuf, clen, &cfg, err);
        if (r >= 0)
                r = img_manifest_check_config(m, cfg, err);
        if (r < 0)
                return r;
        *ret_m = TAKE_PTR(m);
        *ret_c = TAKE_PTR(cfg);
        return 0;
}

/*
 * $root/index.json: every named image, so the store is an OCI image layout other tools can read
 * (`skopeo copy oci:$root:NAME ...`). Rewritten whole, atomically, from the records after each
 * change of names; a failure only leaves the previous index, which nothing of hull reads.
 */
static void write_store_index(InstContext *c)
{
        _cleanup_json_ json_t *index = NULL, *manifests = json_array();
        _cleanup_free_ char *text = NULL, *path = xasprintf("%s/index.json", c->root);
        InstImage **images = NULL;
        size_t n = 0;

        if (inst_db_image_list(c->db, &images, &n, NULL) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *mbuf = NULL;
                _cleanup_json_ json_t *m = NULL;
                size_t mlen = 0;
                const char *type = IMG_MEDIA_OCI_MANIFEST;

                if (inst_read_blob(c, images[i]->manifest_digest, IMG_MANIFEST_MAX, &mbuf, &mlen, NULL) >= 0 &&
                    json_parse(mbuf, mlen, "manifest", &m, NULL) >= 0 &&
                    json_is_string(json_object_get(m, "mediaType")))
                        type = json_string_value(json_object_get(m, "mediaType"));
                for (char **name = images[i]->names; name && *name; name++)
                        json_array_append_new(manifests,
                                              json_pack("{s:s, s:s, s:I, s:{s:s}}", "mediaType", type, "digest",
                                                        images[i]->manifest_digest, "size", (json_int_t)mlen,
                                                        "annotations", "org.opencontainers.image.ref.name", *name));
                inst_image_free(images[i]);
        }
        free(images);
        index = json_pack("{s:i, s:s, s:O}", "schemaVersion", 2, "mediaType", IMG_MEDIA_OCI_INDEX, "manifests",
                          manifests);
        text = json_dumps(index, JSON_INDENT(2));
        if (write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0644, NULL) < 0)
                log_debug("write the store's index.json failed, ignoring");
}

/* Ends a transaction that changed images or names (r: how it went so far): commits, or rolls back
 * on failure; after a commit the store's index.json follows the records. */
static int commit_images(InstContext *c, int r, Error **err)
{
        r = inst_db_end(c->db, r, err);
        if (r < 0)
                return r;
        write_store_index(c);
        return 0;
}

int inst_image_install(InstContext *c, const char *top_digest, const char *manifest_digest, const char *name,
                       InstImage **ret, Error **err)
{
        _cleanup_(img_manifest_freep) ImgManifest *m = NULL;
        _cleanup_(img_config_freep) ImgConfig *cfg = NULL;
        _cleanup_(inst_image_freep) InstImage *img = xnew0(InstImage, 1);
        ImgStore *store;
        int r;

        r = inst_context_store(c, &store, err);
        if (r < 0)
                return r;
        r = inst_image_load(c, manifest_digest, &m, &cfg, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < m->n_layers; i++) {
                r = img_layer_compression(m->layers[i].media_type, err);
                if (r < 0)
                        return error_wrap(err, r, "layer %zu", i);
        }
        /* Files first: the records below name only layers that are complete on disk. */
        r = unpack_layers(c, m, cfg, err);
        if (r < 0)
                return r;

        img->id = xstrdup(m->config.digest + strlen("sha256:"));
        img->digest = xstrdup(top_digest ? top_digest : manifest_digest);
        img->manifest_digest = xstrdup(manifest_digest);
        img->config_digest = xstrdup(m->config.digest);
        img->layers = strv_copy(cfg->diff_ids);
        if (!img->layers)
                img->layers = xnew0(char *, 1);
        for (size_t i = 0; i < m->n_layers; i++)
                img->size += m->layers[i].size;
        img->created = parse_time(cfg->created);
        if (img->created == 0)
                img->created = time(NULL);

        r = inst_db_begin(c->db, err);
        if (r < 0)
                return r;
        for (size_t i = 0; r >= 0 && i < m->n_layers; i++)
                r = inst_db_layer_put(c->db, cfg->diff_ids[i], m->layers[i].digest, m->layers[i].size, err);
        if (r >= 0)
                r = inst_db_image_put(c->db, img, err);
        if (r >= 0 && name)
                r = inst_db_tag_set(c->db, name, img->id, err);
        r = commit_images(c, r, err);
        if (r < 0)
                return r;
        if (ret) {
                inst_image_freep(&img);
                return inst_db_image_find(c->db, manifest_digest, ret, err);
        }
        return 0;
}

int inst_image_canonical_name(const char *ref, char **ret, Error **err)
{
        _cleanup_(img_reference_freep) ImgReference *r = NULL;
        int k = img_reference_parse(ref, &r, err);

        if (k < 0)
                return k;
        *ret = img_reference_to_string(r);
        return 0;
}

int inst_image_find(InstContext *c, const char *key, InstImage **ret, Error **err)
{
        _cleanup_free_ char *canonical = NULL;
        const char *keys[2] = { key, NULL };

        /* As typed first, then as the reference normalises; "not known" names what was typed. */
        if (inst_image_canonical_name(key, &canonical, NULL) >= 0 && strcmp(canonical, key) != 0)
                keys[1] = canonical;
        for (size_t i = 0; i < ARRAY_SIZE(keys) && keys[i]; i++) {
                _cleanup_error_ Error *e = NULL;
                int r = inst_db_image_find(c->db, keys[i], ret, &e);
                if (r == -ENOENT)
                        continue;
                if (r < 0 && err)
                        *err = TAKE_PTR(e);
                return r;
        }
        return error_setf(err, ENOENT, "image '%s' not known", key);
}

int inst_store_lock(InstContext *c, Error **err)
{
        if (c->store_lock_depth++ > 0)
                return 0;
        _cleanup_free_ char *path = xasprintf("%s/store.lock", c->root);
        int fd = lock_file(path, err);

        if (fd < 0) {
                c->store_lock_depth = 0;
                return fd;
        }
        c->store_lock_fd = fd;
        return 0;
}

void inst_store_unlock(InstContext *c)
{
        if (c->store_lock_depth == 0 || --c->store_lock_depth > 0)
                return;
        close(c->store_lock_fd);
        c->store_lock_fd = -EBADF;
}

/*
 * Removes every blob and layer directory that no record names, and unpackers' leftovers. Only
 * under the store lock: every writer of blobs and layers holds it, so nothing unnamed is in use.
 */
static int collect_garbage(InstContext *c, Error **err)
{
        _cleanup_strv_ char **blobs = NULL, **known = NULL;
        _cleanup_free_ char *layers_dir = xasprintf("%s/layers", c->root),
                            *blobs_dir = xasprintf("%s/blobs/sha256", c->root);
        DIR *d;
        struct dirent *de;
        int r;

        r = inst_db_blobs_in_use(c->db, &blobs, err);
        if (r >= 0)
                r = inst_db_layers_all(c->db, &known, err);
        if (r < 0)
                return r;
        d = opendir(blobs_dir);
        while (d && (de = readdir(d))) {
                _cleanup_free_ char *digest = xasprintf("sha256:%s", de->d_name);
                if (de->d_name[0] != '.' && !strv_contains(blobs, digest))
                        unlinkat(dirfd(d), de->d_name, 0);
        }
        if (d)
                closedir(d);
        d = opendir(layers_dir);
        if (d)
                img_layer_remove_stale(dirfd(d), NULL);
        while (d && (de = readdir(d))) {
                _cleanup_free_ char *diff_id = xasprintf("sha256:%s", de->d_name);
                if (de->d_name[0] != '.' && !strv_contains(known, diff_id))
                        rm_rf_at(dirfd(d), de->d_name, NULL);
        }
        if (d)
                closedir(d);
        return 0;
}

int inst_image_collect(InstContext *c, Error **err)
{
        int r = inst_store_lock(c, err);
        if (r < 0)
                return r;
        r = collect_garbage(c, err);
        inst_store_unlock(c);
        return r;
}

/*
 * Ends a transaction that removed images (r: how it went so far): drops the records of layers no
 * image uses any more, commits, then removes the files no record names. Records first, files
 * after: a crash in between leaves files that the next collection sweeps.
 */
static int commit_and_collect(InstContext *c, int r, Error **err)
{
        _cleanup_strv_ char **unused = NULL;

        if (r >= 0)
                r = inst_db_layers_take_unused(c->db, &unused, err);
        r = commit_images(c, r, err);
        return r < 0 ? r : inst_image_collect(c, err);
}

int inst_image_remove(InstContext *c, const char *key, bool *ret_untagged, Error **err)
{
        _cleanup_(inst_image_freep) InstImage *img = NULL;
        _cleanup_free_ char *canonical = NULL;
        const char *name = NULL;
        int users, r;

        r = inst_image_find(c, key, &img, err);
        if (r < 0)
                return r;
        if (strv_contains(img->names, key))
                name = key;
        else if (inst_image_canonical_name(key, &canonical, NULL) >= 0 && strv_contains(img->names, canonical))
                name = canonical;
        *ret_untagged = false;
        r = inst_db_begin(c->db, err);
        if (r < 0)
                return r;
        if (name && strv_length(img->names) > 1) {
                r = commit_images(c, inst_db_tag_remove(c->db, name, err), err);
                *ret_untagged = r >= 0;
                return r;
        }
        users = inst_db_image_users(c->db, img->id, err);
        if (users > 0)
                r = error_setf(err, EBUSY, "image '%s' is used by %d instance%s", key, users, users > 1 ? "s" : "");
        else
                r = users;
        if (r >= 0)
                r = inst_db_image_remove(c->db, img->id, err);
        return commit_and_collect(c, r, err);
}

int inst_image_tag(InstContext *c, const char *src, const char *dst, Error **err)
{
        _cleanup_(inst_image_freep) InstImage *img = NULL;
        _cleanup_free_ char *canonical = NULL;
        int r;

        r = inst_image_find(c, src, &img, err);
        if (r < 0)
                return r;
        r = inst_image_canonical_name(dst, &canonical, err);
        if (r < 0)
                return r;
        r = inst_db_tag_set(c->db, canonical, img->id, err);
        if (r >= 0)
                write_store_index(c);
        return r;
}

int inst_image_prune(InstContext *c, Error **err)
{
        InstImage **images = NULL;
        size_t n = 0;
        int removed = 0, r;

        r = inst_db_begin(c->db, err);
        if (r < 0)
                return r;
        r = inst_db_image_list(c->db, &images, &n, err);
        if (r >= 0)
                r = inst_db_cache_clear(c->db, err);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                if (strv_length(images[i]->names) > 0)
                        continue;
                r = inst_db_image_users(c->db, images[i]->id, err);
                if (r == 0) {
                        r = inst_db_image_remove(c->db, images[i]->id, err);
                        removed++;
                }
        }
        for (size_t i = 0; i < n; i++)
                inst_image_free(images[i]);
        free(images);
        r = commit_and_collect(c, r, err);
        return r < 0 ? r : removed;
}

int inst_image_inspect(InstContext *c, const InstImage *img, json_t **ret, Error **err)
{
        _cleanup_free_ char *mbuf = NULL, *cbuf = NULL;
        _cleanup_json_ json_t *m = NULL, *cfg = NULL, *names = json_array(), *layers = json_array();
        size_t mlen, clen;
        int r;

        r = inst_read_blob(c, img->manifest_digest, IMG_MANIFEST_MAX, &mbuf, &mlen, err);
        if (r >= 0)
                r = json_parse(mbuf, mlen, "manifest", &m, err);
        if (r >= 0)
                r = inst_read_blob(c, img->config_digest, IMG_CONFIG_MAX, &cbuf, &clen, err);
        if (r >= 0)
                r = json_parse(cbuf, clen, "config", &cfg, err);
        if (r < 0)
                return r;
        for (size_t i = 0; img->names && img->names[i]; i++)
                json_array_append_new(names, json_string(img->names[i]));
        for (size_t i = 0; img->layers && img->layers[i]; i++)
                json_array_append_new(layers, json_string(img->layers[i]));
        *ret = json_pack("{s:s, s:O, s:s, s:s, s:I, s:I, s:O, s:O, s:O}", "id", img->id, "names", names, "digest",
                         img->digest, "manifest_digest", img->manifest_digest, "size", (json_int_t)img->size,
                         "created", (json_int_t)img->created, "layers", layers, "manifest", m, "config", cfg);
        return 0;
}

int inst_image_import(InstContext *c, const char *path, const char *name, char ***ret_ids, Error **err)
{
        _cleanup_strv_ char **ids = NULL;
        ImgArchiveImage *v = NULL;
        ImgStore *store;
        size_t n = 0;
        int r;

        r = inst_context_store(c, &store, err);
        if (r >= 0)
                r = inst_store_lock(c, err);
        if (r < 0)
                return r;
        r = img_archive_import(store, path, NULL, &v, &n, err);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_(inst_image_freep) InstImage *img = NULL;
                _cleanup_free_ char *canonical = NULL;
                const char *given = i == 0 && name ? name : v[i].name;

                if (given && (i == 0 && name ? true : strpbrk(given, ":/") != NULL)) {
                        r = inst_image_canonical_name(given, &canonical, err);
                        if (r < 0)
                                break;
                }
                r = inst_image_install(c, NULL, v[i].manifest_digest, canonical, &img, err);
                if (r >= 0)
                        strv_push(&ids, img->id);
        }
        img_archive_images_free(v, n);
        if (r < 0)
                collect_garbage(c, NULL); /* the store as it was: nothing of a failed import stays */
        inst_store_unlock(c);
        if (r < 0)
                return error_wrap(err, r, "import '%s'", path);
        *ret_ids = TAKE_PTR(ids);
        return 0;
}

int inst_image_export(InstContext *c, const char *key, const char *format, const char *path, Error **err)
{
        _cleanup_(inst_image_freep) InstImage *img = NULL;
        ImgArchiveFormat f;
        ImgStore *store;
        int r;

        r = img_archive_format_parse(format, &f, err);
        if (r >= 0)
                r = inst_image_find(c, key, &img, err);
        if (r >= 0)
                r = inst_context_store(c, &store, err);
        if (r < 0)
                return r;
        /* The name the user gave when it is one of the image's, else its first. */
        const char *name = img->names && img->names[0] ? img->names[0] : NULL;
        for (char **p = img->names; p && *p; p++)
                if (strcmp(*p, key) == 0)
                        name = *p;
        r = img_archive_export(store, img->manifest_digest, name, f, path, err);
        return r < 0 ? error_wrap(err, r, "export '%s'", key) : 0;
}
