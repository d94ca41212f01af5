/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store.c: the content-addressed blob store, every blob's digest and size verified as it is written */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/alloc.h"
#include "common/digest.h"
#include "common/fs.h"
#include "store.h"

struct ImgStore {
        char *root;
        int blobs_fd; /* root/blobs/sha256 */
};

static const char oci_layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";

int img_store_open(const char *root, ImgStore **ret, Error **err)
{
        _cleanup_(img_store_freep) ImgStore *s = xnew0(ImgStore, 1);
        _cleanup_free_ char *blobs = xasprintf("%s/blobs/sha256", root);
        _cleanup_close_ int root_fd = -EBADF;
        int r;

        s->blobs_fd = -EBADF;
        s->root = xstrdup(root);
        r = mkdir_p(blobs, 0755, err);
        if (r < 0)
                return error_wrap(err, r, "store '%s'", root);
        root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return error_set(err, errno, "open store '%s'", root);
        if (faccessat(root_fd, "oci-layout", F_OK, 0) < 0) {
                r = write_file_atomic_at(root_fd, "oci-layout", oci_layout, strlen(oci_layout), 0644, err);
                if (r < 0)
                        return error_wrap(err, r, "store '%s'", root);
        }
        s->blobs_fd = open(blobs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->blobs_fd < 0)
                return error_set(err, errno, "open '%s'", blobs);
        *ret = TAKE_PTR(s);
        return 0;
}

ImgStore *img_store_free(ImgStore *s)
{
        if (!s)
                return NULL;
        if (s->blobs_fd >= 0)
                close(s->blobs_fd);
        free(s->root);
        free(s);
        return NULL;
}

/* The file name of a digest in blobs/sha256. */
static const char *hex_of(const char *digest)
{
        return digest + strlen("sha256:");
}

typedef ssize_t (*ReadFn)(void *src, void *buf, size_t len);

typedef struct BufSrc {
        const char *p;
        size_t left;
} BufSrc;

static ssize_t read_fd(void *src, void *buf, size_t len)
{
        ssize_t n;
        do
                n = read(*(int *)src, buf, len);
        while (n < 0 && errno == EINTR);
        return n < 0 ? -errno : n;
}

static ssize_t read_buf(void *src, void *buf, size_t len)
{
        BufSrc *b = src;
        size_t n = b->left < len ? b->left : len;
        memcpy(buf, b->p, n);
        b->p += n;
        b->left -= n;
        return (ssize_t)n;
}

/* Copies src into an unnamed file in the blobs directory while digesting it, checks it, and
 * links it in under its digest: there is no moment at which a wrong blob has the right name. */
static int put(ImgStore *s, ReadFn read_src, void *src, const char *expected_digest, int64_t expected_size,
               char **ret_digest, Error **err)
{
        _cleanup_(digest_freep) Digest *d = digest_new();
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *digest = NULL;
        char buf[65536], path[FD_PATH_MAX];
        int64_t size = 0;
        int r;

        if (expected_digest) {
                r = digest_check(expected_digest, err);
                if (r < 0)
                        return r;
        }
        fd = openat(s->blobs_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0)
                return error_set(err, errno, "create a blob in '%s'", s->root);
        for (;;) {
                ssize_t n = read_src(src, buf, sizeof(buf));
                if (n < 0)
                        return error_set(err, (int)n, "read blob");
                if (n == 0)
                        break;
                size += n;
                if (expected_size >= 0 && size > expected_size)
                        return error_setf(err, EBADMSG, "blob %s: more than the %lld bytes expected",
                                          expected_digest ? expected_digest : "", (long long)expected_size);
                digest_update(d, buf, (size_t)n);
                r = fd_write_all(fd, buf, (size_t)n);
                if (r < 0)
                        return error_set(err, r, "write blob");
        }
        digest = digest_finish(d);
        if (expected_size >= 0 && size != expected_size)
                return error_setf(err, EBADMSG, "blob %s: %lld bytes, expected %lld", digest, (long long)size,
                                  (long long)expected_size);
        if (expected_digest && strcmp(digest, expected_digest) != 0)
                return error_setf(err, EBADMSG, "blob: digest %s, expected %s", digest, expected_digest);
        if (fdatasync(fd) < 0)
                return error_set(err, errno, "sync blob %s", digest);
        if (linkat(AT_FDCWD, fd_path(fd, path), s->blobs_fd, hex_of(digest), AT_SYMLINK_FOLLOW) < 0 &&
            errno != EEXIST)
                return error_set(err, errno, "store blob %s", digest);
        if (ret_digest)
                *ret_digest = TAKE_PTR(digest);
        return 0;
}

int img_store_put_fd(ImgStore *s, int fd, const char *expected_digest, int64_t expected_size, char **ret_digest,
                     Error **err)
{
        return put(s, read_fd, &fd, expected_digest, expected_size, ret_digest, err);
}

