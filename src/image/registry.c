/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* registry.c: the distribution API: pull and push with verified, parallel blob transfers (HTTP: http.c) */
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "common/alloc.h"
#include "common/digest.h"
#include "common/fs.h"
#include "common/log.h"
#include "internal.h"
#include "manifest.h"
#include "registry.h"

#define MAX_PARALLEL_DEFAULT 6
#define CONFIG_MAX (64 * 1024 * 1024) /* a config is read into memory: refuse absurd ones */
#define DEFAULT_PLATFORM "linux/amd64"

static int read_blob(ImgStore *store, const char *digest, char **ret, size_t *ret_len, Error **err)
{
        _cleanup_close_ int fd = -EBADF;
        int k = img_store_open_blob(store, digest, &fd, err);
        if (k < 0)
                return k;
        return fd_read_all(fd, ret, ret_len, err);
}

static char *digest_of(const char *buf, size_t len)
{
        _cleanup_(digest_freep) Digest *d = digest_new();
        digest_update(d, buf, len);
        return digest_finish(d);
}

typedef struct Document {
        char *buf;
        size_t len;
        char *digest;
        const char *media_type;
} Document;

static void document_done(Document *d)
{
        free(d->buf);
        free(d->digest);
        *d = (Document){};
}

/*
 * An index or manifest by tag or digest, its digest computed and checked against expected_digest
 * (and expected_size when >= 0), then stored. One named by a digest the store holds is not fetched.
 */
static int fetch_document(ImgHttpClient *c, ImgStore *store, const char *repository, const char *object,
                          const char *expected_digest, int64_t expected_size, Document *ret, Error **err)
{
        _cleanup_(img_http_request_freep) ImgHttpRequest *r = NULL;
        _cleanup_free_ char *path = NULL;
        _cleanup_(document_done) Document d = {};
        int k;

        if (expected_digest && img_store_has(store, expected_digest)) {
                k = read_blob(store, expected_digest, &d.buf, &d.len, err);
                if (k < 0)
                        return k;
                d.digest = xstrdup(expected_digest);
                k = img_document_media_type(d.buf, d.len, NULL, &d.media_type, err);
                if (k < 0)
                        return k;
                *ret = d;
                d = (Document){};
                return 0;
        }
        path = xasprintf("/v2/%s/manifests/%s", repository, object);
        r = img_http_request_new(c, "GET", path);
        r->accept = IMG_MANIFEST_ACCEPT;
        r->max = IMG_MANIFEST_MAX;
        k = img_http_perform(c, r, err);
        if (k < 0)
                return k;
        if (r->status != 200)
                return img_http_error(r, err);
        d.len = r->len;
        d.buf = r->buf ? TAKE_PTR(r->buf) : xstrdup("");
        d.digest = digest_of(d.buf, d.len);
        if (expected_digest && strcmp(d.digest, expected_digest) != 0)
                return error_setf(err, EBADMSG, "the registry sent a document with digest %s, expected %s",
                                  d.digest, expected_digest);
        if (expected_size >= 0 && (int64_t)d.len != expected_size)
                return error_setf(err, EBADMSG, "the registry sent %zu bytes, expected %lld", d.len,
                                  (long long)expected_size);
        if (r->docker_digest && strcmp(r->docker_digest, d.digest) != 0)
                log_debug("registry '%s': Docker-Content-Digest %s, computed %s", c->registry, r->docker_digest,
                          d.digest);
        k = img_document_media_type(d.buf, d.len, r->resp_content_type, &d.media_type, err);
        if (k < 0)
                return k;
        k = img_store_put_buf(store, d.buf, d.len, d.digest, NULL, err);
        if (k < 0)
                return k;
        *ret = d;
        d = (Document){};
        return 0;
}

static ImgHttpRequest *blob_request(ImgHttpClient *c, ImgStore *store, const char *repository,
                                     const ImgDescriptor *d, const char *kind)
{
        _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/%s", repository, d->digest);
        ImgHttpRequest *r = img_http_request_new(c, "GET", path);

        r->store = store;
        r->blob_digest = xstrdup(d->digest);
        r->blob_size = d->size;
        r->total = (uint64_t)d->size;
        r->must_succeed = true;
        r->what = xasprintf("fetch %s %s", kind, d->digest);
        return r;
}

