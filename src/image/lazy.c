/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lazy.c: libcurl and libarchive loaded on first use, so commands that need neither start fast */
/*
 * Between them, libcurl and libarchive bring some thirty shared libraries (TLS, Kerberos, LDAP,
 * ICU, ...) whose loading and constructors cost a process about 7 ms at every start: more than
 * the rest of `hull run` put together. hull links neither: the functions it calls from them are
 * defined here with common/lazy.h, checked against the libraries' own headers.
 */
#include <archive.h>
#include <archive_entry.h>
/* curl.h wraps these two in type-checking macros; here they are defined. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/lazy.h"

LAZY_LIB(curl, "libcurl.so.4")
LAZY_LIB(archive, "libarchive.so.13")

LAZY_VOID(curl, curl_easy_cleanup, (CURL *curl), (curl))
LAZY(curl, CURL *, curl_easy_init, (void), ())
LAZY(curl, CURLcode, curl_easy_perform, (CURL *curl), (curl))
LAZY_VOID(curl, curl_easy_reset, (CURL *curl), (curl))
LAZY(curl, const char *, curl_easy_strerror, (CURLcode code), (code))
LAZY_VOID(curl, curl_global_cleanup, (void), ())
LAZY(curl, CURLcode, curl_global_init, (long flags), (flags))
LAZY(curl, CURLMcode, curl_multi_add_handle, (CURLM *multi_handle, CURL *curl_handle), (multi_handle, curl_handle))
LAZY(curl, CURLMcode, curl_multi_cleanup, (CURLM *multi_handle), (multi_handle))
LAZY(curl, CURLMsg *, curl_multi_info_read, (CURLM *multi_handle, int *msgs_in_queue), (multi_handle, msgs_in_queue))
LAZY(curl, CURLM *, curl_multi_init, (void), ())
LAZY(curl, CURLMcode, curl_multi_perform, (CURLM *multi_handle, int *running_handles), (multi_handle, running_handles))
LAZY(curl, CURLMcode, curl_multi_poll, (CURLM *multi_handle, struct curl_waitfd extra_fds[], unsigned int extra_nfds, int timeout_ms, int *ret), (multi_handle, extra_fds, extra_nfds, timeout_ms, ret))
LAZY(curl, CURLMcode, curl_multi_remove_handle, (CURLM *multi_handle, CURL *curl_handle), (multi_handle, curl_handle))
LAZY(curl, struct curl_slist *, curl_slist_append, (struct curl_slist *list, const char *data), (list, data))
LAZY_VOID(curl, curl_slist_free_all, (struct curl_slist *list), (list))
LAZY(archive, time_t, archive_entry_atime, (struct archive_entry *e), (e))
LAZY(archive, int, archive_entry_atime_is_set, (struct archive_entry *e), (e))
LAZY(archive, long, archive_entry_atime_nsec, (struct archive_entry *e), (e))
LAZY(archive, struct archive_entry *, archive_entry_clear, (struct archive_entry *e), (e))
LAZY(archive, mode_t, archive_entry_filetype, (struct archive_entry *e), (e))
LAZY_VOID(archive, archive_entry_free, (struct archive_entry *e), (e))
LAZY(archive, la_int64_t, archive_entry_gid, (struct archive_entry *e), (e))
LAZY(archive, const char *, archive_entry_hardlink, (struct archive_entry *e), (e))
LAZY(archive, mode_t, archive_entry_mode, (struct archive_entry *e), (e))
LAZY(archive, time_t, archive_entry_mtime, (struct archive_entry *e), (e))
LAZY(archive, int, archive_entry_mtime_is_set, (struct archive_entry *e), (e))
LAZY(archive, long, archive_entry_mtime_nsec, (struct archive_entry *e), (e))
LAZY(archive, struct archive_entry *, archive_entry_new, (void), ())
LAZY(archive, const char *, archive_entry_pathname, (struct archive_entry *e), (e))
LAZY(archive, mode_t, archive_entry_perm, (struct archive_entry *e), (e))
LAZY(archive, dev_t, archive_entry_rdev, (struct archive_entry *e), (e))
LAZY(archive, dev_t, archive_entry_rdevmajor, (struct archive_entry *e), (e))
LAZY(archive, dev_t, archive_entry_rdevminor, (struct archive_entry *e), (e))
LAZY_VOID(archive, archive_entry_set_filetype, (struct archive_entry *e, unsigned int type), (e, type))
LAZY_VOID(archive, archive_entry_set_gid, (struct archive_entry *e, la_int64_t gid), (e, gid))
LAZY_VOID(archive, archive_entry_set_hardlink, (struct archive_entry *e, const char *target), (e, target))
LAZY_VOID(archive, archive_entry_set_mode, (struct archive_entry *e, mode_t mode), (e, mode))
LAZY_VOID(archive, archive_entry_set_mtime, (struct archive_entry *e, time_t sec, long nsec), (e, sec, nsec))
LAZY_VOID(archive, archive_entry_set_pathname, (struct archive_entry *e, const char *path), (e, path))
LAZY_VOID(archive, archive_entry_set_perm, (struct archive_entry *e, mode_t mode), (e, mode))
LAZY_VOID(archive, archive_entry_set_rdev, (struct archive_entry *e, dev_t dev), (e, dev))
LAZY_VOID(archive, archive_entry_set_size, (struct archive_entry *e, la_int64_t size), (e, size))
LAZY_VOID(archive, archive_entry_set_symlink, (struct archive_entry *e, const char *target), (e, target))
LAZY_VOID(archive, archive_entry_set_uid, (struct archive_entry *e, la_int64_t uid), (e, uid))
LAZY(archive, la_int64_t, archive_entry_size, (struct archive_entry *e), (e))
LAZY(archive, int, archive_entry_size_is_set, (struct archive_entry *e), (e))
LAZY(archive, const char *, archive_entry_symlink, (struct archive_entry *e), (e))
LAZY(archive, la_int64_t, archive_entry_uid, (struct archive_entry *e), (e))
LAZY_VOID(archive, archive_entry_xattr_add_entry, (struct archive_entry *e, const char *name, const void *value, size_t size), (e, name, value, size))
LAZY(archive, int, archive_entry_xattr_count, (struct archive_entry *e), (e))
LAZY(archive, int, archive_entry_xattr_next, (struct archive_entry *e, const char **name, const void **value, size_t *size), (e, name, value, size))
LAZY(archive, int, archive_entry_xattr_reset, (struct archive_entry *e), (e))
LAZY(archive, int, archive_errno, (struct archive *a), (a))
LAZY(archive, const char *, archive_error_string, (struct archive *a), (a))
LAZY(archive, la_ssize_t, archive_read_data, (struct archive *a, void *buf, size_t size), (a, buf, size))
LAZY(archive, int, archive_read_data_block, (struct archive *a, const void **buff, size_t *size, la_int64_t *offset), (a, buff, size, offset))
LAZY(archive, int, archive_read_free, (struct archive *a), (a))
LAZY(archive, struct archive *, archive_read_new, (void), ())
LAZY(archive, int, archive_read_next_header, (struct archive *a, struct archive_entry **e), (a, e))
LAZY(archive, int, archive_read_open, (struct archive *a, void *data, archive_open_callback *open_cb, archive_read_callback *read_cb, archive_close_callback *close_cb), (a, data, open_cb, read_cb, close_cb))
LAZY(archive, int, archive_read_open_fd, (struct archive *a, int fd, size_t block_size), (a, fd, block_size))
LAZY(archive, int, archive_read_open_filename, (struct archive *a, const char *filename, size_t block_size), (a, filename, block_size))
LAZY(archive, int, archive_read_support_filter_all, (struct archive *a), (a))
LAZY(archive, int, archive_read_support_filter_bzip2, (struct archive *a), (a))
LAZY(archive, int, archive_read_support_filter_gzip, (struct archive *a), (a))
LAZY(archive, int, archive_read_support_filter_xz, (struct archive *a), (a))
LAZY(archive, int, archive_read_support_filter_zstd, (struct archive *a), (a))
LAZY(archive, int, archive_read_support_format_raw, (struct archive *a), (a))
LAZY(archive, int, archive_read_support_format_tar, (struct archive *a), (a))
LAZY(archive, int, archive_write_add_filter_gzip, (struct archive *a), (a))
LAZY(archive, int, archive_write_add_filter_zstd, (struct archive *a), (a))
LAZY(archive, int, archive_write_close, (struct archive *a), (a))
LAZY(archive, la_ssize_t, archive_write_data, (struct archive *a, const void *buf, size_t size), (a, buf, size))
LAZY(archive, int, archive_write_fail, (struct archive *a), (a))
LAZY(archive, int, archive_write_free, (struct archive *a), (a))
LAZY(archive, int, archive_write_header, (struct archive *a, struct archive_entry *e), (a, e))
LAZY(archive, struct archive *, archive_write_new, (void), ())
LAZY(archive, int, archive_write_open2, (struct archive *a, void *data, archive_open_callback *open_cb, archive_write_callback *write_cb, archive_close_callback *close_cb, archive_free_callback *free_cb), (a, data, open_cb, write_cb, close_cb, free_cb))
LAZY(archive, int, archive_write_open_filename, (struct archive *a, const char *file), (a, file))
LAZY(archive, int, archive_write_set_bytes_in_last_block, (struct archive *a, int bytes), (a, bytes))
LAZY(archive, int, archive_write_set_bytes_per_block, (struct archive *a, int bytes), (a, bytes))
LAZY(archive, int, archive_write_set_filter_option, (struct archive *a, const char *m, const char *o, const char *v), (a, m, o, v))
LAZY(archive, int, archive_write_set_format_option, (struct archive *a, const char *m, const char *o, const char *v), (a, m, o, v))
LAZY(archive, int, archive_write_set_format_pax_restricted, (struct archive *a), (a))
LAZY(archive, int, archive_write_set_format_raw, (struct archive *a), (a))

/*
 * The variadic ones. Their single extra argument is a long, a pointer or a curl_off_t: on the 64-bit
 * ABIs Linux runs on, all are passed alike, so it is taken and passed on as a 64-bit value.
 */
CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
        static CURLcode (*volatile fn)(CURL *, CURLoption, ...);
        CURLcode (*f)(CURL *, CURLoption, ...) = fn;
        va_list ap;
        void *arg;

        if (!f)
                fn = f = (CURLcode(*)(CURL *, CURLoption, ...))lazy_resolve(&lazy_curl, lazy_open_curl,
                                                                            "curl_easy_setopt");
        va_start(ap, option);
        arg = va_arg(ap, void *);
        va_end(ap);
        return f(curl, option, arg);
}

CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
        static CURLcode (*volatile fn)(CURL *, CURLINFO, ...);
        CURLcode (*f)(CURL *, CURLINFO, ...) = fn;
        va_list ap;
        void *arg;

        if (!f)
                fn = f = (CURLcode(*)(CURL *, CURLINFO, ...))lazy_resolve(&lazy_curl, lazy_open_curl,
                                                                          "curl_easy_getinfo");
        va_start(ap, info);
        arg = va_arg(ap, void *);
        va_end(ap);
        return f(curl, info, arg);
}

void archive_set_error(struct archive *a, int err, const char *fmt, ...)
{
        static void (*volatile fn)(struct archive *, int, const char *, ...);
        void (*f)(struct archive *, int, const char *, ...) = fn;
        char buf[1024];
        va_list ap;

        if (!f)
                fn = f = (void (*)(struct archive *, int, const char *, ...))lazy_resolve(
                    &lazy_archive, lazy_open_archive, "archive_set_error");
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        f(a, err, "%s", buf);
}