int img_store_put_buf(ImgStore *s, const void *buf, size_t len, const char *expected_digest, char **ret_digest,
                      Error **err)
{
        BufSrc b = { .p = buf, .left = len };
        return put(s, read_buf, &b, expected_digest, (int64_t)len, ret_digest, err);
}

bool img_store_has(ImgStore *s, const char *digest)
{
        return digest_check(digest, NULL) == 0 && faccessat(s->blobs_fd, hex_of(digest), F_OK, 0) == 0;
}

int img_store_open_blob(ImgStore *s, const char *digest, int *ret_fd, Error **err)
{
        int r = digest_check(digest, err);
        int fd;

        if (r < 0)
                return r;
        fd = openat(s->blobs_fd, hex_of(digest), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                if (errno == ENOENT)
                        return error_setf(err, ENOENT, "blob %s is not in the store", digest);
                return error_set(err, errno, "open blob %s", digest);
        }
        *ret_fd = fd;
        return 0;
}

int img_store_read_blob(ImgStore *s, const char *digest, size_t max, char **ret, size_t *ret_len, Error **err)
{
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        r = img_store_open_blob(s, digest, &fd, err);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return error_set(err, errno, "blob '%s'", digest);
        if ((uint64_t)st.st_size > max)
                return error_setf(err, EFBIG, "blob '%s' is larger than %zu bytes", digest, max);
        return fd_read_all(fd, ret, ret_len, err);
}

int img_store_remove(ImgStore *s, const char *digest, Error **err)
{
        int r = digest_check(digest, err);
        if (r < 0)
                return r;
        if (unlinkat(s->blobs_fd, hex_of(digest), 0) < 0 && errno != ENOENT)
                return error_set(err, errno, "remove blob %s", digest);
        return 0;
}

struct ImgStoreWriter {
        ImgStore *store;
        Digest *digest;
        int fd; /* an O_TMPFILE in the blobs directory until commit */
        char *expected_digest;
        int64_t expected_size;
        uint64_t size;
        bool is_finished; /* the digest is final: committed, or refused at commit */
};

int img_store_writer_new(ImgStore *s, const char *expected_digest, int64_t expected_size, ImgStoreWriter **ret,
                         Error **err)
{
        _cleanup_(img_store_writer_freep) ImgStoreWriter *w = NULL;
        int r = digest_check(expected_digest, err);

        if (r < 0)
                return r;
        w = xnew0(ImgStoreWriter, 1);
        w->store = s;
        w->expected_digest = xstrdup(expected_digest);
        w->expected_size = expected_size;
        w->digest = digest_new();
        w->fd = openat(s->blobs_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
        if (w->fd < 0)
                return error_set(err, errno, "create a blob in '%s'", s->root);
        *ret = TAKE_PTR(w);
        return 0;
}

int img_store_writer_write(ImgStoreWriter *w, const void *data, size_t len, Error **err)
{
        int r;

        if (w->is_finished)
                return error_setf(err, EALREADY, "blob %s: already finished", w->expected_digest);
        if (w->expected_size >= 0 && w->size + len > (uint64_t)w->expected_size)
                return error_setf(err, EBADMSG, "blob %s: more than the %lld bytes expected", w->expected_digest,
                                  (long long)w->expected_size);
        digest_update(w->digest, data, len);
        r = fd_write_all(w->fd, data, len);
        if (r < 0)
                return error_set(err, r, "write blob %s", w->expected_digest);
        w->size += len;
        return 0;
}

uint64_t img_store_writer_size(const ImgStoreWriter *w)
{
        return w->size;
}

int img_store_writer_commit(ImgStoreWriter *w, Error **err)
{
        _cleanup_free_ char *digest = NULL;
        char path[FD_PATH_MAX];

        if (w->is_finished)
                return error_setf(err, EALREADY, "blob %s: already finished", w->expected_digest);
        if (w->expected_size >= 0 && w->size != (uint64_t)w->expected_size)
                return error_setf(err, EBADMSG, "blob %s: %llu bytes, expected %lld", w->expected_digest,
                                  (unsigned long long)w->size, (long long)w->expected_size);
        digest = digest_finish(w->digest);
        w->is_finished = true;
        if (strcmp(digest, w->expected_digest) != 0)
                return error_setf(err, EBADMSG, "blob: digest %s, expected %s", digest, w->expected_digest);
        if (fdatasync(w->fd) < 0)
                return error_set(err, errno, "sync blob %s", digest);
        if (linkat(AT_FDCWD, fd_path(w->fd, path), w->store->blobs_fd, hex_of(digest), AT_SYMLINK_FOLLOW) < 0 &&
            errno != EEXIST)
                return error_set(err, errno, "store blob %s", digest);
        return 0;
}

ImgStoreWriter *img_store_writer_free(ImgStoreWriter *w)
{
        if (!w)
                return NULL;
        if (w->fd >= 0)
                close(w->fd);
        digest_free(w->digest);
        free(w->expected_digest);
        free(w);
        return NULL;
}
