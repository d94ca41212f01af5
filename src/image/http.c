/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* http.c: registry HTTP over libcurl: TLS and HTTP fallback, auth challenges and tokens, error mapping */
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/json.h"
#include "common/log.h"
#include "auth.h"
#include "internal.h"
#include "reference.h"

#define CONNECT_TIMEOUT_S 10L
#define STALL_TIMEOUT_S 30L /* a transfer with no byte moving for this long is aborted */
#define ERROR_BODY_MAX (64u * 1024)
#define TOKEN_BODY_MAX (1024u * 1024)

static void reset_answer(ImgHttpRequest *r)
{
        r->status = 0;
        r->resp_content_type = mfree(r->resp_content_type);
        r->location = mfree(r->location);
        r->www_authenticate = mfree(r->www_authenticate);
        r->docker_digest = mfree(r->docker_digest);
        r->len = 0;
        if (r->buf)
                r->buf[0] = '\0';
}

ImgHttpRequest *img_http_request_free(ImgHttpRequest *r)
{
        if (!r)
                return NULL;
        if (r->easy) {
                if (r->is_active)
                        curl_multi_remove_handle(r->c->multi, r->easy);
                curl_easy_cleanup(r->easy);
        }
        curl_slist_free_all(r->headers);
        reset_answer(r);
        free(r->buf);
        free(r->url);
        free(r->what);
        free(r->scope_owned);
        free(r->bearer);
        free(r->blob_digest);
        img_store_writer_free(r->w);
        error_free(r->write_err);
        if (r->body_fd >= 0)
                close(r->body_fd);
        free(r);
        return NULL;
}

/* A request to an absolute URL or to a path below the client's base. */
ImgHttpRequest *img_http_request_new(ImgHttpClient *c, const char *method, const char *url_or_path)
{
        ImgHttpRequest *r = xnew0(ImgHttpRequest, 1);

        r->c = c;
        r->method = method;
        r->body_fd = -EBADF;
        r->url = strncmp(url_or_path, "http://", 7) == 0 || strncmp(url_or_path, "https://", 8) == 0
                         ? xstrdup(url_or_path)
                         : xasprintf("%s%s", c->base, url_or_path);
        r->verify = !c->is_insecure;
        r->use_auth = true;
        r->scope = c->scope;
        r->max = ERROR_BODY_MAX;
        return r;
}

/* The URL without its query, which may carry upload state: for messages. */
static char *url_for_msg(const char *url)
{
        return xstrndup(url, strcspn(url, "?"));
}

static char *trim(char *s)
{
        size_t n;
        while (*s == ' ' || *s == '\t')
                s++;
        n = strlen(s);
        while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t'))
                s[--n] = '\0';
        return s;
}

static void replace(char **field, const char *value)
{
        free(*field);
        *field = xstrdup(value);
}

/* Headers arrive a line at a time, for every response of a redirect chain: a status line starts
 * a new response, so only the final one's headers remain. */
static size_t on_header(char *p, size_t size, size_t n, void *userdata)
{
        ImgHttpRequest *r = userdata;
        size_t len = size * n;
        _cleanup_free_ char *line = xstrndup(p, len);
        char *colon, *value;

        if (strncmp(line, "HTTP/", 5) == 0) {
                const char *sp = strchr(line, ' ');
                reset_answer(r);
                r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
                return len;
        }
        colon = strchr(line, ':');
        if (!colon)
                return len;
        *colon = '\0';
        value = trim(colon + 1);
        if (strcasecmp(line, "content-type") == 0)
                replace(&r->resp_content_type, value);
        else if (strcasecmp(line, "location") == 0)
                replace(&r->location, value);
        else if (strcasecmp(line, "docker-content-digest") == 0)
                replace(&r->docker_digest, value);
        else if (strcasecmp(line, "www-authenticate") == 0 &&
                 (!r->www_authenticate || strncasecmp(value, "bearer", 6) == 0))
                replace(&r->www_authenticate, value);
        return len;
}

bool img_http_is_2xx(long status)
{
        return status >= 200 && status < 300;
}

