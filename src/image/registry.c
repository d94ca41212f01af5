/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* registry.c: the distribution API over libcurl: auth challenges, verified and parallel blob transfers */
#include <curl/curl.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/alloc.h"
#include "common/digest.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/strv.h"
#include "auth.h"
#include "registry.h"

#define CONNECT_TIMEOUT_S 10L
#define STALL_TIMEOUT_S 30L /* a transfer with no byte moving for this long is aborted */
#define MAX_PARALLEL_DEFAULT 6
#define ERROR_BODY_MAX (64u * 1024)
#define TOKEN_BODY_MAX (1024u * 1024)
#define CONFIG_MAX (64 * 1024 * 1024) /* a config is read into memory: refuse absurd ones */
#define DEFAULT_PLATFORM "linux/amd64"

typedef enum AuthKind {
        AUTH_NONE,
        AUTH_BASIC,
        AUTH_BEARER,
} AuthKind;

typedef struct Token {
        char *scope; /* space-separated scopes, "" for none */
        char *token;
} Token;

/* One registry, for the length of one operation: its scheme, credentials and tokens. */
typedef struct Client {
        const ImgRegistryOptions *o;
        char *registry; /* as referenced: names credentials and messages */
        char *base;     /* "https://host" or "http://host", chosen by the ping */
        bool is_insecure;
        char *user, *password;
        AuthKind auth;
        char *realm, *service; /* of a bearer challenge */
        Token *tokens;
        size_t n_tokens;
        char *scope; /* what this operation needs: "repository:a/b:pull" */
        ImgProgressFn progress;
        void *userdata;
        CURLM *multi; /* its easy handles share one connection cache */
        bool has_curl;
} Client;

/* One HTTP exchange, restartable (an auth challenge answered, then the same request again). */
typedef struct Request {
        Client *c;
        CURL *easy;
        struct curl_slist *headers;
        const char *method;
        char *url;
        char *what; /* for messages: "fetch layer sha256:..." */
        char *scope_owned;
        const char *scope; /* the token scope this request needs */
        const char *accept;
        const char *content_type;
        bool verify;    /* verify the peer's certificate */
        bool use_auth;  /* send the client's credentials (a token realm gets only basic ones) */
        bool use_basic; /* send c->user and c->password as basic credentials */
        char *bearer;
        /* the body sent: a buffer, or a blob from the store */
        const char *body;
        size_t body_len;
        int body_fd;
        uint64_t body_size, body_off;
        /* the answer */
        long status;
        char *resp_content_type, *location, *www_authenticate, *docker_digest;
        char *buf;
        size_t len, max; /* max: the largest 2xx body kept in buf */
        /* a blob download goes into the store instead, verified on the way */
        ImgStore *store;
        char *blob_digest;
        int64_t blob_size;
        ImgStoreWriter *w;
        Error *write_err;
        bool must_succeed; /* anything but 2xx fails the batch (blob transfers) */
        bool has_progress;
        size_t index;
        uint64_t done, total, reported;
        bool is_active, is_retried;
        CURLcode result;
        char errbuf[CURL_ERROR_SIZE];
} Request;

static void reset_answer(Request *r)
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

static Request *request_free(Request *r)
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
DEFINE_CLEANUP_FUNC(Request *, request_free)

