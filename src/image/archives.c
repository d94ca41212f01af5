/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* archives.c: images in and out of files: OCI layout directories, oci-archive and docker-archive tars */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "archives.h"
#include "common/alloc.h"
#include "common/digest.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/strv.h"
#include "manifest.h"

#define BLOCK (256 * 1024)
/* index.json, manifest.json and configs are small; a bigger one is not a real archive's. */
#define SMALL_MAX (16u << 20)

int img_archive_format_parse(const char *s, ImgArchiveFormat *ret, Error **err)
{
        if (strcmp(s, "oci-dir") == 0 || strcmp(s, "oci") == 0)
                *ret = IMG_ARCHIVE_OCI_DIR;
        else if (strcmp(s, "oci-archive") == 0)
                *ret = IMG_ARCHIVE_OCI_TAR;
        else if (strcmp(s, "docker-archive") == 0)
                *ret = IMG_ARCHIVE_DOCKER_TAR;
        else
                return error_setf(err, EINVAL, "format '%s': expected oci-dir, oci-archive or docker-archive", s);
        return 0;
}

void img_archive_images_free(ImgArchiveImage *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(v[i].manifest_digest);
                free(v[i].name);
        }
        free(v);
}

static void add_image(ImgArchiveImage **v, size_t *n, const char *digest, const char *name)
{
        ImgArchiveImage *img = xappend(*v, *n);
        img->manifest_digest = xstrdup(digest);
        img->name = name ? xstrdup(name) : NULL;
}

/* ---- import ---- */

/* Where a layout's blobs come from: a directory (copied when needed) or a tar (stored while read). */
typedef struct Source {
        int layout_fd; /* OCI directory, or -EBADF */
} Source;

/* Makes sure the blob of d is in the store, copying it from the layout directory if needed. */
static int need_blob(ImgStore *store, const Source *src, const ImgDescriptor *d, Error **err)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;

        if (img_store_has(store, d->digest))
                return 0;
        if (src->layout_fd < 0)
                return error_setf(err, EBADMSG, "archive: blob '%s' is missing", d->digest);
        path = xasprintf("blobs/sha256/%s", d->digest + strlen("sha256:"));
        fd = open_in_root(src->layout_fd, path, O_RDONLY | O_CLOEXEC, 0, 0);
        if (fd < 0)
                return error_set(err, -fd, "archive: blob '%s'", d->digest);
        return img_store_put_fd(store, fd, d->digest, d->size, NULL, err);
}

/* The images an OCI index.json names: manifests directly, or through nested indexes. */
static int import_oci_index(ImgStore *store, const Source *src, const char *buf, size_t len, const char *platform,
                            ImgArchiveImage **v, size_t *n, Error **err)
{
        _cleanup_(img_index_freep) ImgIndex *index = NULL;
        int r;

        r = img_index_parse(buf, len, &index, err);
        if (r < 0)
                return error_wrap(err, r, "index.json");
        for (size_t i = 0; i < index->n_manifests; i++) {
                const ImgDescriptor *d = &index->manifests[i];
                const char *name = NULL;
                _cleanup_free_ char *mbuf = NULL;
                _cleanup_(img_manifest_freep) ImgManifest *m = NULL;
                size_t mlen;

                if (d->annotations) {
                        /* containerd keeps the full name apart; the OCI one is often just the tag. */
                        name = json_string_value(json_object_get(d->annotations, "io.containerd.image.name"));
                        if (!name)
                                name = json_string_value(
                                        json_object_get(d->annotations, "org.opencontainers.image.ref.name"));
                }
                r = need_blob(store, src, d, err);
                if (r < 0)
                        return r;
                if (img_media_type_is_index(d->media_type)) {
                        _cleanup_free_ char *ibuf = NULL;
                        _cleanup_(img_index_freep) ImgIndex *inner = NULL;
                        const ImgDescriptor *chosen;
                        size_t ilen;
                        r = img_store_read_blob(store, d->digest, IMG_MANIFEST_MAX, &ibuf, &ilen, err);
                        if (r >= 0)
                                r = img_index_parse(ibuf, ilen, &inner, err);
                        if (r >= 0)
                                r = img_index_select(inner, platform ? platform : "linux/amd64", &chosen, err);
                        if (r >= 0)
                                r = need_blob(store, src, chosen, err);
                        if (r < 0)
                                return r;
                        d = chosen;
                        r = img_store_read_blob(store, d->digest, IMG_MANIFEST_MAX, &mbuf, &mlen, err);
                        if (r >= 0)
                                r = img_manifest_parse(mbuf, mlen, &m, err);
                        for (size_t k = 0; r >= 0 && k < m->n_layers; k++)
                                r = need_blob(store, src, &m->layers[k], err);
                        if (r >= 0)
                                r = need_blob(store, src, &m->config, err);
                        if (r < 0)
                                return r;
                        add_image(v, n, d->digest, name);
                        continue;
                }
                r = img_store_read_blob(store, d->digest, IMG_MANIFEST_MAX, &mbuf, &mlen, err);
                if (r >= 0)
                        r = img_manifest_parse(mbuf, mlen, &m, err);
                if (r >= 0)
                        r = need_blob(store, src, &m->config, err);
                for (size_t k = 0; r >= 0 && k < m->n_layers; k++)
                        r = need_blob(store, src, &m->layers[k], err);
                if (r < 0)
                        return error_wrap(err, r, "manifest '%s'", d->digest);
                add_image(v, n, d->digest, name);
        }
        if (*n == 0)
                return error_setf(err, ENOENT, "index.json names no image");
        return 0;
}

