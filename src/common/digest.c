/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* digest.c: OCI content digests through OpenSSL's libcrypto */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "digest.h"
#include "lazy.h"

/*
 * libcrypto is loaded on the first digest: its relocations alone cost every hull command a
 * millisecond, and most (exec, ps, inspect, stop) compute no digest.
 */
LAZY_LIB(crypto, "libcrypto.so.3")
LAZY(crypto, int, OPENSSL_init_crypto, (uint64_t opts, const OPENSSL_INIT_SETTINGS *settings), (opts, settings))
LAZY(crypto, EVP_MD *, EVP_MD_fetch, (OSSL_LIB_CTX *ctx, const char *algorithm, const char *properties),
     (ctx, algorithm, properties))
LAZY(crypto, EVP_MD_CTX *, EVP_MD_CTX_new, (void), ())
LAZY_VOID(crypto, EVP_MD_CTX_free, (EVP_MD_CTX *ctx), (ctx))
LAZY(crypto, int, EVP_DigestInit_ex, (EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *impl), (ctx, type, impl))
LAZY(crypto, int, EVP_DigestUpdate, (EVP_MD_CTX *ctx, const void *d, size_t cnt), (ctx, d, cnt))
LAZY(crypto, int, EVP_DigestFinal_ex, (EVP_MD_CTX *ctx, unsigned char *md, unsigned int *s), (ctx, md, s))

struct Digest {
        EVP_MD_CTX *ctx;
};

/*
 * SHA-256, fetched once rather than at every digest_new(). libcrypto's cleanup at exit is skipped:
 * it frees, one by one, every table its initialisation built (half a millisecond of each short
 * hull command), which the kernel frees at once as the process ends.
 */
static EVP_MD *digest_sha256;
static pthread_once_t digest_once = PTHREAD_ONCE_INIT;

static void digest_init(void)
{
        OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
        digest_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

Digest *digest_new(void)
{
        Digest *d = xnew0(Digest, 1);

        pthread_once(&digest_once, digest_init);
        d->ctx = EVP_MD_CTX_new();
        if (!digest_sha256 || !d->ctx || EVP_DigestInit_ex(d->ctx, digest_sha256, NULL) != 1)
                abort(); /* only allocation fails here */
        return d;
}

void digest_update(Digest *d, const void *data, size_t len)
{
        if (EVP_DigestUpdate(d->ctx, data, len) != 1)
                abort();
}

char *digest_finish(Digest *d)
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        char *out, *p;

        if (EVP_DigestFinal_ex(d->ctx, md, &n) != 1)
                abort();
        out = xmalloc(7 + 2 * n + 1);
        p = out + 7;
        memcpy(out, "sha256:", 7);
        for (unsigned i = 0; i < n; i++, p += 2)
                snprintf(p, 3, "%02x", md[i]);
        return out;
}

Digest *digest_free(Digest *d)
{
        if (d) {
                EVP_MD_CTX_free(d->ctx);
                free(d);
        }
        return NULL;
}

int digest_check(const char *digest, Error **err)
{
        const char *colon = strchr(digest, ':');

        if (!colon || colon == digest)
                return error_setf(err, EINVAL, "digest '%s': expected ALGORITHM:HEX", digest);
        if ((size_t)(colon - digest) != 6 || strncmp(digest, "sha256", 6) != 0)
                return error_setf(err, EOPNOTSUPP, "digest '%s': only sha256 is supported", digest);
        if (strlen(colon + 1) != 64 || strspn(colon + 1, "0123456789abcdef") != 64)
                return error_setf(err, EINVAL, "digest '%s': expected 64 lowercase hex digits", digest);
        return 0;
}