/* A request to an absolute URL or to a path below the client's base. */
static Request *request_new(Client *c, const char *method, const char *url_or_path)
{
        Request *r = xnew0(Request, 1);

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
        Request *r = userdata;
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

static bool is_2xx(long status)
{
        return status >= 200 && status < 300;
}

static size_t on_body(char *p, size_t size, size_t n, void *userdata)
{
        Request *r = userdata;
        size_t len = size * n;
        size_t max = is_2xx(r->status) ? r->max : ERROR_BODY_MAX;

        if (r->w && is_2xx(r->status)) {
                if (img_store_writer_write(r->w, p, len, &r->write_err) < 0)
                        return CURL_WRITEFUNC_ERROR;
                r->done += len;
                return len;
        }
        if (r->len + len > max) {
                if (!is_2xx(r->status))
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
        Request *r = userdata;
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
        Request *r = userdata;
        if (origin != SEEK_SET || offset < 0)
                return CURL_SEEKFUNC_CANTSEEK;
        r->body_off = (uint64_t)offset;
        return CURL_SEEKFUNC_OK;
}

static void add_header(Request *r, const char *fmt, ...) _printf_(2, 3);
static void add_header(Request *r, const char *fmt, ...)
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

static int token_get(Client *c, const char *scope, char **ret, Error **err);

/* Sets up (or again, after a challenge) the easy handle for r. */
static int request_prepare(Request *r, Error **err)
{
        Client *c = r->c;
        CURL *e;
        int k;

        r->bearer = mfree(r->bearer);
        if (r->use_auth && c->auth == AUTH_BEARER) {
                k = token_get(c, r->scope ? r->scope : "", &r->bearer, err);
                if (k < 0)
                        return k;
        }
        if (r->use_auth && c->auth == AUTH_BASIC && c->user)
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
static int transport_error(Request *r, Error **err)
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
static void registry_error(const Request *r, char **ret_code, char **ret_message)
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
static int http_error(const Request *r, Error **err)
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
typedef struct Challenge {
        AuthKind kind;
        char *realm, *service, *scope;
} Challenge;

static void challenge_done(Challenge *ch)
{
        free(ch->realm);
        free(ch->service);
        free(ch->scope);
}

/* Parses `Bearer realm="...",service="...",scope="..."` (RFC 7235 auth-params, quoted or not). */
static void challenge_parse(const char *h, Challenge *ret)
{
        const char *p = h;

        *ret = (Challenge){};
        if (strncasecmp(p, "bearer", 6) == 0 && (p[6] == ' ' || p[6] == '\0'))
                ret->kind = AUTH_BEARER;
        else if (strncasecmp(p, "basic", 5) == 0 && (p[5] == ' ' || p[5] == '\0'))
                ret->kind = AUTH_BASIC;
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

static void tokens_clear(Client *c)
{
        for (size_t i = 0; i < c->n_tokens; i++) {
                free(c->tokens[i].scope);
                free(c->tokens[i].token);
        }
        c->tokens = mfree(c->tokens);
        c->n_tokens = 0;
}

static void token_forget(Client *c, const char *scope)
{
        for (size_t i = 0; i < c->n_tokens; i++)
                if (strcmp(c->tokens[i].scope, scope) == 0)
                        c->tokens[i].token = mfree(c->tokens[i].token);
}

/* Takes the parameters of a challenge: the registry asks for this kind of authentication. */
static void client_take_challenge(Client *c, const Challenge *ch)
{
        if (ch->kind == AUTH_BEARER && ch->realm) {
                if (!c->realm || strcmp(c->realm, ch->realm) != 0)
                        tokens_clear(c);
                replace(&c->realm, ch->realm);
                free(c->service);
                c->service = ch->service ? xstrdup(ch->service) : NULL;
                c->auth = AUTH_BEARER;
        } else if (ch->kind == AUTH_BASIC) {
                c->auth = AUTH_BASIC;
        }
}

/* Appends "?key=value" (or "&key=value" once the URL has a query), the value percent-encoded. */
static void append_param(char **url, const char *key, const char *value)
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

static int run_one(Client *c, Request *r, Error **err);

/* Asks the realm of the bearer challenge for a token for scope, with basic credentials if any. */
static int token_fetch(Client *c, const char *scope, char **ret, Error **err)
{
        _cleanup_(request_freep) Request *r = NULL;
        _cleanup_free_ char *url = xstrdup(c->realm), *host = url_host(c->realm), *scopes = xstrdup(scope);
        _cleanup_json_ json_t *j = NULL;
        const char *token = NULL;
        char *save = NULL;
        int k;

        if (!host)
                return error_setf(err, EPROTO, "token realm '%s': not an http or https URL", c->realm);
        if (c->service)
                append_param(&url, "service", c->service);
        for (char *s = strtok_r(scopes, " ", &save); s; s = strtok_r(NULL, " ", &save))
                append_param(&url, "scope", s);
        if (c->user)
                append_param(&url, "account", c->user);
        r = request_new(c, "GET", url);
        r->use_auth = false;
        r->use_basic = c->user != NULL;
        r->verify = !registry_is_insecure(c->o, host);
        r->max = TOKEN_BODY_MAX;
        k = run_one(c, r, err);
        if (k >= 0 && r->status != 200)
                k = http_error(r, err);
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

static int token_get(Client *c, const char *scope, char **ret, Error **err)
{
        Token *t = NULL;
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
static int request_challenged(Client *c, Request *r)
{
        Challenge ch;

        if (r->status != 401 || r->is_retried || !r->use_auth || !r->www_authenticate)
                return 0;
        challenge_parse(r->www_authenticate, &ch);
        r->is_retried = true;
        if (ch.kind == AUTH_BEARER && ch.realm) {
                client_take_challenge(c, &ch);
                if (!r->scope && ch.scope) {
                        r->scope_owned = xstrdup(ch.scope);
                        r->scope = r->scope_owned;
                }
                /* A cached token may have expired. */
                token_forget(c, r->scope ? r->scope : "");
                challenge_done(&ch);
                return 1;
        }
        if (ch.kind == AUTH_BASIC && c->user && !r->use_basic) {
                client_take_challenge(c, &ch);
                challenge_done(&ch);
                return 1;
        }
        challenge_done(&ch);
        return 0;
}

static void report_progress(Client *c, Request *r)
{
        if (!c->progress || !r->has_progress || r->done == r->reported)
                return;
        r->reported = r->done;
        c->progress(c->userdata, r->index, r->done, r->total);
}

/* A finished transfer: 1 to start it again (after a challenge), 0 done, < 0 failed. */
static int request_finished(Client *c, Request *r, Error **err)
{
        int k;

        if (r->result != CURLE_OK)
                return transport_error(r, err);
        log_debug("%s %s: HTTP %ld", r->method, r->url, r->status);
        if (request_challenged(c, r))
                return 1;
        if (!r->must_succeed)
                return 0;
        if (!is_2xx(r->status))
                return http_error(r, err);
        if (r->w) {
                k = img_store_writer_commit(r->w, err);
                if (k < 0)
                        return k;
        }
        report_progress(c, r);
        return 0;
}

static int request_start(Client *c, Request *r, Error **err)
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
static int run(Client *c, Request **reqs, size_t n, size_t max_parallel, Error **err)
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
                        Request *r = NULL;
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
static int run_one(Client *c, Request *r, Error **err)
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
static int perform(Client *c, Request *r, Error **err)
{
        return run(c, &r, 1, 1, err);
}

static Client *client_free(Client *c)
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
DEFINE_CLEANUP_FUNC(Client *, client_free)

static int client_new(const char *registry, const ImgRegistryOptions *o, Client **ret, Error **err)
{
        _cleanup_(client_freep) Client *c = xnew0(Client, 1);
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
static int client_ping(Client *c, Error **err)
{
        static const char *const schemes[] = { "https", "http" };
        const char *host = img_registry_api_host(c->registry);
        _cleanup_error_ Error *first = NULL;

        for (size_t i = 0; i < (c->is_insecure ? 2u : 1u); i++) {
                _cleanup_(request_freep) Request *r = NULL;
                _cleanup_error_ Error *e = NULL;
                Challenge ch;

                free(c->base);
                c->base = xasprintf("%s://%s", schemes[i], host);
                r = request_new(c, "GET", "/v2/");
                r->use_auth = false;
                if (perform(c, r, &e) < 0) {
                        log_debug("registry '%s': %s", c->registry, e->msg);
                        if (!first)
                                first = TAKE_PTR(e);
                        continue;
                }
                if (r->status == 401 && r->www_authenticate) {
                        challenge_parse(r->www_authenticate, &ch);
                        client_take_challenge(c, &ch);
                        challenge_done(&ch);
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
static int fetch_document(Client *c, ImgStore *store, const char *repository, const char *object,
                          const char *expected_digest, int64_t expected_size, Document *ret, Error **err)
{
        _cleanup_(request_freep) Request *r = NULL;
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
        r = request_new(c, "GET", path);
        r->accept = IMG_MANIFEST_ACCEPT;
        r->max = IMG_MANIFEST_MAX;
        k = perform(c, r, err);
        if (k < 0)
                return k;
        if (r->status != 200)
                return http_error(r, err);
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

static Request *blob_request(Client *c, ImgStore *store, const char *repository, const ImgDescriptor *d,
                             const char *kind)
{
        _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/%s", repository, d->digest);
        Request *r = request_new(c, "GET", path);

        r->store = store;
        r->blob_digest = xstrdup(d->digest);
        r->blob_size = d->size;
        r->total = (uint64_t)d->size;
        r->must_succeed = true;
        r->what = xasprintf("fetch %s %s", kind, d->digest);
        return r;
}

static int fetch_config(Client *c, ImgStore *store, const char *repository, const ImgDescriptor *d,
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
                _cleanup_(request_freep) Request *r = blob_request(c, store, repository, d, "config");
                k = perform(c, r, err);
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

static int fetch_layers(Client *c, ImgStore *store, const char *repository, const ImgManifest *m,
                        size_t max_parallel, ImgPullResult *res, Error **err)
{
        Request **reqs = xnew0(Request *, m->n_layers + 1);
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
        k = run(c, reqs, n, max_parallel, err);
        for (size_t i = 0; i < n; i++) {
                if (k >= 0) {
                        res->bytes_fetched += reqs[i]->total;
                        res->blobs_fetched++;
                }
                request_free(reqs[i]);
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
static int resolve_manifest(Client *c, ImgStore *store, const ImgReference *ref, const char *platform,
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
        _cleanup_(client_freep) Client *c = NULL;
        _cleanup_(document_done) Document doc = {};
        _cleanup_free_ char *name = img_reference_to_string(ref);
        int k;

        if (!o)
                o = &defaults;
        k = client_new(ref->registry, &o->remote, &c, err);
        if (k < 0)
                return error_wrap(err, k, "pull '%s'", name);
        c->scope = xasprintf("repository:%s:pull", ref->repository);
        c->progress = o->progress;
        c->userdata = o->userdata;
        k = client_ping(c, err);
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
        Client *c;
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
static char *upload_url(Client *c, const char *location, const char *digest)
{
        _cleanup_free_ char *url = NULL;

        if (strncmp(location, "http://", 7) == 0 || strncmp(location, "https://", 8) == 0)
                url = xstrdup(location);
        else
                url = xasprintf("%s%s%s", c->base, location[0] == '/' ? "" : "/", location);
        append_param(&url, "digest", digest);
        return TAKE_PTR(url);
}

/* Tries to mount the blob from each o->mount_from repository. 1: mounted; 0 with *ret_location
 * an upload session the registry opened instead (or NULL). */
static int try_mounts(Push *p, const ImgDescriptor *d, char **ret_location, Error **err)
{
        for (size_t i = 0; p->o->mount_from && p->o->mount_from[i]; i++) {
                const char *from = p->o->mount_from[i];
                _cleanup_(request_freep) Request *r = NULL;
                _cleanup_free_ char *path = NULL;
                int k;

                if (strcmp(from, p->repository) == 0)
                        continue;
                if (*ret_location) {
                        /* Close the session a failed mount opened before asking again. */
                        _cleanup_(request_freep) Request *del = request_new(p->c, "DELETE", *ret_location);
                        (void)perform(p->c, del, NULL);
                        *ret_location = mfree(*ret_location);
                }
                path = xasprintf("/v2/%s/blobs/uploads/?mount=%s&from=%s", p->repository, d->digest, from);
                r = request_new(p->c, "POST", path);
                k = perform(p->c, r, err);
                if (k < 0)
                        return k;
                if (r->status == 201)
                        return 1;
                if (r->status != 202)
                        return http_error(r, err);
                if (r->location)
                        *ret_location = TAKE_PTR(r->location);
        }
        return 0;
}

static int upload_blob(Push *p, const ImgDescriptor *d, size_t index, const char *location, Error **err)
{
        _cleanup_(request_freep) Request *start = NULL, *put = NULL;
        _cleanup_free_ char *url = NULL;
        struct stat st;
        int k;

        if (!location) {
                _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/uploads/", p->repository);
                start = request_new(p->c, "POST", path);
                k = perform(p->c, start, err);
                if (k < 0)
                        return k;
                if (start->status != 202)
                        return http_error(start, err);
                if (!start->location)
                        return error_setf(err, EPROTO, "the registry opened an upload without a Location");
                location = start->location;
        }
        url = upload_url(p->c, location, d->digest);
        put = request_new(p->c, "PUT", url);
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
        k = perform(p->c, put, err);
        if (k < 0)
                return k;
        p->res->bytes_uploaded += put->body_size;
        p->res->blobs_uploaded++;
        return 0;
}

static int push_blob(Push *p, const ImgDescriptor *d, size_t index, Error **err)
{
        _cleanup_(request_freep) Request *head = NULL;
        _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/%s", p->repository, d->digest);
        _cleanup_free_ char *location = NULL;
        int k;

        if (!img_store_has(p->store, d->digest))
                return error_setf(err, ENOENT, "blob %s is not in the store", d->digest);
        head = request_new(p->c, "HEAD", path);
        k = perform(p->c, head, err);
        if (k < 0)
                return k;
        if (head->status == 200) {
                p->res->bytes_skipped += (uint64_t)d->size;
                p->res->blobs_skipped++;
                push_progress(p, index, (uint64_t)d->size);
                return 0;
        }
        if (head->status != 404)
                return http_error(head, err);
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
        _cleanup_(request_freep) Request *r = request_new(p->c, "PUT", path);
        int k;

        r->body = doc->buf;
        r->body_len = doc->len;
        r->content_type = doc->media_type;
        k = perform(p->c, r, err);
        if (k < 0)
                return k;
        if (!is_2xx(r->status))
                return http_error(r, err);
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
        _cleanup_(client_freep) Client *c = NULL;
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
        k = client_new(ref->registry, &o->remote, &c, err);
        if (k < 0)
                return error_wrap(err, k, "push '%s'", name);
        c->scope = push_scope(ref, o->mount_from);
        c->progress = o->progress;
        c->userdata = o->userdata;
        p = (Push){ .c = c, .store = store, .repository = ref->repository, .o = o, .res = &res };
        k = client_ping(c, err);
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
        _cleanup_(client_freep) Client *c = NULL;
        _cleanup_(request_freep) Request *r = NULL;
        int k;

        opts.username = user;
        opts.password = password;
        opts.auth_file = NULL;
        k = client_new(registry, &opts, &c, err);
        if (k >= 0)
                k = client_ping(c, err);
        if (k < 0)
                return error_wrap(err, k, "log in to '%s'", registry);
        if (c->auth == AUTH_NONE)
                return 0;
        /* A token request without a scope authenticates, as docker login does. */
        r = request_new(c, "GET", "/v2/");
        r->scope = "";
        k = perform(c, r, err);
        if (k >= 0 && !is_2xx(r->status))
                k = http_error(r, err);
        if (k < 0)
                return error_wrap(err, k, "log in to '%s'", registry);
        return 0;
}