static int import_dir(ImgStore *store, const char *path, const char *platform, ImgArchiveImage **v, size_t *n,
                      Error **err)
{
        _cleanup_close_ int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r;

        if (dfd < 0)
                return error_set(err, errno, "open '%s'", path);
        r = read_file_at(dfd, "index.json", &buf, &len, err);
        if (r < 0)
                return error_wrap(err, r, "'%s' is not an OCI layout", path);
        Source src = { dfd };
        return import_oci_index(store, &src, buf, len, platform, v, n, err);
}

/* A regular file of a tar archive, kept in memory (small metadata) or stored as a blob. */
typedef struct TarFile {
        char *path;
        char *digest; /* NULL for a symlink */
        int64_t size;
        char *target; /* a symlink's target, resolved against its directory */
} TarFile;

/* Copies the data of the current entry to fd. */
static int entry_to_fd(struct archive *a, int fd, Error **err)
{
        const void *buf;
        size_t len;
        la_int64_t off;

        for (;;) {
                int rc = archive_read_data_block(a, &buf, &len, &off);
                if (rc == ARCHIVE_EOF)
                        return 0;
                if (rc != ARCHIVE_OK)
                        return error_setf(err, EBADMSG, "archive: %s", archive_error_string(a));
                int r = fd_write_all(fd, buf, len);
                if (r < 0)
                        return error_set(err, r, "write");
        }
}

/*
 * Stores the data of the current entry. With expected, it is checked against that digest; without
 * (docker's legacy file names say nothing), it goes through a temporary file and *ret_digest gets
 * the digest it turned out to have.
 */
