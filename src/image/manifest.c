/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* manifest.c: image indexes, manifests and configs: untrusted JSON in, typed and checked structs out */
#include <stdarg.h>
#include <string.h>

#include "common/alloc.h"
#include "common/digest.h"
#include "common/json.h"
#include "common/strv.h"
#include "manifest.h"

/* Every problem with a document is EBADMSG. `where` is a prefix such as "manifest: layers[1]." that
 * the field name follows. */
_printf_(2, 3) static int bad(Error **err, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        msg = xvasprintf(fmt, ap);
        va_end(ap);
        return error_setf(err, EBADMSG, "%s", msg);
}

/* The value of key in obj, NULL when absent or JSON null. */
static json_t *get(const json_t *obj, const char *key)
{
        json_t *v = json_object_get(obj, key);
        return json_is_null(v) ? NULL : v;
}

/* 0 when absent (an error when required), 1 with *ret a new copy when a string. */
static int get_string(const json_t *obj, const char *where, const char *key, bool is_required, char **ret,
                      Error **err)
{
        json_t *v = get(obj, key);

        if (!v)
                return is_required ? bad(err, "%s%s: missing", where, key) : 0;
        if (!json_is_string(v))
                return bad(err, "%s%s: expected a string", where, key);
        free(*ret);
        *ret = xstrdup(json_string_value(v));
        return 1;
}

static int get_strv(const json_t *obj, const char *where, const char *key, char ***ret, Error **err)
{
        _cleanup_error_ Error *e = NULL;
        int r = json_get_strv(obj, key, "", ret, &e);
        if (r < 0)
                return bad(err, "%s%s", where, e->msg);
        return r;
}

static int get_digest(const json_t *obj, const char *where, const char *key, char **ret, Error **err)
{
        _cleanup_error_ Error *e = NULL;
        int r = get_string(obj, where, key, true, ret, err);
        if (r < 0)
                return r;
        if (digest_check(*ret, &e) < 0)
                return bad(err, "%s%s: %s", where, key, e->msg);
        return 0;
}

/* Each value of an object must be a string (annotations, labels). */
static int check_string_map(const json_t *obj, const char *where, const char *key, Error **err)
{
        const char *k;
        json_t *v;

        if (!json_is_object(obj))
                return bad(err, "%s%s: expected an object", where, key);
        json_object_foreach ((json_t *)obj, k, v)
                if (!json_is_string(v))
                        return bad(err, "%s%s.%s: expected a string", where, key, k);
        return 0;
}

static int check_schema_version(const json_t *j, const char *what, Error **err)
{
        json_t *v = get(j, "schemaVersion");

        if (!v)
                return bad(err, "%s: schemaVersion: missing", what);
        if (!json_is_integer(v) || json_integer_value(v) != 2)
                return bad(err, "%s: schemaVersion: expected 2", what);
        return 0;
}

static int parse_json(const char *buf, size_t len, const char *what, json_t **ret, Error **err)
{
        _cleanup_error_ Error *e = NULL;
        json_t *j = NULL;

        if (json_parse(buf, len, what, &j, &e) < 0)
                return bad(err, "%s", e->msg);
        if (!json_is_object(j)) {
                json_decref(j);
                return bad(err, "%s: expected a JSON object", what);
        }
        *ret = j;
        return 0;
}

void img_platform_done(ImgPlatform *p)
{
        p->os = mfree(p->os);
        p->architecture = mfree(p->architecture);
        p->variant = mfree(p->variant);
}

void img_descriptor_done(ImgDescriptor *d)
{
        d->media_type = mfree(d->media_type);
        d->digest = mfree(d->digest);
        img_platform_done(&d->platform);
        d->has_platform = false;
        d->annotations = json_decref_null(d->annotations);
}

static char *strdup_null(const char *s)
{
        return s ? xstrdup(s) : NULL;
}