static size_t on_body(char *p, size_t size, size_t n, void *userdata)
{
        ImgHttpRequest *r = userdata;
        size_t len = size * n;
        size_t max = img_http_is_2xx(r->status) ? r->max : ERROR_BODY_MAX;

        if (r->w && img_http_is_2xx(r->status)) {
                if (img_store_writer_write(r->w, p, len, &r->write_err) < 0)
                        return CURL_WRITEFUNC_ERROR;
                r->done += len;
                return len;
        }
        if (r->len + len > max) {
                if (!img_http_is_2xx(r->status))
                        return len; /* the start of an error body says enough */
                error_setf(&r->write_err, EBADMSG, "answer larger than %zu bytes", max);
                return CURL_WRITEFUNC_ERROR;
        }
        r->buf = xrealloc(r->buf, r->len + len + 1);
        memcpy(r->buf + r->len, p, len);
        r->len += len;
        r->buf[r->len] = '\0';
        return len;
}

static size_t on_read(char *p, size_t size, size_t n, void *userdata)
{
        ImgHttpRequest *r = userdata;
        size_t want = size * n;
        ssize_t k;

        if (r->body) {
                k = (ssize_t)(want < r->body_len - r->body_off ? want : r->body_len - r->body_off);
                memcpy(p, r->body + r->body_off, (size_t)k);
        } else {
                if (want > r->body_size - r->body_off)
                        want = r->body_size - r->body_off;
                do
                        k = pread(r->body_fd, p, want, (off_t)r->body_off);
                while (k < 0 && errno == EINTR);
                if (k < 0)
                        return CURL_READFUNC_ABORT;
        }
        r->body_off += (uint64_t)k;
        r->done = r->body_off;
        return (size_t)k;
}

/* curl rewinds an upload it must send again (a redirect, a retry on a reused connection). */
static int on_seek(void *userdata, curl_off_t offset, int origin)
{
        ImgHttpRequest *r = userdata;
        if (origin != SEEK_SET || offset < 0)
                return CURL_SEEKFUNC_CANTSEEK;
        r->body_off = (uint64_t)offset;
        return CURL_SEEKFUNC_OK;
}

static void add_header(ImgHttpRequest *r, const char *fmt, ...) _printf_(2, 3);
static void add_header(ImgHttpRequest *r, const char *fmt, ...)
{
        _cleanup_free_ char *h = NULL;
        va_list ap;

        va_start(ap, fmt);
        h = xvasprintf(fmt, ap);
        va_end(ap);
        r->headers = curl_slist_append(r->headers, h);
        if (!r->headers)
                abort();
}

static int token_get(ImgHttpClient *c, const char *scope, char **ret, Error **err);

/* Sets up (or again, after a challenge) the easy handle for r. */
static int request_prepare(ImgHttpRequest *r, Error **err)
{
        ImgHttpClient *c = r->c;
        CURL *e;
        int k;

        r->bearer = mfree(r->bearer);
        if (r->use_auth && c->auth == IMG_HTTP_AUTH_BEARER) {
                k = token_get(c, r->scope ? r->scope : "", &r->bearer, err);
                if (k < 0)
                        return k;
        }
        if (r->use_auth && c->auth == IMG_HTTP_AUTH_BASIC && c->user)
                r->use_basic = true;
        if (r->store) {
                r->w = img_store_writer_free(r->w);
                k = img_store_writer_new(r->store, r->blob_digest, r->blob_size, &r->w, err);
                if (k < 0)
                        return k;
        }
        reset_answer(r);
        r->write_err = error_free(r->write_err);
        r->done = r->body_off = 0;
        r->errbuf[0] = '\0';
        if (!r->easy) {
                r->easy = curl_easy_init();
                if (!r->easy)
                        abort();
        }
        e = r->easy;
        curl_easy_reset(e);
        curl_slist_free_all(r->headers);
        r->headers = NULL;

        curl_easy_setopt(e, CURLOPT_URL, r->url);
        curl_easy_setopt(e, CURLOPT_PRIVATE, r);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(e, CURLOPT_USERAGENT, "hull/" "0.1");
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, STALL_TIMEOUT_S);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, r->verify ? 1L : 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, r->verify ? 2L : 0L);
        if (c->o->ca_file)
                curl_easy_setopt(e, CURLOPT_CAINFO, c->o->ca_file);
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
        if (r->use_basic) {
                /* curl sends these to the first host only, never to one a redirect leads to. */
                curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
                curl_easy_setopt(e, CURLOPT_USERNAME, c->user);
                curl_easy_setopt(e, CURLOPT_PASSWORD, c->password ? c->password : "");
        }
        if (r->bearer)
                add_header(r, "Authorization: Bearer %s", r->bearer);
        if (r->accept)
                add_header(r, "Accept: %s", r->accept);
        if (r->content_type)
                add_header(r, "Content-Type: %s", r->content_type);
        add_header(r, "Expect:"); /* no 100-continue round trip before an upload */

        if (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0) {
                /* Blobs are often served by a redirect to other storage. */
                curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
                curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
                if (r->method[0] == 'H')
                        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        } else if (strcmp(r->method, "POST") == 0) {
                curl_easy_setopt(e, CURLOPT_POST, 1L);
                curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
                curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
        } else if (strcmp(r->method, "PUT") == 0) {
                curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
                curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
                curl_easy_setopt(e, CURLOPT_READDATA, r);
                curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
                curl_easy_setopt(e, CURLOPT_SEEKDATA, r);
                curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE,
                                 (curl_off_t)(r->body ? r->body_len : r->body_fd >= 0 ? r->body_size : 0));
        } else {
                curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
        }
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
        return 0;
}

