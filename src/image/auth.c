/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* auth.c: reading and atomically rewriting a Docker-format credentials file */
#include <fcntl.h>
#include <string.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/json.h"
#include "auth.h"

static const char b64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64_encode(const char *in, size_t len)
{
        char *out = xmalloc((len + 2) / 3 * 4 + 1), *p = out;

        for (size_t i = 0; i < len; i += 3) {
                unsigned v = (unsigned char)in[i] << 16;
                if (i + 1 < len)
                        v |= (unsigned char)in[i + 1] << 8;
                if (i + 2 < len)
                        v |= (unsigned char)in[i + 2];
                *p++ = b64_chars[(v >> 18) & 63];
                *p++ = b64_chars[(v >> 12) & 63];
                *p++ = i + 1 < len ? b64_chars[(v >> 6) & 63] : '=';
                *p++ = i + 2 < len ? b64_chars[v & 63] : '=';
        }
        *p = '\0';
        return out;
}

/* Decodes standard base64 (padding optional); NULL for anything else. */
static char *base64_decode(const char *in)
{
        size_t len = strlen(in);
        _cleanup_free_ char *out = NULL;
        unsigned v = 0;
        size_t n = 0, bits = 0;

        while (len > 0 && in[len - 1] == '=')
                len--;
        out = xmalloc(len * 3 / 4 + 1);
        for (size_t i = 0; i < len; i++) {
                const char *c = strchr(b64_chars, in[i]);
                if (!c || !*c)
                        return NULL;
                v = (v << 6) | (unsigned)(c - b64_chars);
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[n++] = (char)((v >> bits) & 0xff);
                }
        }
        out[n] = '\0';
        if (memchr(out, '\0', n))
                return NULL;
        return TAKE_PTR(out);
}

/* The registry a key names: without scheme and path, Docker Hub's aliases folded into docker.io. */
static char *normalize_key(const char *key)
{
        const char *p = key;
        char *host;

        if (strncmp(p, "https://", 8) == 0)
                p += 8;
        else if (strncmp(p, "http://", 7) == 0)
                p += 7;
        host = xstrndup(p, strcspn(p, "/"));
        if (strcmp(host, "index.docker.io") == 0 || strcmp(host, "registry-1.docker.io") == 0) {
                free(host);
                host = xstrdup("docker.io");
        }
        return host;
}

static bool key_matches(const char *key, const char *registry)
{
        _cleanup_free_ char *a = normalize_key(key), *b = normalize_key(registry);
        return strcmp(a, b) == 0;
}

/* The whole file, or a new empty object when it does not exist. */
static int load(const char *path, json_t **ret, Error **err)
{
        _cleanup_free_ char *buf = NULL;
        _cleanup_error_ Error *e = NULL;
        size_t len;
        json_t *j;
        int r;

        r = read_file_at(AT_FDCWD, path, &buf, &len, &e);
        if (r == -ENOENT) {
                *ret = json_object();
                return 0;
        }
        if (r < 0)
                return error_set(err, r, "read credentials '%s'", path);
        if (json_parse(buf, len, path, &j, &e) < 0)
                return error_setf(err, EBADMSG, "credentials: %s", e->msg);
        if (!json_is_object(j)) {
                json_decref(j);
                return error_setf(err, EBADMSG, "credentials '%s': expected a JSON object", path);
        }
        *ret = j;
        return 0;
}

static int auths_of(json_t *j, const char *path, bool is_create, json_t **ret, Error **err)
{
        json_t *auths = json_object_get(j, "auths");

        if (!auths || json_is_null(auths)) {
                if (!is_create) {
                        *ret = NULL;
                        return 0;
                }
                auths = json_object();
                json_object_set_new(j, "auths", auths);
        }
        if (!json_is_object(auths))
                return error_setf(err, EBADMSG, "credentials '%s': auths: expected an object", path);
        *ret = auths;
        return 0;
}

int img_auth_lookup(const char *path, const char *registry, char **ret_user, char **ret_password, Error **err)
{
        _cleanup_json_ json_t *j = NULL;
        json_t *auths, *entry;
        const char *key;
        int r;

        r = load(path, &j, err);
        if (r < 0)
                return r;
        r = auths_of(j, path, false, &auths, err);
        if (r < 0 || !auths)
                return r;
        json_object_foreach (auths, key, entry) {
                _cleanup_free_ char *plain = NULL;
                const char *auth = NULL, *user = NULL, *password = NULL;
                char *colon;

                if (!key_matches(key, registry))
                        continue;
                if (json_get_string(entry, "auth", "", &auth, NULL) < 0)
                        return error_setf(err, EBADMSG, "credentials '%s': auths.%s.auth: expected a string",
                                          path, key);
                if (!auth || !*auth) {
                        /* Some tools write the two fields instead. */
                        if (json_get_string(entry, "username", "", &user, NULL) <= 0 ||
                            json_get_string(entry, "password", "", &password, NULL) <= 0)
                                continue;
                        *ret_user = xstrdup(user);
                        *ret_password = xstrdup(password);
                        return 1;
                }
                plain = base64_decode(auth);
                colon = plain ? strchr(plain, ':') : NULL;
                if (!colon)
                        return error_setf(err, EBADMSG, "credentials '%s': auths.%s.auth: not base64 user:password",
                                          path, key);
                *ret_user = xstrndup(plain, (size_t)(colon - plain));
                *ret_password = xstrdup(colon + 1);
                return 1;
        }
        return 0;
}

/* Removes every entry for registry; returns how many there were. */
static size_t remove_entries(json_t *auths, const char *registry)
{
        size_t n = 0;
        const char *key;
        json_t *entry;
        void *tmp;

        json_object_foreach_safe (auths, tmp, key, entry) {
                if (key_matches(key, registry)) {
                        json_object_del(auths, key);
                        n++;
                }
        }
        return n;
}

static int save(const char *path, const json_t *j, Error **err)
{
        _cleanup_free_ char *text = json_dumps(j, JSON_INDENT(8));
        if (!text)
                abort();
        return write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0600, err);
}

int img_auth_login(const char *path, const char *registry, const char *user, const char *password, Error **err)
{
        _cleanup_json_ json_t *j = NULL;
        _cleanup_free_ char *plain = NULL, *encoded = NULL;
        json_t *auths = NULL, *entry;
        int r;

        if (!*user || strchr(user, ':'))
                return error_setf(err, EINVAL, "user name '%s': must be non-empty and without ':'", user);
        r = load(path, &j, err);
        if (r < 0)
                return r;
        r = auths_of(j, path, true, &auths, err);
        if (r < 0)
                return r;
        remove_entries(auths, registry);
        plain = xasprintf("%s:%s", user, password);
        encoded = base64_encode(plain, strlen(plain));
        entry = json_object();
        json_object_set_new(entry, "auth", json_string(encoded));
        json_object_set_new(auths, registry, entry);
        r = save(path, j, err);
        if (r < 0)
                return error_wrap(err, r, "save credentials for '%s'", registry);
        return 0;
}

int img_auth_logout(const char *path, const char *registry, Error **err)
{
        _cleanup_json_ json_t *j = NULL;
        json_t *auths = NULL;
        int r;

        r = load(path, &j, err);
        if (r < 0)
                return r;
        r = auths_of(j, path, false, &auths, err);
        if (r < 0)
                return r;
        if (!auths || remove_entries(auths, registry) == 0)
                return error_setf(err, ENOENT, "not logged in to '%s'", registry);
        r = save(path, j, err);
        if (r < 0)
                return error_wrap(err, r, "save credentials");
        return 0;
}