void img_descriptor_copy(const ImgDescriptor *src, ImgDescriptor *dst)
{
        *dst = (ImgDescriptor){
                .media_type = strdup_null(src->media_type),
                .digest = strdup_null(src->digest),
                .size = src->size,
                .has_platform = src->has_platform,
                .platform.os = strdup_null(src->platform.os),
                .platform.architecture = strdup_null(src->platform.architecture),
                .platform.variant = strdup_null(src->platform.variant),
                .annotations = src->annotations ? json_deep_copy(src->annotations) : NULL,
        };
}

static int descriptor_parse(const json_t *j, const char *where, ImgDescriptor *d, Error **err)
{
        json_t *v;
        int r;

        if (!json_is_object(j))
                return bad(err, "%s: expected an object", where);
        _cleanup_free_ char *w = xasprintf("%s.", where);
        r = get_string(j, w, "mediaType", true, &d->media_type, err);
        if (r < 0)
                return r;
        r = get_digest(j, w, "digest", &d->digest, err);
        if (r < 0)
                return r;
        v = get(j, "size");
        if (!v)
                return bad(err, "%ssize: missing", w);
        if (!json_is_integer(v) || json_integer_value(v) < 0)
                return bad(err, "%ssize: expected a non-negative integer", w);
        d->size = json_integer_value(v);
        v = get(j, "platform");
        if (v) {
                _cleanup_free_ char *pw = xasprintf("%splatform.", w);
                if (!json_is_object(v))
                        return bad(err, "%splatform: expected an object", w);
                d->has_platform = true;
                if ((r = get_string(v, pw, "os", true, &d->platform.os, err)) < 0 ||
                    (r = get_string(v, pw, "architecture", true, &d->platform.architecture, err)) < 0 ||
                    (r = get_string(v, pw, "variant", false, &d->platform.variant, err)) < 0)
                        return r;
        }
        v = get(j, "annotations");
        if (v) {
                r = check_string_map(v, w, "annotations", err);
                if (r < 0)
                        return r;
                d->annotations = json_incref(v);
        }
        return 0;
}