/* A transfer that got no HTTP answer: the errno says what kind of failure, the text says where. */
static int transport_error(ImgHttpRequest *r, Error **err)
{
        _cleanup_free_ char *url = url_for_msg(r->url);
        const char *text = r->errbuf[0] ? r->errbuf : curl_easy_strerror(r->result);
        long os_errno = 0;

        if (r->write_err) {
                int code = r->write_err->code;
                if (err && !*err)
                        *err = TAKE_PTR(r->write_err);
                return -code;
        }
        switch (r->result) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return error_setf(err, EHOSTUNREACH, "%s %s: cannot resolve the host: %s", r->method, url, text);
        case CURLE_COULDNT_CONNECT:
                curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &os_errno);
                if (os_errno != EHOSTUNREACH && os_errno != ENETUNREACH && os_errno != ETIMEDOUT)
                        os_errno = ECONNREFUSED;
                return error_set(err, (int)os_errno, "%s %s", r->method, url);
        case CURLE_OPERATION_TIMEDOUT:
                return error_setf(err, ETIMEDOUT, "%s %s: timed out or stalled: %s", r->method, url, text);
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_INVALIDCERTSTATUS:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
                return error_setf(err, EPROTO, "%s %s: TLS: %s", r->method, url, text);
        case CURLE_TOO_MANY_REDIRECTS:
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_WEIRD_SERVER_REPLY:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
        case CURLE_BAD_CONTENT_ENCODING:
                return error_setf(err, EPROTO, "%s %s: %s", r->method, url, text);
        case CURLE_GOT_NOTHING:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_PARTIAL_FILE:
                return error_setf(err, ECONNRESET, "%s %s: %s", r->method, url, text);
        default:
                return error_setf(err, EIO, "%s %s: %s", r->method, url, text);
        }
}

/* The registry's own words from an error body: {"errors": [{"code": ..., "message": ...}]}. */
static void registry_error(const ImgHttpRequest *r, char **ret_code, char **ret_message)
{
        _cleanup_json_ json_t *j = NULL;
        json_t *errors, *first;
        const char *s = NULL;

        if (r->len == 0 || !(j = json_loadb(r->buf, r->len, 0, NULL)))
                return;
        errors = json_object_get(j, "errors");
        first = json_array_get(errors, 0);
        if (json_get_string(first, "code", "", &s, NULL) > 0)
                *ret_code = xstrdup(s);
        s = NULL;
        if (json_get_string(first, "message", "", &s, NULL) > 0 && *s)
                *ret_message = xstrndup(s, 300);
}