static int fetch_config(ImgHttpClient *c, ImgStore *store, const char *repository, const ImgDescriptor *d,
                        ImgPullResult *res, ImgConfig **ret, Error **err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int k;

        if (d->size > CONFIG_MAX)
                return error_setf(err, EBADMSG, "config %s: %lld bytes is too large", d->digest,
                                  (long long)d->size);
        if (img_store_has(store, d->digest)) {
                res->bytes_skipped += (uint64_t)d->size;
                res->blobs_skipped++;
        } else {
                _cleanup_(img_http_request_freep) ImgHttpRequest *r = NULL;

                r = blob_request(c, store, repository, d, "config");
                k = img_http_perform(c, r, err);
                if (k < 0)
                        return k;
                res->bytes_fetched += (uint64_t)d->size;
                res->blobs_fetched++;
        }
        k = read_blob(store, d->digest, &buf, &len, err);
        if (k < 0)
                return k;
        return img_config_parse(buf, len, ret, err);
}

static int fetch_layers(ImgHttpClient *c, ImgStore *store, const char *repository, const ImgManifest *m,
                        size_t max_parallel, ImgPullResult *res, Error **err)
{
        ImgHttpRequest **reqs = xnew0(ImgHttpRequest *, m->n_layers + 1);
        size_t n = 0;
        int k;

        for (size_t i = 0; i < m->n_layers; i++) {
                const ImgDescriptor *d = &m->layers[i];
                bool is_repeat = false;

                for (size_t j = 0; j < i; j++)
                        is_repeat = is_repeat || strcmp(m->layers[j].digest, d->digest) == 0;
                if (is_repeat || img_store_has(store, d->digest)) {
                        res->bytes_skipped += (uint64_t)d->size;
                        res->blobs_skipped++;
                        if (c->progress)
                                c->progress(c->userdata, i, (uint64_t)d->size, (uint64_t)d->size);
                        continue;
                }
                reqs[n] = blob_request(c, store, repository, d, "layer");
                reqs[n]->has_progress = true;
                reqs[n]->index = i;
                reqs[n]->reported = UINT64_MAX; /* so that 0 of total is reported first */
                n++;
        }
        k = img_http_run(c, reqs, n, max_parallel, err);
        for (size_t i = 0; i < n; i++) {
                if (k >= 0) {
                        res->bytes_fetched += reqs[i]->total;
                        res->blobs_fetched++;
                }
                img_http_request_free(reqs[i]);
        }
        free(reqs);
        return k;
}

void img_pull_result_done(ImgPullResult *r)
{
        free(r->digest);
        free(r->media_type);
        free(r->manifest_digest);
        img_manifest_free(r->manifest);
        img_config_free(r->config);
        *r = (ImgPullResult){};
}

/* From the top-level document to the image manifest for the platform, both stored. */
static int resolve_manifest(ImgHttpClient *c, ImgStore *store, const ImgReference *ref, const char *platform,
                            ImgPullResult *res, Document *ret, Error **err)
{
        _cleanup_(document_done) Document top = {};
        _cleanup_(img_index_freep) ImgIndex *index = NULL;
        const ImgDescriptor *d;
        int k;

        k = fetch_document(c, store, ref->repository, img_reference_object(ref), ref->digest, -1, &top, err);
        if (k < 0)
                return k;
        res->digest = xstrdup(top.digest);
        res->media_type = xstrdup(top.media_type);
        if (!img_media_type_is_index(top.media_type)) {
                *ret = top;
                top = (Document){};
                return 0;
        }
        k = img_index_parse(top.buf, top.len, &index, err);
        if (k < 0)
                return k;
        k = img_index_select(index, platform, &d, err);
        if (k < 0)
                return k;
        k = fetch_document(c, store, ref->repository, d->digest, d->digest, d->size, ret, err);
        if (k < 0)
                return error_wrap(err, k, "manifest %s for '%s'", d->digest, platform);
        if (!img_media_type_is_manifest(ret->media_type)) {
                document_done(ret);
                return error_setf(err, EBADMSG, "index entry %s for '%s' is not an image manifest", d->digest,
                                  platform);
        }
        return 0;
}

