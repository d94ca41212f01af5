/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ignore.c: build context paths: .containerignore/.dockerignore patterns, COPY/ADD source lookup */
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/strv.h"
#include "containerfile.h"
#include "words.h"

/* ---- paths ---- */

bool img_context_clean_path(const char *path, char **ret)
{
        /* The result is never longer than path: components are only dropped, one '/' between the rest. */
        _cleanup_free_ char *copy = xstrdup(path), *out = xmalloc(strlen(path) + 1);
        size_t len = 0;
        char *save = NULL;

        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                size_t n = strlen(c);
                if (strcmp(c, ".") == 0)
                        continue;
                if (strcmp(c, "..") == 0) {
                        char *slash;
                        if (len == 0)
                                return false;
                        out[len] = 0;
                        slash = strrchr(out, '/');
                        len = slash ? (size_t)(slash - out) : 0;
                        continue;
                }
                if (len)
                        out[len++] = '/';
                memcpy(out + len, c, n);
                len += n;
        }
        out[len] = 0;
        *ret = TAKE_PTR(out);
        return true;
}

/* ---- ignore files ---- */

typedef struct IgnorePattern {
        char **parts;
        bool is_exception;
} IgnorePattern;

struct ImgIgnore {
        IgnorePattern *pats;
        size_t n_pats;
        bool has_exceptions;
};

static char **split_path(const char *path)
{
        _cleanup_free_ char *copy = xstrdup(path);
        char **parts = xnew0(char *, 1);
        char *save = NULL;

        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save))
                strv_push(&parts, c);
        return parts;
}

ImgIgnore *img_ignore_parse(const char *text, size_t len)
{
        ImgIgnore *ig = xnew0(ImgIgnore, 1);
        const char *end = text + len;

        for (const char *l = text; l < end;) {
                _cleanup_free_ char *line = NULL, *clean = NULL;
                const char *nl = memchr(l, '\n', (size_t)(end - l));
                size_t n = nl ? (size_t)(nl - l) : (size_t)(end - l);
                bool is_exception = false;
                char *p;

                line = xstrndup(l, n); /* stops at a NUL byte: the rest of that line is dropped */
                l += n + (nl ? 1 : 0);
                p = (char *)img_cf_skip_blanks(line);
                if (*p == '#')
                        continue;
                for (size_t e = strlen(p); e > 0 && img_cf_is_blank(p[e - 1]); e--)
                        p[e - 1] = 0;
                if (*p == '!') {
                        is_exception = true;
                        p = (char *)img_cf_skip_blanks(p + 1);
                }
                while (*p == '/')
                        p++;
                /* One that climbs out of the context can match nothing in it. */
                if (!*p || !img_context_clean_path(p, &clean) || !*clean)
                        continue;
                IgnorePattern *pat = xappend(ig->pats, ig->n_pats);
                pat->parts = split_path(clean);
                pat->is_exception = is_exception;
                ig->has_exceptions = ig->has_exceptions || is_exception;
        }
        return ig;
}

int img_ignore_load(int context_fd, ImgIgnore **ret, Error **err)
{
        static const char *const names[] = { ".containerignore", ".dockerignore" };

        for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
                _cleanup_free_ char *text = NULL;
                size_t len;
                int fd = openat(context_fd, names[i], O_RDONLY | O_CLOEXEC | O_NOCTTY);
                int r;

                if (fd < 0 && errno == ENOENT)
                        continue;
                if (fd < 0)
                        return error_set(err, errno, "open '%s'", names[i]);
                r = fd_read_all(fd, &text, &len, err);
                close(fd);
                if (r < 0)
                        return error_wrap(err, r, "'%s'", names[i]);
                *ret = img_ignore_parse(text, len);
                return 0;
        }
        *ret = xnew0(ImgIgnore, 1);
        return 0;
}

/* Whether pattern parts match path parts[0..j) for some j >= 1: the path or one of its parents.
 * reach[j]: the pattern parts so far match the first j path parts; "**" matches any number. */
static bool pattern_match(char *const *pat, char *const *parts, size_t n)
{
        _cleanup_free_ bool *reach = xnew0(bool, n + 1), *next = xnew0(bool, n + 1);

        reach[0] = true;
        for (size_t i = 0; pat[i]; i++) {
                bool is_any = strcmp(pat[i], "**") == 0, seen = false;
                for (size_t j = 0; j <= n; j++) {
                        if (is_any) {
                                seen = seen || reach[j];
                                next[j] = seen;
                        } else {
                                next[j] = j > 0 && reach[j - 1] && fnmatch(pat[i], parts[j - 1], 0) == 0;
                        }
                }
                memcpy(reach, next, (n + 1) * sizeof(bool));
        }
        for (size_t j = 1; j <= n; j++)
                if (reach[j])
                        return true;
        return false;
}

bool img_ignore_match(const ImgIgnore *ig, const char *path)
{
        _cleanup_strv_ char **parts = NULL;
        _cleanup_free_ char *clean = NULL;
        bool is_excluded = false;

        if (!ig || ig->n_pats == 0)
                return false;
        while (*path == '/')
                path++;
        if (!img_context_clean_path(path, &clean) || !*clean)
                return false;
        parts = split_path(clean);
        for (size_t i = 0; i < ig->n_pats; i++)
                if (is_excluded == ig->pats[i].is_exception &&
                    pattern_match(ig->pats[i].parts, parts, strv_length(parts)))
                        is_excluded = !ig->pats[i].is_exception;
        return is_excluded;
}