static int store_entry(ImgStore *store, struct archive *a, const char *expected, int64_t size, char **ret_digest,
                       Error **err)
{
        _cleanup_(img_store_writer_freep) ImgStoreWriter *w = NULL;
        _cleanup_close_ int tmp = -EBADF;
        const void *buf;
        size_t len;
        la_int64_t off;
        int r;

        if (!expected) {
                tmp = open("/var/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
                if (tmp < 0)
                        return error_set(err, errno, "temporary file in '/var/tmp'");
                r = entry_to_fd(a, tmp, err);
                if (r >= 0 && lseek(tmp, 0, SEEK_SET) < 0)
                        r = error_set(err, errno, "rewind");
                if (r < 0)
                        return r;
                return img_store_put_fd(store, tmp, NULL, size, ret_digest, err);
        }
        r = img_store_writer_new(store, expected, size, &w, err);
        if (r < 0)
                return r;
        for (;;) {
                int rc = archive_read_data_block(a, &buf, &len, &off);
                if (rc == ARCHIVE_EOF)
                        break;
                if (rc != ARCHIVE_OK)
                        return error_setf(err, EBADMSG, "archive: %s", archive_error_string(a));
                r = img_store_writer_write(w, buf, len, err);
                if (r < 0)
                        return r;
        }
        return img_store_writer_commit(w, err);
}

/* Reads the current entry into memory (at most SMALL_MAX bytes). */
static int read_entry(struct archive *a, int64_t size, char **ret, size_t *ret_len, Error **err)
{
        char *buf;
        la_ssize_t n;

        if (size < 0 || (uint64_t)size > SMALL_MAX)
                return error_setf(err, EFBIG, "archive: a metadata file of %lld bytes", (long long)size);
        buf = xmalloc((size_t)size + 1);
        n = archive_read_data(a, buf, (size_t)size);
        if (n != size) {
                free(buf);
                return error_setf(err, EBADMSG, "archive: %s", n < 0 ? archive_error_string(a) : "short file");
        }
        buf[size] = '\0';
        *ret = buf;
        if (ret_len)
                *ret_len = (size_t)size;
        return 0;
}

/* The layer media type for data that starts with these bytes. */
static const char *layer_type_of(ImgStore *store, const char *digest)
{
        _cleanup_close_ int fd = -EBADF;
        unsigned char m[4] = {};

        if (img_store_open_blob(store, digest, &fd, NULL) < 0 || read(fd, m, sizeof(m)) < 4)
                return IMG_MEDIA_OCI_LAYER;
        if (m[0] == 0x1f && m[1] == 0x8b)
                return IMG_MEDIA_OCI_LAYER_GZIP;
        if (m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
                return IMG_MEDIA_OCI_LAYER_ZSTD;
        return IMG_MEDIA_OCI_LAYER;
}

/* The file at path, following symlinks within the archive (skopeo links <id>/layer.tar to <digest>.tar). */
static const TarFile *find_file(const TarFile *files, size_t n, const char *path)
{
        for (int depth = 0; depth < 8; depth++) {
                const TarFile *f = NULL;
                for (size_t i = 0; i < n && !f; i++)
                        if (strcmp(files[i].path, path) == 0)
                                f = &files[i];
                if (!f || f->digest)
                        return f;
                path = f->target;
        }
        return NULL;
}

/* "a/b/../c.tar" → "a/c.tar"; NULL when it climbs out of the archive. */
static char *resolve_link(const char *entry, const char *target)
{
        _cleanup_strv_ char **parts = NULL;
        _cleanup_free_ char *joined = NULL;
        const char *slash = strrchr(entry, '/');
        char *save = NULL, *out;
        size_t len = 0;

        joined = target[0] == '/' ? xstrdup(target + 1)
                 : slash          ? xasprintf("%.*s/%s", (int)(slash - entry), entry, target)
                                  : xstrdup(target);
        for (char *t = strtok_r(joined, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
                if (strcmp(t, ".") == 0)
                        continue;
                if (strcmp(t, "..") == 0) {
                        size_t n = strv_length(parts);
                        if (n == 0)
                                return NULL;
                        free(parts[n - 1]);
                        parts[n - 1] = NULL;
                        continue;
                }
                strv_push(&parts, t);
        }
        out = xstrdup("");
        for (char **p = parts; p && *p; p++) {
                out = xrealloc(out, len + strlen(*p) + 2);
                len += (size_t)sprintf(out + len, "%s%s", len ? "/" : "", *p);
        }
        return out;
}

static bool has_suffix(const char *s, const char *suffix)
{
        size_t n = strlen(s), k = strlen(suffix);
        return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* docker save's manifest.json: each image's config and layers become an OCI manifest in the store. */
static int import_docker(ImgStore *store, const char *buf, size_t len, const TarFile *files, size_t n_files,
                         ImgArchiveImage **v, size_t *n, Error **err)
{
        _cleanup_json_ json_t *j = NULL;
        json_t *e;
        size_t i;
        int r;

        r = json_parse(buf, len, "manifest.json", &j, err);
        if (r < 0)
                return r;
        if (!json_is_array(j))
                return error_setf(err, EBADMSG, "manifest.json: not an array");
        json_array_foreach (j, i, e) {
                _cleanup_free_ ImgDescriptor *layers = NULL;
                _cleanup_json_ json_t *mj = NULL;
                _cleanup_free_ char *text = NULL, *mdigest = NULL;
                _cleanup_strv_ char **tags = NULL;
                json_t *ls = NULL, *l;
                const char *cfg_path = NULL;
                const TarFile *cfg;
                size_t k;

                if (json_get_string(e, "Config", "manifest.json", &cfg_path, err) <= 0 ||
                    json_get_array(e, "Layers", "manifest.json", &ls, err) <= 0)
                        return error_setf(err, EBADMSG, "manifest.json: an image needs Config and Layers");
                json_get_strv(e, "RepoTags", "manifest.json", &tags, NULL);
                cfg = find_file(files, n_files, cfg_path);
                if (!cfg)
                        return error_setf(err, EBADMSG, "archive: config '%s' is missing", cfg_path);
                /* docker names a config after its digest: hold it to that. */
                if (strncmp(cfg_path, "blobs/sha256/", 13) != 0 &&
                    (strlen(cfg_path) != 64 + 5 || strncmp(cfg_path, cfg->digest + 7, 64) != 0))
                        return error_setf(err, EBADMSG, "archive: config '%s' does not match its digest", cfg_path);
                layers = xnew0(ImgDescriptor, json_array_size(ls) + 1);
                json_array_foreach (ls, k, l) {
                        const TarFile *f = json_is_string(l) ? find_file(files, n_files, json_string_value(l)) : NULL;
                        if (!f)
                                return error_setf(err, EBADMSG, "archive: layer %zu is missing", k);
                        layers[k] = (ImgDescriptor){ .media_type = (char *)layer_type_of(store, f->digest),
                                                     .digest = f->digest,
                                                     .size = f->size };
                }
                ImgManifest m = {
                        .config = { .media_type = (char *)IMG_MEDIA_OCI_CONFIG, .digest = cfg->digest, .size = cfg->size },
                        .layers = layers,
                        .n_layers = json_array_size(ls),
                };
                r = img_manifest_to_json(&m, &mj, err);
                if (r < 0)
                        return r;
                text = json_dump_compact(mj);
                r = img_store_put_buf(store, text, strlen(text), NULL, &mdigest, err);
                if (r < 0)
                        return r;
                add_image(v, n, mdigest, tags && tags[0] ? tags[0] : NULL);
        }
        if (*n == 0)
                return error_setf(err, ENOENT, "manifest.json names no image");
        return 0;
}

static void archive_freep(struct archive **a)
{
        if (*a)
                archive_read_free(*a);
}

static int import_tar(ImgStore *store, const char *path, const char *platform, ImgArchiveImage **v, size_t *n,
                      Error **err)
{
        _cleanup_(archive_freep) struct archive *a = archive_read_new();
        _cleanup_free_ char *index = NULL, *docker = NULL;
        TarFile *files = NULL;
        size_t n_files = 0, index_len = 0, docker_len = 0;
        struct archive_entry *e;
        int rc, r = 0;

        archive_read_support_format_tar(a);
        archive_read_support_filter_all(a);
        if (archive_read_open_filename(a, strcmp(path, "-") == 0 ? NULL : path, BLOCK) != ARCHIVE_OK)
                return error_setf(err, errno ? errno : EINVAL, "open archive '%s': %s", path, archive_error_string(a));
        while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
                const char *name = archive_entry_pathname(e);
                int64_t size = archive_entry_size(e);

                if (!name)
                        continue;
                if (strncmp(name, "./", 2) == 0)
                        name += 2;
                if (archive_entry_filetype(e) == AE_IFLNK && archive_entry_symlink(e)) {
                        char *target = resolve_link(name, archive_entry_symlink(e));
                        if (target) {
                                TarFile *f = xappend(files, n_files);
                                *f = (TarFile){ xstrdup(name), NULL, 0, target };
                        }
                        continue;
                }
                if (archive_entry_filetype(e) != AE_IFREG)
                        continue;
                if (strcmp(name, "index.json") == 0) {
                        r = read_entry(a, size, &index, &index_len, err);
                } else if (strcmp(name, "manifest.json") == 0) {
                        r = read_entry(a, size, &docker, &docker_len, err);
                } else if (strncmp(name, "blobs/sha256/", 13) == 0) {
                        _cleanup_free_ char *expected = xasprintf("sha256:%s", name + 13);
                        TarFile *f;
                        r = digest_check(expected, err);
                        if (r >= 0 && !img_store_has(store, expected))
                                r = store_entry(store, a, expected, size, NULL, err);
                        f = xappend(files, n_files);
                        *f = (TarFile){ xstrdup(name), xstrdup(expected), size, NULL };
                } else if (has_suffix(name, ".tar") || has_suffix(name, ".json")) {
                        /* docker's names: <id>/layer.tar or <digest>.tar, <config digest>.json */
                        char *digest = NULL;
                        r = store_entry(store, a, NULL, size, &digest, err);
                        if (r >= 0) {
                                TarFile *f = xappend(files, n_files);
                                *f = (TarFile){ xstrdup(name), digest, size, NULL };
                        }
                }
                if (r < 0) {
                        r = error_wrap(err, r, "'%s' in '%s'", name, path);
                        goto out;
                }
        }
        if (rc != ARCHIVE_EOF) {
                r = error_setf(err, EBADMSG, "archive '%s': %s", path, archive_error_string(a));
                goto out;
        }
        if (index) {
                Source src = { -EBADF };
                r = import_oci_index(store, &src, index, index_len, platform, v, n, err);
        } else if (docker) {
                r = import_docker(store, docker, docker_len, files, n_files, v, n, err);
        } else {
                r = error_setf(err, EBADMSG, "archive '%s' holds neither index.json nor manifest.json", path);
        }
out:
        for (size_t i = 0; i < n_files; i++) {
                free(files[i].path);
                free(files[i].digest);
                free(files[i].target);
        }
        free(files);
        return r;
}

int img_archive_import(ImgStore *store, const char *path, const char *platform, ImgArchiveImage **ret,
                       size_t *ret_n, Error **err)
{
        ImgArchiveImage *v = NULL;
        size_t n = 0;
        struct stat st;
        int r;

        if (strcmp(path, "-") != 0 && stat(path, &st) < 0)
                return error_set(err, errno, "import '%s'", path);
        if (strcmp(path, "-") != 0 && S_ISDIR(st.st_mode))
                r = import_dir(store, path, platform, &v, &n, err);
        else
                r = import_tar(store, path, platform, &v, &n, err);
        if (r < 0) {
                img_archive_images_free(v, n);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

/* ---- export ---- */

/* Where exported files go: a directory, or entries of a tar. */
typedef struct Sink {
        int dir_fd;            /* OCI_DIR */
        struct archive *tar;   /* otherwise */
} Sink;

/* Adds a file from fd (size bytes) at path. */
static int sink_fd(Sink *s, const char *path, int fd, int64_t size, Error **err)
{
        char buf[BLOCK];
        ssize_t n;

        if (s->tar) {
                struct archive_entry *e = archive_entry_new();
                archive_entry_set_pathname(e, path);
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_perm(e, 0644);
                archive_entry_set_size(e, size);
                if (archive_write_header(s->tar, e) != ARCHIVE_OK) {
                        archive_entry_free(e);
                        return error_setf(err, EIO, "write '%s': %s", path, archive_error_string(s->tar));
                }
                archive_entry_free(e);
                while ((n = read(fd, buf, sizeof(buf))) > 0)
                        if (archive_write_data(s->tar, buf, (size_t)n) != n)
                                return error_setf(err, EIO, "write '%s': %s", path, archive_error_string(s->tar));
                return n < 0 ? error_set(err, errno, "read for '%s'", path) : 0;
        }
        _cleanup_close_ int out = -EBADF;
        char *slash = strrchr(path, '/');
        if (slash) {
                _cleanup_free_ char *parent = xstrndup(path, (size_t)(slash - path));
                int pfd = mkpath_in_root(s->dir_fd, parent, false, err);
                if (pfd < 0)
                        return pfd;
                close(pfd);
        }
        out = openat(s->dir_fd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (out < 0)
                return error_set(err, errno, "create '%s'", path);
        while ((n = read(fd, buf, sizeof(buf))) > 0) {
                int r = fd_write_all(out, buf, (size_t)n);
                if (r < 0)
                        return error_set(err, r, "write '%s'", path);
        }
        return n < 0 ? error_set(err, errno, "read for '%s'", path) : 0;
}

static int sink_buf(Sink *s, const char *path, const char *data, Error **err)
{
        _cleanup_close_ int fd = memfd_create("export", MFD_CLOEXEC);
        size_t len = strlen(data);

        if (fd < 0)
                return error_set(err, errno, "memfd for '%s'", path);
        int r = fd_write_all(fd, data, len);
        if (r < 0 || lseek(fd, 0, SEEK_SET) < 0)
                return error_set(err, r < 0 ? r : errno, "buffer '%s'", path);
        return sink_fd(s, path, fd, (int64_t)len, err);
}

static int sink_blob(Sink *s, ImgStore *store, const char *digest, const char *path, Error **err)
{
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        r = img_store_open_blob(store, digest, &fd, err);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return error_set(err, errno, "blob '%s'", digest);
        return sink_fd(s, path, fd, st.st_size, err);
}

/* The uncompressed tar of a layer blob, in an unnamed temporary file. */
static int decompress_layer(ImgStore *store, const char *digest, int *ret_fd, int64_t *ret_size, Error **err)
{
        _cleanup_(archive_freep) struct archive *a = archive_read_new();
        _cleanup_close_ int in = -EBADF, out = memfd_create("layer", MFD_CLOEXEC);
        char buf[BLOCK];
        int64_t total = 0;
        la_ssize_t n;
        int r;

        if (out < 0)
                return error_set(err, errno, "memfd");
        r = img_store_open_blob(store, digest, &in, err);
        if (r < 0)
                return r;
        archive_read_support_filter_all(a);
        archive_read_support_format_raw(a);
        struct archive_entry *e;
        if (archive_read_open_fd(a, in, BLOCK) != ARCHIVE_OK || archive_read_next_header(a, &e) != ARCHIVE_OK)
                return error_setf(err, EBADMSG, "layer '%s': %s", digest, archive_error_string(a));
        while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) {
                r = fd_write_all(out, buf, (size_t)n);
                if (r < 0)
                        return error_set(err, r, "layer '%s'", digest);
                total += n;
        }
        if (n < 0)
                return error_setf(err, EBADMSG, "layer '%s': %s", digest, archive_error_string(a));
        if (lseek(out, 0, SEEK_SET) < 0)
                return error_set(err, errno, "rewind");
        *ret_fd = TAKE_FD(out);
        *ret_size = total;
        return 0;
}

static int export_oci(Sink *s, ImgStore *store, const char *mdigest, const char *mbuf, const ImgManifest *m,
                      const char *name, Error **err)
{
        _cleanup_json_ json_t *index = NULL;
        _cleanup_free_ char *text = NULL, *mpath = NULL;
        const char *tag = name ? strrchr(name, ':') : NULL;
        int r;

        /* A tag after the last '/' only: "host:5000/repo" has no tag. */
        if (tag && strchr(tag, '/'))
                tag = NULL;
        r = sink_buf(s, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", err);
        for (size_t i = 0; r >= 0 && i < m->n_layers; i++) {
                _cleanup_free_ char *p = xasprintf("blobs/sha256/%s", m->layers[i].digest + 7);
                r = sink_blob(s, store, m->layers[i].digest, p, err);
        }
        if (r >= 0) {
                _cleanup_free_ char *p = xasprintf("blobs/sha256/%s", m->config.digest + 7);
                r = sink_blob(s, store, m->config.digest, p, err);
        }
        mpath = xasprintf("blobs/sha256/%s", mdigest + 7);
        if (r >= 0)
                r = sink_blob(s, store, mdigest, mpath, err);
        if (r < 0)
                return r;
        json_t *ann = json_object();
        if (name) {
                json_object_set_new(ann, "io.containerd.image.name", json_string(name));
                json_object_set_new(ann, "org.opencontainers.image.ref.name", json_string(tag ? tag + 1 : name));
        }
        index = json_pack("{s:i, s:s, s:[{s:s, s:s, s:I, s:o}]}", "schemaVersion", 2, "mediaType", IMG_MEDIA_OCI_INDEX,
                          "manifests", "mediaType", m->media_type ? m->media_type : IMG_MEDIA_OCI_MANIFEST, "digest",
                          mdigest, "size", (json_int_t)strlen(mbuf), "annotations", ann);
        text = json_dump_compact(index);
        return sink_buf(s, "index.json", text, err);
}

static int export_docker(Sink *s, ImgStore *store, const ImgManifest *m, const char *name, Error **err)
{
        _cleanup_json_ json_t *manifest = NULL, *layers = json_array(), *tags = json_array();
        _cleanup_free_ char *cfg_path = xasprintf("%s.json", m->config.digest + 7), *text = NULL;
        int r;

        r = sink_blob(s, store, m->config.digest, cfg_path, err);
        for (size_t i = 0; r >= 0 && i < m->n_layers; i++) {
                _cleanup_close_ int fd = -EBADF;
                _cleanup_free_ char *p = NULL;
                int64_t size;
                r = decompress_layer(store, m->layers[i].digest, &fd, &size, err);
                if (r < 0)
                        break;
                /* The directory is named after the compressed blob: unique per layer, as docker's ids are. */
                p = xasprintf("%s/layer.tar", m->layers[i].digest + 7);
                r = sink_fd(s, p, fd, size, err);
                json_array_append_new(layers, json_string(p));
        }
        if (r < 0)
                return r;
        if (name)
                json_array_append_new(tags, json_string(name));
        manifest = json_pack("[{s:s, s:O, s:O}]", "Config", cfg_path, "RepoTags", tags, "Layers", layers);
        text = json_dump_compact(manifest);
        return sink_buf(s, "manifest.json", text, err);
}

int img_archive_export(ImgStore *store, const char *manifest_digest, const char *name, ImgArchiveFormat format,
                       const char *path, Error **err)
{
        _cleanup_free_ char *mbuf = NULL;
        _cleanup_(img_manifest_freep) ImgManifest *m = NULL;
        Sink s = { .dir_fd = -EBADF };
        bool is_stdout = strcmp(path, "-") == 0;
        size_t mlen;
        int r;

        r = img_store_read_blob(store, manifest_digest, IMG_MANIFEST_MAX, &mbuf, &mlen, err);
        if (r >= 0)
                r = img_manifest_parse(mbuf, mlen, &m, err);
        if (r < 0)
                return r;
        if (format == IMG_ARCHIVE_OCI_DIR) {
                if (mkdir(path, 0755) < 0 && errno != EEXIST)
                        return error_set(err, errno, "create '%s'", path);
                s.dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (s.dir_fd < 0)
                        return error_set(err, errno, "open '%s'", path);
        } else {
                s.tar = archive_write_new();
                archive_write_set_format_pax_restricted(s.tar);
                if (archive_write_open_filename(s.tar, is_stdout ? NULL : path) != ARCHIVE_OK) {
                        r = error_setf(err, EIO, "create '%s': %s", path, archive_error_string(s.tar));
                        archive_write_free(s.tar);
                        return r;
                }
        }
        if (format == IMG_ARCHIVE_DOCKER_TAR)
                r = export_docker(&s, store, m, name, err);
        else
                r = export_oci(&s, store, manifest_digest, mbuf, m, name, err);
        if (s.tar) {
                if (archive_write_close(s.tar) != ARCHIVE_OK && r >= 0)
                        r = error_setf(err, EIO, "write '%s': %s", path, archive_error_string(s.tar));
                archive_write_free(s.tar);
                if (r < 0 && !is_stdout)
                        unlink(path);
        } else {
                close(s.dir_fd);
                if (r < 0)
                        rm_rf_at(AT_FDCWD, path, NULL);
        }
        return r;
}