static int status_errno(long status, const char *code)
{
        if (status == 401 || status == 403)
                return EACCES;
        if (status == 404)
                return ENOENT;
        if (status == 429 || status >= 500)
                return EIO;
        if (code && (strcmp(code, "MANIFEST_UNKNOWN") == 0 || strcmp(code, "NAME_UNKNOWN") == 0 ||
                     strcmp(code, "BLOB_UNKNOWN") == 0 || strcmp(code, "BLOB_UPLOAD_UNKNOWN") == 0))
                return ENOENT;
        if (code && (strcmp(code, "UNAUTHORIZED") == 0 || strcmp(code, "DENIED") == 0))
                return EACCES;
        if (code && strcmp(code, "UNSUPPORTED") == 0)
                return EOPNOTSUPP;
        if (status == 405)
                return EOPNOTSUPP;
        return EPROTO;
}

/* An HTTP answer that is not the one wanted, as an error: "not found: manifest unknown". */
int img_http_error(const ImgHttpRequest *r, Error **err)
{
        _cleanup_free_ char *code = NULL, *message = NULL, *what = NULL;

        registry_error(r, &code, &message);
        switch (r->status) {
        case 401:
                what = xstrdup("unauthorized");
                break;
        case 403:
                what = xstrdup("denied");
                break;
        case 404:
                what = xstrdup("not found");
                break;
        case 429:
                what = xstrdup("too many requests");
                break;
        default:
                what = r->status >= 500 ? xasprintf("server error (HTTP %ld)", r->status)
                                        : xasprintf("unexpected HTTP status %ld", r->status);
        }
        return error_setf(err, status_errno(r->status, code), "%s%s%s", what, message ? ": " : "",
                          message ? message : "");
}

/* A WWW-Authenticate challenge: scheme and the realm, service and scope parameters. */
void img_http_challenge_done(ImgHttpChallenge *ch)
{
        free(ch->realm);
        free(ch->service);
        free(ch->scope);
}

void img_http_challenge_parse(const char *h, ImgHttpChallenge *ret)
{
        const char *p = h;

        *ret = (ImgHttpChallenge){};
        if (strncasecmp(p, "bearer", 6) == 0 && (p[6] == ' ' || p[6] == '\0'))
                ret->kind = IMG_HTTP_AUTH_BEARER;
        else if (strncasecmp(p, "basic", 5) == 0 && (p[5] == ' ' || p[5] == '\0'))
                ret->kind = IMG_HTTP_AUTH_BASIC;
        else
                return;
        p += strcspn(p, " ");
        while (*p) {
                size_t klen;
                const char *key;
                _cleanup_free_ char *value = NULL;
                size_t n = 0;

                p += strspn(p, " ,");
                key = p;
                klen = strcspn(p, "=, ");
                p += klen;
                if (*p != '=')
                        continue;
                p++;
                value = xmalloc(strlen(p) + 1);
                if (*p == '"') {
                        for (p++; *p && *p != '"'; p++) {
                                if (*p == '\\' && p[1])
                                        p++;
                                value[n++] = *p;
                        }
                        if (*p == '"')
                                p++;
                } else {
                        while (*p && *p != ',' && *p != ' ')
                                value[n++] = *p++;
                }
                value[n] = '\0';
                if (klen == 5 && strncasecmp(key, "realm", 5) == 0)
                        replace(&ret->realm, value);
                else if (klen == 7 && strncasecmp(key, "service", 7) == 0)
                        replace(&ret->service, value);
                else if (klen == 5 && strncasecmp(key, "scope", 5) == 0)
                        replace(&ret->scope, value);
        }
}

static void tokens_clear(ImgHttpClient *c)
{
        for (size_t i = 0; i < c->n_tokens; i++) {
                free(c->tokens[i].scope);
                free(c->tokens[i].token);
        }
        c->tokens = mfree(c->tokens);
        c->n_tokens = 0;
}

static void token_forget(ImgHttpClient *c, const char *scope)
{
        for (size_t i = 0; i < c->n_tokens; i++)
                if (strcmp(c->tokens[i].scope, scope) == 0)
                        c->tokens[i].token = mfree(c->tokens[i].token);
}

/* Takes the parameters of a challenge: the registry asks for this kind of authentication. */
static void client_take_challenge(ImgHttpClient *c, const ImgHttpChallenge *ch)
{
        if (ch->kind == IMG_HTTP_AUTH_BEARER && ch->realm) {
                if (!c->realm || strcmp(c->realm, ch->realm) != 0)
                        tokens_clear(c);
                replace(&c->realm, ch->realm);
                free(c->service);
                c->service = ch->service ? xstrdup(ch->service) : NULL;
                c->auth = IMG_HTTP_AUTH_BEARER;
        } else if (ch->kind == IMG_HTTP_AUTH_BASIC) {
                c->auth = IMG_HTTP_AUTH_BASIC;
        }
}