bool img_ignore_is_skipped(const char *path, void *ig)
{
        return img_ignore_match(ig, path);
}

bool img_ignore_has_exceptions(const ImgIgnore *ig)
{
        return ig && ig->has_exceptions;
}

ImgIgnore *img_ignore_free(ImgIgnore *ig)
{
        if (!ig)
                return NULL;
        for (size_t i = 0; i < ig->n_pats; i++)
                strv_free(ig->pats[i].parts);
        free(ig->pats);
        free(ig);
        return NULL;
}

/* ---- COPY sources ---- */

/* Opens path below context_fd, never resolving outside it (RESOLVE_BENEATH: a "..", an absolute
 * symlink or one that climbs out fails with EXDEV). */
static int open_beneath(int context_fd, const char *path, int flags)
{
        struct open_how how = {
                .flags = (unsigned long long)(flags | O_CLOEXEC),
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
        };
        int fd;

        do
                fd = (int)syscall(SYS_openat2, context_fd, *path ? path : ".", &how, sizeof(how));
        while (fd < 0 && errno == EAGAIN);
        return fd < 0 ? -errno : fd;
}

static bool has_glob(const char *s)
{
        return strpbrk(s, "*?[\\") != NULL;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join(const char *dir, const char *name)
{
        return *dir ? xasprintf("%s/%s", dir, name) : xstrdup(name);
}

/* The entries of dir (relative to the context) that match pattern, appended to *out. */
static int glob_dir(int context_fd, const char *src, const char *dir, const char *pattern, char ***out,
                    Error **err)
{
        int fd = open_beneath(context_fd, dir, O_RDONLY | O_DIRECTORY);
        struct dirent *de;
        DIR *d;

        if (fd == -EXDEV || fd == -ELOOP)
                return error_setf(err, EINVAL, "source '%s': '%s' leads outside the build context", src, dir);
        if (fd == -ENOENT || fd == -ENOTDIR)
                return 0;
        if (fd < 0)
                return error_set(err, fd, "source '%s': open '%s'", src, dir);
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return error_set(err, errno, "source '%s': read '%s'", src, dir);
        }
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
                    fnmatch(pattern, de->d_name, 0) == 0)
                        strv_consume(out, join(dir, de->d_name));
        closedir(d);
        return 0;
}

/* Keeps the candidates that exist, inside the context and not ignored; 1 if one was ignored. */
static int filter_candidates(int context_fd, const char *src, char **cands, const ImgIgnore *ig, char ***out,
                             Error **err)
{
        bool is_any_ignored = false;

        for (size_t i = 0; cands && cands[i]; i++) {
                struct stat st;
                int fd = open_beneath(context_fd, cands[i], O_PATH);

                if (fd == -EXDEV || fd == -ELOOP)
                        return error_setf(err, EINVAL, "source '%s': '%s' leads outside the build context", src,
                                          cands[i]);
                if (fd == -ENOENT || fd == -ENOTDIR)
                        continue;
                if (fd < 0)
                        return error_set(err, fd, "source '%s': open '%s'", src, cands[i]);
                if (fstat(fd, &st) < 0) {
                        close(fd);
                        return error_set(err, errno, "source '%s': stat '%s'", src, cands[i]);
                }
                close(fd);
                /* An ignored directory still counts when exceptions may bring back files in it. */
                if (*cands[i] && img_ignore_match(ig, cands[i]) &&
                    !(S_ISDIR(st.st_mode) && img_ignore_has_exceptions(ig))) {
                        is_any_ignored = true;
                        continue;
                }
                strv_push(out, *cands[i] ? cands[i] : ".");
        }
        return is_any_ignored;
}

int img_context_resolve(int context_fd, const char *src, const ImgIgnore *ig, char ***ret_paths, Error **err)
{
        _cleanup_free_ char *clean = NULL;
        _cleanup_strv_ char **parts = NULL, **cands = NULL, **found = NULL;
        const char *s = src;
        int r;

        while (*s == '/')
                s++;
        if (!img_context_clean_path(s, &clean))
                return error_setf(err, EINVAL, "source '%s': outside the build context", src);
        parts = split_path(clean);
        strv_push(&cands, "");
        for (size_t i = 0; parts[i]; i++) {
                _cleanup_strv_ char **next = NULL;
                for (size_t k = 0; cands[k]; k++) {
                        if (!has_glob(parts[i])) {
                                strv_consume(&next, join(cands[k], parts[i]));
                                continue;
                        }
                        r = glob_dir(context_fd, src, cands[k], parts[i], &next, err);
                        if (r < 0)
                                return r;
                }
                strv_free(cands);
                cands = TAKE_PTR(next);
        }
        r = filter_candidates(context_fd, src, cands, ig, &found, err);
        if (r < 0)
                return r;
        if (!found)
                return error_setf(err, ENOENT, "source '%s': %s", src,
                                  r > 0 ? "excluded by the ignore file" : "no such file in the build context");
        qsort(found, strv_length(found), sizeof(char *), cmp_str);
        *ret_paths = TAKE_PTR(found);
        return 0;
}