int img_registry_pull(ImgStore *store, const ImgReference *ref, const ImgPullOptions *o, ImgPullResult *ret,
                      Error **err)
{
        static const ImgPullOptions defaults = {};
        _cleanup_(img_pull_result_done) ImgPullResult res = {};
        _cleanup_(img_http_client_freep) ImgHttpClient *c = NULL;
        _cleanup_(document_done) Document doc = {};
        _cleanup_free_ char *name = img_reference_to_string(ref);
        int k;

        if (!o)
                o = &defaults;
        k = img_http_client_new(ref->registry, &o->remote, &c, err);
        if (k < 0)
                return error_wrap(err, k, "pull '%s'", name);
        c->scope = xasprintf("repository:%s:pull", ref->repository);
        c->progress = o->progress;
        c->userdata = o->userdata;
        k = img_http_client_ping(c, err);
        if (k >= 0)
                k = resolve_manifest(c, store, ref, o->platform ? o->platform : DEFAULT_PLATFORM, &res, &doc,
                                     err);
        if (k < 0)
                return error_wrap(err, k, "fetch manifest '%s'", name);
        res.manifest_digest = xstrdup(doc.digest);
        k = img_manifest_parse(doc.buf, doc.len, &res.manifest, err);
        if (k >= 0)
                k = fetch_config(c, store, ref->repository, &res.manifest->config, &res, &res.config, err);
        if (k >= 0)
                k = img_manifest_check_config(res.manifest, res.config, err);
        if (k >= 0)
                k = fetch_layers(c, store, ref->repository, res.manifest,
                                 o->max_parallel ? o->max_parallel : MAX_PARALLEL_DEFAULT, &res, err);
        if (k < 0)
                return error_wrap(err, k, "pull '%s'", name);
        *ret = res;
        res = (ImgPullResult){};
        return 0;
}

/* Push. */

typedef struct Push {
        ImgHttpClient *c;
        ImgStore *store;
        const char *repository;
        const ImgPushOptions *o;
        ImgPushResult *res;
} Push;

static void push_progress(Push *p, size_t index, uint64_t size)
{
        if (p->c->progress)
                p->c->progress(p->c->userdata, index, size, size);
}

/* An upload session's URL from a Location header, which may be relative. */
static char *upload_url(ImgHttpClient *c, const char *location, const char *digest)
{
        _cleanup_free_ char *url = NULL;

        if (strncmp(location, "http://", 7) == 0 || strncmp(location, "https://", 8) == 0)
                url = xstrdup(location);
        else
                url = xasprintf("%s%s%s", c->base, location[0] == '/' ? "" : "/", location);
        img_http_append_param(&url, "digest", digest);
        return TAKE_PTR(url);
}

/* Tries to mount the blob from each o->mount_from repository. 1: mounted; 0 with *ret_location
 * an upload session the registry opened instead (or NULL). */
static int try_mounts(Push *p, const ImgDescriptor *d, char **ret_location, Error **err)
{
        for (size_t i = 0; p->o->mount_from && p->o->mount_from[i]; i++) {
                const char *from = p->o->mount_from[i];
                _cleanup_(img_http_request_freep) ImgHttpRequest *r = NULL;
                _cleanup_free_ char *path = NULL;
                int k;

                if (strcmp(from, p->repository) == 0)
                        continue;
                if (*ret_location) {
                        /* Close the session a failed mount opened before asking again. */
                        _cleanup_(img_http_request_freep) ImgHttpRequest *del = NULL;

                        del = img_http_request_new(p->c, "DELETE", *ret_location);
                        (void)img_http_perform(p->c, del, NULL);
                        *ret_location = mfree(*ret_location);
                }
                path = xasprintf("/v2/%s/blobs/uploads/?mount=%s&from=%s", p->repository, d->digest, from);
                r = img_http_request_new(p->c, "POST", path);
                k = img_http_perform(p->c, r, err);
                if (k < 0)
                        return k;
                if (r->status == 201)
                        return 1;
                if (r->status != 202)
                        return img_http_error(r, err);
                if (r->location)
                        *ret_location = TAKE_PTR(r->location);
        }
        return 0;
}