/* Appends "?key=value" (or "&key=value" once the URL has a query), the value percent-encoded. */
void img_http_append_param(char **url, const char *key, const char *value)
{
        static const char hex[] = "0123456789ABCDEF";
        size_t n = strlen(*url);

        *url = xrealloc(*url, n + 1 + strlen(key) + 1 + 3 * strlen(value) + 1);
        n += (size_t)sprintf(*url + n, "%c%s=", strchr(*url, '?') ? '&' : '?', key);
        for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
                if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                    strchr("-._~", *p)) {
                        (*url)[n++] = (char)*p;
                } else {
                        (*url)[n++] = '%';
                        (*url)[n++] = hex[*p >> 4];
                        (*url)[n++] = hex[*p & 15];
                }
        }
        (*url)[n] = '\0';
}

/* The host of an http(s) URL, for the insecure-registry rules; NULL for another scheme. */
static char *url_host(const char *url)
{
        const char *p = strstr(url, "://");
        if (!p || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
                return NULL;
        p += 3;
        return xstrndup(p, strcspn(p, "/?#"));
}

static bool registry_is_insecure(const ImgRegistryOptions *o, const char *registry)
{
        size_t host_len = registry[0] == '[' ? strcspn(registry, "]") + 1 : strcspn(registry, ":");

        if (o->tls_verify == IMG_TLS_VERIFY_NO)
                return true;
        if (o->tls_verify == IMG_TLS_VERIFY_YES)
                return false;
        for (size_t i = 0; o->insecure_registries && o->insecure_registries[i]; i++) {
                const char *e = o->insecure_registries[i];
                if (strcmp(e, registry) == 0 || (strlen(e) == host_len && strncmp(e, registry, host_len) == 0))
                        return true;
        }
        return img_registry_is_loopback(registry);
}

static int run_one(ImgHttpClient *c, ImgHttpRequest *r, Error **err);

/* Asks the realm of the bearer challenge for a token for scope, with basic credentials if any. */
static int token_fetch(ImgHttpClient *c, const char *scope, char **ret, Error **err)
{
        _cleanup_(img_http_request_freep) ImgHttpRequest *r = NULL;
        _cleanup_free_ char *url = xstrdup(c->realm), *host = url_host(c->realm), *scopes = xstrdup(scope);
        _cleanup_json_ json_t *j = NULL;
        const char *token = NULL;
        char *save = NULL;
        int k;

        if (!host)
                return error_setf(err, EPROTO, "token realm '%s': not an http or https URL", c->realm);
        if (c->service)
                img_http_append_param(&url, "service", c->service);
        for (char *s = strtok_r(scopes, " ", &save); s; s = strtok_r(NULL, " ", &save))
                img_http_append_param(&url, "scope", s);
        if (c->user)
                img_http_append_param(&url, "account", c->user);
        r = img_http_request_new(c, "GET", url);
        r->use_auth = false;
        r->use_basic = c->user != NULL;
        r->verify = !registry_is_insecure(c->o, host);
        r->max = TOKEN_BODY_MAX;
        k = run_one(c, r, err);
        if (k >= 0 && r->status != 200)
                k = img_http_error(r, err);
        if (k < 0)
                return error_wrap(err, k, "get a token from '%s'", c->realm);
        if (!(j = json_loadb(r->buf ? r->buf : "", r->len, 0, NULL)) ||
            (json_get_string(j, "token", "", &token, NULL) <= 0 &&
             json_get_string(j, "access_token", "", &token, NULL) <= 0) ||
            !*token || strpbrk(token, "\r\n"))
                return error_setf(err, EPROTO, "get a token from '%s': no token in the answer", c->realm);
        *ret = xstrdup(token);
        return 0;
}

static int token_get(ImgHttpClient *c, const char *scope, char **ret, Error **err)
{
        ImgHttpToken *t = NULL;
        char *token = NULL;
        int k;

        for (size_t i = 0; i < c->n_tokens; i++)
                if (strcmp(c->tokens[i].scope, scope) == 0)
                        t = &c->tokens[i];
        if (!t || !t->token) {
                k = token_fetch(c, scope, &token, err);
                if (k < 0)
                        return k;
                if (!t) {
                        t = xappend(c->tokens, c->n_tokens);
                        t->scope = xstrdup(scope);
                }
                t->token = token;
        }
        *ret = xstrdup(t->token);
        return 0;
}

/* A 401: answer the challenge if that can help, once. 1: send the request again. */
static int request_challenged(ImgHttpClient *c, ImgHttpRequest *r)
{
        ImgHttpChallenge ch;

        if (r->status != 401 || r->is_retried || !r->use_auth || !r->www_authenticate)
                return 0;
        img_http_challenge_parse(r->www_authenticate, &ch);
        r->is_retried = true;
        if (ch.kind == IMG_HTTP_AUTH_BEARER && ch.realm) {
                client_take_challenge(c, &ch);
                if (!r->scope && ch.scope) {
                        r->scope_owned = xstrdup(ch.scope);
                        r->scope = r->scope_owned;
                }
                /* A cached token may have expired. */
                token_forget(c, r->scope ? r->scope : "");
                img_http_challenge_done(&ch);
                return 1;
        }
        if (ch.kind == IMG_HTTP_AUTH_BASIC && c->user && !r->use_basic) {
                client_take_challenge(c, &ch);
                img_http_challenge_done(&ch);
                return 1;
        }
        img_http_challenge_done(&ch);
        return 0;
}

static void report_progress(ImgHttpClient *c, ImgHttpRequest *r)
{
        if (!c->progress || !r->has_progress || r->done == r->reported)
                return;
        r->reported = r->done;
        c->progress(c->userdata, r->index, r->done, r->total);
}

/* A finished transfer: 1 to start it again (after a challenge), 0 done, < 0 failed. */
static int request_finished(ImgHttpClient *c, ImgHttpRequest *r, Error **err)
{
        int k;

        if (r->result != CURLE_OK)
                return transport_error(r, err);
        log_debug("%s %s: HTTP %ld", r->method, r->url, r->status);
        if (request_challenged(c, r))
                return 1;
        if (!r->must_succeed)
                return 0;
        if (!img_http_is_2xx(r->status))
                return img_http_error(r, err);
        if (r->w) {
                k = img_store_writer_commit(r->w, err);
                if (k < 0)
                        return k;
        }
        report_progress(c, r);
        return 0;
}

static int request_start(ImgHttpClient *c, ImgHttpRequest *r, Error **err)
{
        int k = request_prepare(r, err);
        if (k < 0)
                return k;
        if (curl_multi_add_handle(c->multi, r->easy) != CURLM_OK)
                return error_setf(err, EIO, "%s %s: cannot start the transfer", r->method, r->url);
        r->is_active = true;
        return 0;
}

/*
 * Runs the requests, at most max_parallel at once, on the client's multi handle. Fails at the first
 * transport error or, for a request that must succeed, the first non-2xx answer or bad blob; the
 * others are then stopped and their partial blobs dropped. Progress is reported from this loop.
 */
int img_http_run(ImgHttpClient *c, ImgHttpRequest **reqs, size_t n, size_t max_parallel, Error **err)
{
        size_t next = 0, active = 0, finished = 0;
        int k = 0;

        while (finished < n) {
                int running, left;
                CURLMsg *m;

                for (; next < n && active < max_parallel; next++, active++) {
                        k = request_start(c, reqs[next], err);
                        if (k < 0)
                                goto out;
                }
                if (curl_multi_perform(c->multi, &running) != CURLM_OK) {
                        k = error_setf(err, EIO, "curl: transfer loop failed");
                        goto out;
                }
                while ((m = curl_multi_info_read(c->multi, &left))) {
                        ImgHttpRequest *r = NULL;
                        if (m->msg != CURLMSG_DONE)
                                continue;
                        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
                        r->result = m->data.result;
                        curl_multi_remove_handle(c->multi, r->easy);
                        r->is_active = false;
                        active--;
                        k = request_finished(c, r, err);
                        if (k < 0) {
                                k = r->what ? error_wrap(err, k, "%s", r->what) : k;
                                goto out;
                        }
                        if (k == 1) {
                                k = request_start(c, r, err);
                                if (k < 0)
                                        goto out;
                                active++;
                                continue;
                        }
                        finished++;
                }
                for (size_t i = 0; i < next; i++)
                        if (reqs[i]->is_active)
                                report_progress(c, reqs[i]);
                if (finished < n && active > 0 && curl_multi_poll(c->multi, NULL, 0, 1000, NULL) != CURLM_OK) {
                        k = error_setf(err, EIO, "curl: waiting for transfers failed");
                        goto out;
                }
        }
        k = 0;
out:
        for (size_t i = 0; i < next; i++)
                if (reqs[i]->is_active) {
                        curl_multi_remove_handle(c->multi, reqs[i]->easy);
                        reqs[i]->is_active = false;
                }
        return k;
}

/* One request, on its own easy handle when the multi handle may be busy (a token in mid-batch). */
static int run_one(ImgHttpClient *c, ImgHttpRequest *r, Error **err)
{
        int k;

        for (;;) {
                k = request_prepare(r, err);
                if (k < 0)
                        return k;
                r->result = curl_easy_perform(r->easy);
                k = request_finished(c, r, err);
                if (k != 1)
                        return k < 0 && r->what ? error_wrap(err, k, "%s", r->what) : k;
        }
}

/* One request through the shared connection cache. */
int img_http_perform(ImgHttpClient *c, ImgHttpRequest *r, Error **err)
{
        return img_http_run(c, &r, 1, 1, err);
}

ImgHttpClient *img_http_client_free(ImgHttpClient *c)
{
        if (!c)
                return NULL;
        if (c->multi)
                curl_multi_cleanup(c->multi);
        tokens_clear(c);
        free(c->registry);
        free(c->base);
        free(c->user);
        free(c->password);
        free(c->realm);
        free(c->service);
        free(c->scope);
        if (c->has_curl)
                curl_global_cleanup();
        free(c);
        return NULL;
}

int img_http_client_new(const char *registry, const ImgRegistryOptions *o, ImgHttpClient **ret, Error **err)
{
        _cleanup_(img_http_client_freep) ImgHttpClient *c = xnew0(ImgHttpClient, 1);
        int k;

        c->o = o;
        c->registry = xstrdup(registry);
        c->is_insecure = registry_is_insecure(o, registry);
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return error_setf(err, EIO, "curl: initialisation failed");
        c->has_curl = true;
        c->multi = curl_multi_init();
        if (!c->multi)
                abort();
        if (o->username) {
                c->user = xstrdup(o->username);
                c->password = xstrdup(o->password ? o->password : "");
        } else if (o->auth_file) {
                k = img_auth_lookup(o->auth_file, registry, &c->user, &c->password, err);
                if (k < 0)
                        return k;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

/*
 * GET /v2/ without credentials, as docker does first: it picks the scheme (HTTPS, and for an
 * insecure registry plain HTTP when HTTPS cannot be had) and learns how the registry wants to
 * be authenticated to from its 401.
 */
int img_http_client_ping(ImgHttpClient *c, Error **err)
{
        static const char *const schemes[] = { "https", "http" };
        const char *host = img_registry_api_host(c->registry);
        _cleanup_error_ Error *first = NULL;

        for (size_t i = 0; i < (c->is_insecure ? 2u : 1u); i++) {
                _cleanup_(img_http_request_freep) ImgHttpRequest *r = NULL;
                _cleanup_error_ Error *e = NULL;
                ImgHttpChallenge ch;

                free(c->base);
                c->base = xasprintf("%s://%s", schemes[i], host);
                r = img_http_request_new(c, "GET", "/v2/");
                r->use_auth = false;
                if (img_http_perform(c, r, &e) < 0) {
                        log_debug("registry '%s': %s", c->registry, e->msg);
                        if (!first)
                                first = TAKE_PTR(e);
                        continue;
                }
                if (r->status == 401 && r->www_authenticate) {
                        img_http_challenge_parse(r->www_authenticate, &ch);
                        client_take_challenge(c, &ch);
                        img_http_challenge_done(&ch);
                }
                return 0;
        }
        if (err && !*err) {
                int code = first->code;
                *err = TAKE_PTR(first);
                return -code;
        }
        return -first->code;
}