/* Parses arr (an array of descriptors) at key into *ret, *n. */
static int descriptors_parse(const json_t *obj, const char *what, const char *key, ImgDescriptor **ret,
                             size_t *n, Error **err)
{
        json_t *arr = get(obj, key), *e;
        size_t i;
        int r;

        if (!arr)
                return bad(err, "%s: %s: missing", what, key);
        if (!json_is_array(arr))
                return bad(err, "%s: %s: expected an array", what, key);
        json_array_foreach (arr, i, e) {
                _cleanup_free_ char *w = xasprintf("%s: %s[%zu]", what, key, i);
                ImgDescriptor *d = xappend(*ret, *n);
                r = descriptor_parse(e, w, d, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static const char *const index_types[] = { IMG_MEDIA_OCI_INDEX, IMG_MEDIA_DOCKER_LIST };
static const char *const manifest_types[] = { IMG_MEDIA_OCI_MANIFEST, IMG_MEDIA_DOCKER_MANIFEST };

static const char *find_type(const char *const *types, size_t n, const char *s, size_t len)
{
        for (size_t i = 0; i < n; i++)
                if (strlen(types[i]) == len && strncmp(types[i], s, len) == 0)
                        return types[i];
        return NULL;
}

bool img_media_type_is_index(const char *media_type)
{
        return media_type && find_type(index_types, ARRAY_SIZE(index_types), media_type, strlen(media_type));
}

bool img_media_type_is_manifest(const char *media_type)
{
        return media_type &&
               find_type(manifest_types, ARRAY_SIZE(manifest_types), media_type, strlen(media_type));
}

int img_layer_compression(const char *media_type, Error **err)
{
        static const struct {
                const char *type;
                ImgCompression c;
        } table[] = {
                { IMG_MEDIA_OCI_LAYER, IMG_COMPRESSION_NONE },
                { IMG_MEDIA_OCI_LAYER_GZIP, IMG_COMPRESSION_GZIP },
                { IMG_MEDIA_OCI_LAYER_ZSTD, IMG_COMPRESSION_ZSTD },
                { "application/vnd.oci.image.layer.nondistributable.v1.tar", IMG_COMPRESSION_NONE },
                { "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", IMG_COMPRESSION_GZIP },
                { "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", IMG_COMPRESSION_ZSTD },
                { IMG_MEDIA_DOCKER_LAYER, IMG_COMPRESSION_GZIP },
                { IMG_MEDIA_DOCKER_FOREIGN_LAYER, IMG_COMPRESSION_GZIP },
                { "application/vnd.docker.image.rootfs.diff.tar.zstd", IMG_COMPRESSION_ZSTD },
        };

        for (size_t i = 0; media_type && i < ARRAY_SIZE(table); i++)
                if (strcmp(media_type, table[i].type) == 0)
                        return (int)table[i].c;
        return error_setf(err, EOPNOTSUPP, "media type '%s' is not a layer", media_type ? media_type : "");
}

/* The known index or manifest type that s names, ignoring parameters after ';'. */
static const char *known_type(const char *s)
{
        size_t n = strcspn(s, "; ");
        const char *t = find_type(index_types, ARRAY_SIZE(index_types), s, n);
        return t ? t : find_type(manifest_types, ARRAY_SIZE(manifest_types), s, n);
}

static bool is_schema1(const char *s)
{
        return strncmp(s, "application/vnd.docker.distribution.manifest.v1+", 48) == 0;
}

int img_document_media_type(const char *buf, size_t len, const char *content_type, const char **ret,
                            Error **err)
{
        _cleanup_json_ json_t *j = NULL;
        const char *mt = NULL, *from_header = content_type ? known_type(content_type) : NULL, *t;
        json_t *v;
        int r;

        if ((content_type && is_schema1(content_type)))
                return error_setf(err, EOPNOTSUPP, "docker schema 1 manifests are not supported");
        r = parse_json(buf, len, "document", &j, err);
        if (r < 0)
                return r;
        v = get(j, "schemaVersion");
        if (json_is_integer(v) && json_integer_value(v) == 1)
                return error_setf(err, EOPNOTSUPP, "docker schema 1 manifests are not supported");
        r = json_get_string(j, "mediaType", "", &mt, NULL);
        if (r < 0)
                return bad(err, "document: mediaType: expected a string");
        if (r > 0) {
                t = known_type(mt);
                if (!t)
                        return bad(err, "document: mediaType: '%s' is not an image index or manifest", mt);
                if (from_header && img_media_type_is_index(t) != img_media_type_is_index(from_header))
                        return bad(err, "document: mediaType '%s' disagrees with Content-Type '%s'", mt,
                                   content_type);
                *ret = t;
                return 0;
        }
        if (from_header)
                t = from_header;
        else if (get(j, "manifests"))
                t = IMG_MEDIA_OCI_INDEX;
        else if (get(j, "layers") || get(j, "config"))
                t = IMG_MEDIA_OCI_MANIFEST;
        else
                return bad(err, "document: not an image index or manifest");
        *ret = t;
        return 0;
}

ImgIndex *img_index_free(ImgIndex *i)
{
        if (!i)
                return NULL;
        for (size_t k = 0; k < i->n_manifests; k++)
                img_descriptor_done(&i->manifests[k]);
        free(i->manifests);
        free(i->media_type);
        json_decref(i->json);
        free(i);
        return NULL;
}

int img_index_parse(const char *buf, size_t len, ImgIndex **ret, Error **err)
{
        _cleanup_(img_index_freep) ImgIndex *i = xnew0(ImgIndex, 1);
        int r;

        r = parse_json(buf, len, "index", &i->json, err);
        if (r < 0)
                return r;
        r = check_schema_version(i->json, "index", err);
        if (r < 0)
                return r;
        r = get_string(i->json, "index: ", "mediaType", false, &i->media_type, err);
        if (r < 0)
                return r;
        if (i->media_type && !img_media_type_is_index(i->media_type))
                return bad(err, "index: mediaType: '%s' is not an image index", i->media_type);
        r = descriptors_parse(i->json, "index", "manifests", &i->manifests, &i->n_manifests, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(i);
        return 0;
}

ImgManifest *img_manifest_free(ImgManifest *m)
{
        if (!m)
                return NULL;
        img_descriptor_done(&m->config);
        for (size_t k = 0; k < m->n_layers; k++)
                img_descriptor_done(&m->layers[k]);
        free(m->layers);
        free(m->media_type);
        json_decref(m->json);
        free(m);
        return NULL;
}

int img_manifest_parse(const char *buf, size_t len, ImgManifest **ret, Error **err)
{
        _cleanup_(img_manifest_freep) ImgManifest *m = xnew0(ImgManifest, 1);
        json_t *config;
        int r;

        r = parse_json(buf, len, "manifest", &m->json, err);
        if (r < 0)
                return r;
        r = check_schema_version(m->json, "manifest", err);
        if (r < 0)
                return r;
        r = get_string(m->json, "manifest: ", "mediaType", false, &m->media_type, err);
        if (r < 0)
                return r;
        if (m->media_type && !img_media_type_is_manifest(m->media_type))
                return bad(err, "manifest: mediaType: '%s' is not an image manifest", m->media_type);
        config = get(m->json, "config");
        if (!config)
                return bad(err, "manifest: config: missing");
        r = descriptor_parse(config, "manifest: config", &m->config, err);
        if (r < 0)
                return r;
        r = descriptors_parse(m->json, "manifest", "layers", &m->layers, &m->n_layers, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

ImgConfig *img_config_free(ImgConfig *c)
{
        if (!c)
                return NULL;
        img_platform_done(&c->platform);
        free(c->created);
        free(c->author);
        strv_free(c->env);
        strv_free(c->entrypoint);
        strv_free(c->cmd);
        free(c->working_dir);
        free(c->user);
        free(c->stop_signal);
        strv_free(c->exposed_ports);
        strv_free(c->labels);
        strv_free(c->diff_ids);
        for (size_t k = 0; k < c->n_history; k++) {
                free(c->history[k].created);
                free(c->history[k].created_by);
                free(c->history[k].author);
                free(c->history[k].comment);
        }
        free(c->history);
        json_decref(c->json);
        free(c);
        return NULL;
}

/* config.* (the container defaults), which may be absent or null altogether. */
static int config_section_parse(const json_t *cfg, ImgConfig *c, Error **err)
{
        const char *w = "config: config.", *k;
        json_t *v;
        int r;

        if (!json_is_object(cfg))
                return bad(err, "config: config: expected an object");
        if ((r = get_strv(cfg, w, "Env", &c->env, err)) < 0 ||
            (r = get_strv(cfg, w, "Entrypoint", &c->entrypoint, err)) < 0 ||
            (r = get_strv(cfg, w, "Cmd", &c->cmd, err)) < 0 ||
            (r = get_string(cfg, w, "WorkingDir", false, &c->working_dir, err)) < 0 ||
            (r = get_string(cfg, w, "User", false, &c->user, err)) < 0 ||
            (r = get_string(cfg, w, "StopSignal", false, &c->stop_signal, err)) < 0)
                return r;
        v = get(cfg, "ExposedPorts");
        if (v) {
                json_t *e;
                if (!json_is_object(v))
                        return bad(err, "%sExposedPorts: expected an object", w);
                c->exposed_ports = xnew0(char *, 1);
                json_object_foreach (v, k, e)
                        strv_push(&c->exposed_ports, k);
        }
        v = get(cfg, "Labels");
        if (v) {
                json_t *e;
                r = check_string_map(v, w, "Labels", err);
                if (r < 0)
                        return r;
                c->labels = xnew0(char *, 1);
                json_object_foreach (v, k, e)
                        strv_consume(&c->labels, xasprintf("%s=%s", k, json_string_value(e)));
        }
        return 0;
}

static int rootfs_parse(const json_t *j, ImgConfig *c, Error **err)
{
        json_t *rootfs = get(j, "rootfs"), *arr, *e;
        _cleanup_free_ char *type = NULL;
        size_t i;
        int r;

        if (!rootfs)
                return bad(err, "config: rootfs: missing");
        if (!json_is_object(rootfs))
                return bad(err, "config: rootfs: expected an object");
        r = get_string(rootfs, "config: rootfs.", "type", true, &type, err);
        if (r < 0)
                return r;
        if (strcmp(type, "layers") != 0)
                return bad(err, "config: rootfs.type: expected 'layers'");
        arr = get(rootfs, "diff_ids");
        if (!arr)
                return bad(err, "config: rootfs.diff_ids: missing");
        if (!json_is_array(arr))
                return bad(err, "config: rootfs.diff_ids: expected an array");
        c->diff_ids = xnew0(char *, json_array_size(arr) + 1);
        json_array_foreach (arr, i, e) {
                _cleanup_error_ Error *de = NULL;
                if (!json_is_string(e))
                        return bad(err, "config: rootfs.diff_ids[%zu]: expected a string", i);
                if (digest_check(json_string_value(e), &de) < 0)
                        return bad(err, "config: rootfs.diff_ids[%zu]: %s", i, de->msg);
                c->diff_ids[i] = xstrdup(json_string_value(e));
        }
        return 0;
}

static int history_parse(const json_t *j, ImgConfig *c, Error **err)
{
        json_t *arr = get(j, "history"), *e;
        size_t i;
        int r;

        if (!arr)
                return 0;
        if (!json_is_array(arr))
                return bad(err, "config: history: expected an array");
        json_array_foreach (arr, i, e) {
                _cleanup_free_ char *w = xasprintf("config: history[%zu].", i);
                ImgHistory *h = xappend(c->history, c->n_history);
                json_t *v;

                if (!json_is_object(e))
                        return bad(err, "config: history[%zu]: expected an object", i);
                if ((r = get_string(e, w, "created", false, &h->created, err)) < 0 ||
                    (r = get_string(e, w, "created_by", false, &h->created_by, err)) < 0 ||
                    (r = get_string(e, w, "author", false, &h->author, err)) < 0 ||
                    (r = get_string(e, w, "comment", false, &h->comment, err)) < 0)
                        return r;
                v = get(e, "empty_layer");
                if (v && !json_is_boolean(v))
                        return bad(err, "%sempty_layer: expected a boolean", w);
                h->empty_layer = json_is_true(v);
        }
        return 0;
}

int img_config_parse(const char *buf, size_t len, ImgConfig **ret, Error **err)
{
        _cleanup_(img_config_freep) ImgConfig *c = xnew0(ImgConfig, 1);
        json_t *cfg;
        int r;

        r = parse_json(buf, len, "config", &c->json, err);
        if (r < 0)
                return r;
        if ((r = get_string(c->json, "config: ", "architecture", true, &c->platform.architecture, err)) < 0 ||
            (r = get_string(c->json, "config: ", "os", true, &c->platform.os, err)) < 0 ||
            (r = get_string(c->json, "config: ", "variant", false, &c->platform.variant, err)) < 0 ||
            (r = get_string(c->json, "config: ", "created", false, &c->created, err)) < 0 ||
            (r = get_string(c->json, "config: ", "author", false, &c->author, err)) < 0)
                return r;
        cfg = get(c->json, "config");
        if (cfg) {
                r = config_section_parse(cfg, c, err);
                if (r < 0)
                        return r;
        }
        r = rootfs_parse(c->json, c, err);
        if (r < 0)
                return r;
        r = history_parse(c->json, c, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

int img_manifest_check_config(const ImgManifest *m, const ImgConfig *c, Error **err)
{
        size_t n = strv_length(c->diff_ids);
        if (n != m->n_layers)
                return error_setf(err, EBADMSG, "manifest has %zu layers but its config %zu diff_ids",
                                  m->n_layers, n);
        return 0;
}

int img_platform_parse(const char *s, ImgPlatform *ret, Error **err)
{
        const char *a = strchr(s, '/'), *v;

        if (!a || a == s || a[1] == '\0' || a[1] == '/')
                return error_setf(err, EINVAL, "platform '%s': expected OS/ARCHITECTURE[/VARIANT]", s);
        v = strchr(a + 1, '/');
        if (v && (v[1] == '\0' || strchr(v + 1, '/')))
                return error_setf(err, EINVAL, "platform '%s': expected OS/ARCHITECTURE[/VARIANT]", s);
        *ret = (ImgPlatform){
                .os = xstrndup(s, (size_t)(a - s)),
                .architecture = v ? xstrndup(a + 1, (size_t)(v - a - 1)) : xstrdup(a + 1),
                .variant = v ? xstrdup(v + 1) : NULL,
        };
        return 0;
}

char *img_platform_to_string(const ImgPlatform *p)
{
        return xasprintf("%s/%s%s%s", p->os ? p->os : "unknown", p->architecture ? p->architecture : "unknown",
                         p->variant ? "/" : "", p->variant ? p->variant : "");
}

/* The Go names for the architectures uname(2) and some tools spell otherwise. */
static const char *norm_arch(const char *a)
{
        if (strcmp(a, "x86_64") == 0 || strcmp(a, "x86-64") == 0)
                return "amd64";
        if (strcmp(a, "aarch64") == 0)
                return "arm64";
        return a;
}

/* arm64 without a variant is v8: compare with that filled in. */
static const char *norm_variant(const char *arch, const char *v)
{
        if (!v && strcmp(arch, "arm64") == 0)
                return "v8";
        return v;
}

static bool platform_matches(const ImgPlatform *want, const ImgPlatform *have)
{
        const char *wa, *ha, *wv, *hv;

        if (!have->os || !have->architecture || strcmp(want->os, have->os) != 0)
                return false;
        wa = norm_arch(want->architecture);
        ha = norm_arch(have->architecture);
        if (strcmp(wa, ha) != 0)
                return false;
        if (!want->variant)
                return true;
        wv = norm_variant(wa, want->variant);
        hv = norm_variant(ha, have->variant);
        return hv && strcmp(wv, hv) == 0;
}

int img_index_select(const ImgIndex *index, const char *platform, const ImgDescriptor **ret, Error **err)
{
        _cleanup_(img_platform_done) ImgPlatform want = {};
        _cleanup_free_ char *available = NULL;
        int r;

        r = img_platform_parse(platform, &want, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < index->n_manifests; i++) {
                const ImgDescriptor *d = &index->manifests[i];
                if (d->has_platform && platform_matches(&want, &d->platform)) {
                        *ret = d;
                        return 0;
                }
        }
        for (size_t i = 0; i < index->n_manifests; i++) {
                const ImgDescriptor *d = &index->manifests[i];
                _cleanup_free_ char *p = d->has_platform ? img_platform_to_string(&d->platform)
                                                         : xstrdup("unknown");
                char *joined = xasprintf("%s%s%s", available ? available : "", available ? ", " : "", p);
                free(available);
                available = joined;
        }
        return error_setf(err, ENOENT, "no manifest for platform '%s' in the index (it has: %s)", platform,
                          available ? available : "nothing");
}

/* Builders. */

static int set_string(json_t *obj, const char *key, const char *value, Error **err)
{
        json_t *s;

        if (!value) {
                json_object_del(obj, key);
                return 0;
        }
        s = json_string(value);
        if (!s)
                return error_setf(err, EINVAL, "%s: not valid UTF-8", key);
        json_object_set_new(obj, key, s);
        return 0;
}

static int set_strv(json_t *obj, const char *key, char *const *v, Error **err)
{
        json_t *arr;

        if (!v) {
                json_object_del(obj, key);
                return 0;
        }
        arr = json_array();
        for (size_t i = 0; v[i]; i++) {
                json_t *s = json_string(v[i]);
                if (!s) {
                        json_decref(arr);
                        return error_setf(err, EINVAL, "%s[%zu]: not valid UTF-8", key, i);
                }
                json_array_append_new(arr, s);
        }
        json_object_set_new(obj, key, arr);
        return 0;
}

/* A fresh object, or a deep copy of the parsed document. */
static json_t *base_of(const json_t *j)
{
        json_t *c = j ? json_deep_copy(j) : json_object();
        if (!c)
                abort(); /* only allocation fails */
        return c;
}

static int descriptor_to_json(const ImgDescriptor *d, json_t **ret, Error **err)
{
        _cleanup_json_ json_t *j = json_object();
        int r;

        if ((r = set_string(j, "mediaType", d->media_type, err)) < 0 ||
            (r = set_string(j, "digest", d->digest, err)) < 0)
                return r;
        json_object_set_new(j, "size", json_integer(d->size));
        if (d->has_platform) {
                json_t *p = json_object();
                json_object_set_new(j, "platform", p);
                if ((r = set_string(p, "architecture", d->platform.architecture, err)) < 0 ||
                    (r = set_string(p, "os", d->platform.os, err)) < 0 ||
                    (r = set_string(p, "variant", d->platform.variant, err)) < 0)
                        return r;
        }
        if (d->annotations)
                json_object_set_new(j, "annotations", json_deep_copy(d->annotations));
        *ret = TAKE_PTR(j);
        return 0;
}

json_t *img_descriptor_to_json(const ImgDescriptor *d)
{
        json_t *j = NULL;
        /* Descriptors hold media types and digests: ASCII, unless the caller made them otherwise. */
        if (descriptor_to_json(d, &j, NULL) < 0)
                return NULL;
        return j;
}

static int descriptors_to_json(const ImgDescriptor *ds, size_t n, const char *key, json_t *obj, Error **err)
{
        json_t *arr = json_array();

        json_object_set_new(obj, key, arr);
        for (size_t i = 0; i < n; i++) {
                json_t *d = NULL;
                int r = descriptor_to_json(&ds[i], &d, err);
                if (r < 0)
                        return error_wrap(err, r, "%s[%zu]", key, i);
                json_array_append_new(arr, d);
        }
        return 0;
}

int img_index_to_json(const ImgIndex *i, json_t **ret, Error **err)
{
        _cleanup_json_ json_t *j = base_of(i->json);
        int r;

        json_object_set_new(j, "schemaVersion", json_integer(2));
        r = set_string(j, "mediaType", i->media_type ? i->media_type : IMG_MEDIA_OCI_INDEX, err);
        if (r < 0)
                return r;
        r = descriptors_to_json(i->manifests, i->n_manifests, "manifests", j, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(j);
        return 0;
}

int img_manifest_to_json(const ImgManifest *m, json_t **ret, Error **err)
{
        _cleanup_json_ json_t *j = base_of(m->json);
        json_t *config = NULL;
        int r;

        json_object_set_new(j, "schemaVersion", json_integer(2));
        r = set_string(j, "mediaType", m->media_type ? m->media_type : IMG_MEDIA_OCI_MANIFEST, err);
        if (r < 0)
                return r;
        r = descriptor_to_json(&m->config, &config, err);
        if (r < 0)
                return error_wrap(err, r, "config");
        json_object_set_new(j, "config", config);
        r = descriptors_to_json(m->layers, m->n_layers, "layers", j, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(j);
        return 0;
}

/* "key=value" entries as an object; an entry without '=' maps to "". */
static int set_map(json_t *obj, const char *key, char *const *v, bool is_set, Error **err)
{
        json_t *m;

        if (!v) {
                json_object_del(obj, key);
                return 0;
        }
        m = json_object();
        json_object_set_new(obj, key, m);
        for (size_t i = 0; v[i]; i++) {
                const char *eq = is_set ? NULL : strchr(v[i], '=');
                _cleanup_free_ char *k = eq ? xstrndup(v[i], (size_t)(eq - v[i])) : xstrdup(v[i]);
                json_t *val = is_set ? json_object() : json_string(eq ? eq + 1 : "");

                if (!val || json_object_set_new(m, k, val) < 0)
                        return error_setf(err, EINVAL, "%s[%zu]: not valid UTF-8", key, i);
        }
        return 0;
}

static int config_section_to_json(const ImgConfig *c, json_t *j, Error **err)
{
        json_t *cfg = json_object_get(j, "config");
        int r;

        if (!json_is_object(cfg)) {
                cfg = json_object();
                json_object_set_new(j, "config", cfg);
        }
        if ((r = set_strv(cfg, "Env", c->env, err)) < 0 ||
            (r = set_strv(cfg, "Entrypoint", c->entrypoint, err)) < 0 ||
            (r = set_strv(cfg, "Cmd", c->cmd, err)) < 0 ||
            (r = set_string(cfg, "WorkingDir", c->working_dir, err)) < 0 ||
            (r = set_string(cfg, "User", c->user, err)) < 0 ||
            (r = set_string(cfg, "StopSignal", c->stop_signal, err)) < 0 ||
            (r = set_map(cfg, "ExposedPorts", c->exposed_ports, true, err)) < 0 ||
            (r = set_map(cfg, "Labels", c->labels, false, err)) < 0)
                return error_wrap(err, r, "config");
        return 0;
}

static int history_to_json(const ImgConfig *c, json_t *j, Error **err)
{
        json_t *arr;
        int r;

        if (!c->history) {
                json_object_del(j, "history");
                return 0;
        }
        arr = json_array();
        json_object_set_new(j, "history", arr);
        for (size_t i = 0; i < c->n_history; i++) {
                const ImgHistory *h = &c->history[i];
                json_t *e = json_object();
                json_array_append_new(arr, e);
                if ((r = set_string(e, "created", h->created, err)) < 0 ||
                    (r = set_string(e, "created_by", h->created_by, err)) < 0 ||
                    (r = set_string(e, "author", h->author, err)) < 0 ||
                    (r = set_string(e, "comment", h->comment, err)) < 0)
                        return error_wrap(err, r, "history[%zu]", i);
                if (h->empty_layer)
                        json_object_set_new(e, "empty_layer", json_true());
        }
        return 0;
}

int img_config_to_json(const ImgConfig *c, json_t **ret, Error **err)
{
        _cleanup_json_ json_t *j = base_of(c->json);
        json_t *rootfs;
        int r;

        if ((r = set_string(j, "architecture", c->platform.architecture, err)) < 0 ||
            (r = set_string(j, "os", c->platform.os, err)) < 0 ||
            (r = set_string(j, "variant", c->platform.variant, err)) < 0 ||
            (r = set_string(j, "created", c->created, err)) < 0 ||
            (r = set_string(j, "author", c->author, err)) < 0)
                return r;
        r = config_section_to_json(c, j, err);
        if (r < 0)
                return r;
        rootfs = json_object();
        json_object_set_new(j, "rootfs", rootfs);
        json_object_set_new(rootfs, "type", json_string("layers"));
        r = set_strv(rootfs, "diff_ids", c->diff_ids ? c->diff_ids : (char *[]){ NULL }, err);
        if (r < 0)
                return r;
        r = history_to_json(c, j, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(j);
        return 0;
}
