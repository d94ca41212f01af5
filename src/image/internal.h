/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* internal.h: shared within image/ only: the registry HTTP transport (http.c) that registry.c drives */
#pragma once

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/cleanup.h"
#include "common/error.h"
#include "registry.h"
#include "store.h"

typedef enum ImgHttpAuth {
        IMG_HTTP_AUTH_NONE,
        IMG_HTTP_AUTH_BASIC,
        IMG_HTTP_AUTH_BEARER,
} ImgHttpAuth;

typedef struct ImgHttpToken {
        char *scope; /* space-separated scopes, "" for none */
        char *token;
} ImgHttpToken;

/* One registry, for the length of one operation: its scheme, credentials and tokens. */
typedef struct ImgHttpClient {
        const ImgRegistryOptions *o;
        char *registry; /* as referenced: names credentials and messages */
        char *base;     /* "https://host" or "http://host", chosen by the ping */
        bool is_insecure;
        char *user, *password;
        ImgHttpAuth auth;
        char *realm, *service; /* of a bearer challenge */
        ImgHttpToken *tokens;
        size_t n_tokens;
        char *scope; /* what this operation needs: "repository:a/b:pull" */
        ImgProgressFn progress;
        void *userdata;
        CURLM *multi; /* its easy handles share one connection cache */
        bool has_curl;
} ImgHttpClient;

/*
 * One HTTP exchange, restartable (an auth challenge answered, then the same request again).
 * img_http_request_new() fills in the method, URL, verification, credentials and scope; before it
 * runs, the caller may set accept, content_type, the body (a buffer, or body_fd + body_size), max,
 * what (prefixed to its errors), store + blob_digest + blob_size (a 2xx body goes into the store,
 * verified), must_succeed, and has_progress + index + total + reported for progress reports.
 * After it ran, the answer is in status, the header fields and buf/len (unless stored).
 */
typedef struct ImgHttpRequest {
        ImgHttpClient *c;
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
} ImgHttpRequest;

/*
 * A client for registry (as referenced: "host[:port]"), for one operation. o is borrowed and must
 * outlive it. Credentials come from o->username/password, else from o->auth_file; whether the
 * registry is insecure (no verification, HTTP fallback) follows o->tls_verify and
 * o->insecure_registries. Initialises libcurl; no network I/O. *ret is owned by the caller.
 */
int img_http_client_new(const char *registry, const ImgRegistryOptions *o, ImgHttpClient **ret, Error **err);
ImgHttpClient *img_http_client_free(ImgHttpClient *c);
DEFINE_CLEANUP_FUNC(ImgHttpClient *, img_http_client_free)

/*
 * GET /v2/ without credentials: sets c->base to the scheme that answers (HTTPS; for an insecure
 * registry plain HTTP when HTTPS cannot be had) and learns from a 401 how to authenticate. Blocks.
 * When no scheme answers, the error is the first one's.
 */
int img_http_client_ping(ImgHttpClient *c, Error **err);

/* A request to an absolute http(s) URL or to a path below c->base ("/v2/..."), with the client's
 * verification, credentials and scope. Owned by the caller; freed before c. */
ImgHttpRequest *img_http_request_new(ImgHttpClient *c, const char *method, const char *url_or_path);
ImgHttpRequest *img_http_request_free(ImgHttpRequest *r);
DEFINE_CLEANUP_FUNC(ImgHttpRequest *, img_http_request_free)

/*
 * Runs the n requests, at most max_parallel at once, on c's connection cache; a 401 is answered
 * once (basic credentials, or a token from the challenge's realm, cached per scope in c) and the
 * request sent again. Fails at the first transport error or, for a request that must_succeed, the
 * first non-2xx answer or bad blob: the others are then stopped and their partial blobs dropped.
 * Other answers are left in the requests for the caller to judge. Transport errors map to errno
 * (ECONNREFUSED, EHOSTUNREACH, ETIMEDOUT, ECONNRESET, EPROTO for TLS and protocol, else EIO).
 * Progress is reported from this loop, in the calling thread. Blocks.
 */
int img_http_run(ImgHttpClient *c, ImgHttpRequest **reqs, size_t n, size_t max_parallel, Error **err);
/* img_http_run() for one request. */
int img_http_perform(ImgHttpClient *c, ImgHttpRequest *r, Error **err);

/* An answer that is not the one wanted, as an error ("not found: manifest unknown"): EACCES for
 * 401/403, ENOENT for 404, EIO for 429 and 5xx, else from the registry's error code or EPROTO.
 * Always returns < 0. */
int img_http_error(const ImgHttpRequest *r, Error **err);
bool img_http_is_2xx(long status);

/* Appends "?key=value" (or "&key=value" once the URL has a query) to *url, reallocating it; the
 * value is percent-encoded. */
void img_http_append_param(char **url, const char *key, const char *value);

/* A WWW-Authenticate challenge: its scheme, and for bearer the token server's parameters. */
typedef struct ImgHttpChallenge {
        ImgHttpAuth kind; /* 0 (none) for a scheme hull does not speak */
        char *realm, *service, *scope;
} ImgHttpChallenge;

/* Parses `Bearer realm="...",service="...",scope="..."` (RFC 7235 auth-params, quoted or not) from
 * an untrusted header value. Never fails: what it cannot read it leaves out. */
void img_http_challenge_parse(const char *h, ImgHttpChallenge *ret);
void img_http_challenge_done(ImgHttpChallenge *ch);