static int upload_blob(Push *p, const ImgDescriptor *d, size_t index, const char *location, Error **err)
{
        _cleanup_(img_http_request_freep) ImgHttpRequest *start = NULL, *put = NULL;
        _cleanup_free_ char *url = NULL;
        struct stat st;
        int k;

        if (!location) {
                _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/uploads/", p->repository);
                start = img_http_request_new(p->c, "POST", path);
                k = img_http_perform(p->c, start, err);
                if (k < 0)
                        return k;
                if (start->status != 202)
                        return img_http_error(start, err);
                if (!start->location)
                        return error_setf(err, EPROTO, "the registry opened an upload without a Location");
                location = start->location;
        }
        url = upload_url(p->c, location, d->digest);
        put = img_http_request_new(p->c, "PUT", url);
        k = img_store_open_blob(p->store, d->digest, &put->body_fd, err);
        if (k < 0)
                return k;
        if (fstat(put->body_fd, &st) < 0)
                return error_set(err, errno, "stat blob %s", d->digest);
        put->body_size = (uint64_t)st.st_size;
        put->content_type = "application/octet-stream";
        put->must_succeed = true;
        put->has_progress = true;
        put->index = index;
        put->total = put->body_size;
        put->reported = UINT64_MAX;
        k = img_http_perform(p->c, put, err);
        if (k < 0)
                return k;
        p->res->bytes_uploaded += put->body_size;
        p->res->blobs_uploaded++;
        return 0;
}

static int push_blob(Push *p, const ImgDescriptor *d, size_t index, Error **err)
{
        _cleanup_(img_http_request_freep) ImgHttpRequest *head = NULL;
        _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/%s", p->repository, d->digest);
        _cleanup_free_ char *location = NULL;
        int k;

        if (!img_store_has(p->store, d->digest))
                return error_setf(err, ENOENT, "blob %s is not in the store", d->digest);
        head = img_http_request_new(p->c, "HEAD", path);
        k = img_http_perform(p->c, head, err);
        if (k < 0)
                return k;
        if (head->status == 200) {
                p->res->bytes_skipped += (uint64_t)d->size;
                p->res->blobs_skipped++;
                push_progress(p, index, (uint64_t)d->size);
                return 0;
        }
        if (head->status != 404)
                return img_http_error(head, err);
        k = try_mounts(p, d, &location, err);
        if (k < 0)
                return k;
        if (k > 0) {
                p->res->bytes_mounted += (uint64_t)d->size;
                p->res->blobs_mounted++;
                push_progress(p, index, (uint64_t)d->size);
                return 0;
        }
        return upload_blob(p, d, index, location, err);
}

static int put_manifest(Push *p, const Document *doc, const char *object, Error **err)
{
        _cleanup_free_ char *path = xasprintf("/v2/%s/manifests/%s", p->repository, object);
        _cleanup_(img_http_request_freep) ImgHttpRequest *r = img_http_request_new(p->c, "PUT", path);
        int k;

        r->body = doc->buf;
        r->body_len = doc->len;
        r->content_type = doc->media_type;
        k = img_http_perform(p->c, r, err);
        if (k < 0)
                return k;
        if (!img_http_is_2xx(r->status))
                return img_http_error(r, err);
        return 0;
}

/* An image manifest's blobs (layers, then config), then the manifest under object. */
static int push_image(Push *p, const Document *doc, const char *object, Error **err)
{
        _cleanup_(img_manifest_freep) ImgManifest *m = NULL;
        int k;

        k = img_manifest_parse(doc->buf, doc->len, &m, err);
        if (k < 0)
                return k;
        for (size_t i = 0; i <= m->n_layers; i++) {
                const ImgDescriptor *d = i < m->n_layers ? &m->layers[i] : &m->config;
                k = push_blob(p, d, i, err);
                if (k < 0)
                        return error_wrap(err, k, "push %s %s", i < m->n_layers ? "layer" : "config", d->digest);
        }
        k = put_manifest(p, doc, object, err);
        if (k < 0)
                return error_wrap(err, k, "push manifest %s", doc->digest);
        return 0;
}

static int load_document(ImgStore *store, const char *digest, Document *ret, Error **err)
{
        int k = read_blob(store, digest, &ret->buf, &ret->len, err);
        if (k < 0)
                return k;
        ret->digest = xstrdup(digest);
        return img_document_media_type(ret->buf, ret->len, NULL, &ret->media_type, err);
}

static int push_index(Push *p, const Document *doc, const char *object, Error **err)
{
        _cleanup_(img_index_freep) ImgIndex *index = NULL;
        int k;

        k = img_index_parse(doc->buf, doc->len, &index, err);
        if (k < 0)
                return k;
        for (size_t i = 0; i < index->n_manifests; i++) {
                _cleanup_(document_done) Document child = {};
                k = load_document(p->store, index->manifests[i].digest, &child, err);
                if (k >= 0 && !img_media_type_is_manifest(child.media_type))
                        k = error_setf(err, EOPNOTSUPP, "nested index %s", child.digest);
                if (k >= 0)
                        k = push_image(p, &child, child.digest, err);
                if (k < 0)
                        return k;
        }
        k = put_manifest(p, doc, object, err);
        if (k < 0)
                return error_wrap(err, k, "push index %s", doc->digest);
        return 0;
}

static char *push_scope(const ImgReference *ref, char *const *mount_from)
{
        char *s = xasprintf("repository:%s:pull,push", ref->repository);
        for (size_t i = 0; mount_from && mount_from[i]; i++) {
                char *t = xasprintf("%s repository:%s:pull", s, mount_from[i]);
                free(s);
                s = t;
        }
        return s;
}

int img_registry_push(ImgStore *store, const ImgReference *ref, const char *manifest_digest,
                      const ImgPushOptions *o, ImgPushResult *ret, Error **err)
{
        static const ImgPushOptions defaults = {};
        _cleanup_(img_http_client_freep) ImgHttpClient *c = NULL;
        _cleanup_(document_done) Document doc = {};
        _cleanup_free_ char *name = img_reference_to_string(ref);
        ImgPushResult res = {};
        Push p;
        int k;

        if (!o)
                o = &defaults;
        k = load_document(store, manifest_digest, &doc, err);
        if (k < 0)
                return error_wrap(err, k, "push '%s'", name);
        k = img_http_client_new(ref->registry, &o->remote, &c, err);
        if (k < 0)
                return error_wrap(err, k, "push '%s'", name);
        c->scope = push_scope(ref, o->mount_from);
        c->progress = o->progress;
        c->userdata = o->userdata;
        p = (Push){ .c = c, .store = store, .repository = ref->repository, .o = o, .res = &res };
        k = img_http_client_ping(c, err);
        if (k >= 0 && img_media_type_is_index(doc.media_type))
                k = push_index(&p, &doc, ref->tag ? ref->tag : doc.digest, err);
        else if (k >= 0)
                k = push_image(&p, &doc, ref->tag ? ref->tag : doc.digest, err);
        if (k < 0)
                return error_wrap(err, k, "push '%s'", name);
        if (ret)
                *ret = res;
        return 0;
}

int img_registry_check_login(const char *registry, const char *user, const char *password,
                             const ImgRegistryOptions *o, Error **err)
{
        ImgRegistryOptions opts = o ? *o : (ImgRegistryOptions){};
        _cleanup_(img_http_client_freep) ImgHttpClient *c = NULL;
        _cleanup_(img_http_request_freep) ImgHttpRequest *r = NULL;
        int k;

        opts.username = user;
        opts.password = password;
        opts.auth_file = NULL;
        k = img_http_client_new(registry, &opts, &c, err);
        if (k >= 0)
                k = img_http_client_ping(c, err);
        if (k < 0)
                return error_wrap(err, k, "log in to '%s'", registry);
        if (c->auth == IMG_HTTP_AUTH_NONE)
                return 0;
        /* A token request without a scope authenticates, as docker login does. */
        r = img_http_request_new(c, "GET", "/v2/");
        r->scope = "";
        k = img_http_perform(c, r, err);
        if (k >= 0 && !img_http_is_2xx(r->status))
                k = img_http_error(r, err);
        if (k < 0)
                return error_wrap(err, k, "log in to '%s'", registry);
        return 0;
}
