/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* reference.c: parsing image references by the distribution grammar, with docker's normalisation */
#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "common/digest.h"
#include "reference.h"

/* The distribution spec caps a repository name, registry included, at 255 characters. */
#define NAME_TOTAL_MAX 255
#define TAG_MAX 128

static bool is_lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* path-component := [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*, over [p, end). */
static bool path_component_ok(const char *p, const char *end)
{
        if (p == end || !is_lower_alnum(*p))
                return false;
        while (p < end) {
                if (is_lower_alnum(*p)) {
                        p++;
                        continue;
                }
                /* A separator, which must be followed by an alphanumeric. */
                if (*p == '.')
                        p++;
                else if (*p == '_')
                        p += (p + 1 < end && p[1] == '_') ? 2 : 1;
                else if (*p == '-')
                        while (p < end && *p == '-')
                                p++;
                else
                        return false;
                if (p == end || !is_lower_alnum(*p))
                        return false;
        }
        return true;
}

/* remote-name := path-component ('/' path-component)* */
static bool path_ok(const char *s)
{
        for (;;) {
                const char *slash = strchr(s, '/');
                const char *end = slash ? slash : s + strlen(s);
                if (!path_component_ok(s, end))
                        return false;
                if (!slash)
                        return true;
                s = slash + 1;
        }
}

/* domain-component := [A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?, dot-separated, over [p, end). */
static bool host_name_ok(const char *p, const char *end)
{
        const char *start = p;

        if (p == end)
                return false;
        for (; p <= end; p++) {
                if (p == end || *p == '.') {
                        if (p == start || start[0] == '-' || p[-1] == '-')
                                return false;
                        start = p + 1;
                        continue;
                }
                if (!isalnum((unsigned char)*p) && *p != '-')
                        return false;
        }
        return true;
}

static bool port_ok(const char *p)
{
        size_t n = strspn(p, "0123456789");
        return n > 0 && n <= 5 && p[n] == '\0';
}

/* domain := host (':' port)?, host := domain-name | IPv4 | '[' IPv6 ']' */
static bool domain_ok(const char *s)
{
        const char *colon;

        if (s[0] == '[') {
                const char *close = strchr(s, ']');
                char buf[INET6_ADDRSTRLEN];
                struct in6_addr a6;

                if (!close || (size_t)(close - s - 1) >= sizeof(buf))
                        return false;
                memcpy(buf, s + 1, (size_t)(close - s - 1));
                buf[close - s - 1] = '\0';
                if (inet_pton(AF_INET6, buf, &a6) != 1)
                        return false;
                return close[1] == '\0' || (close[1] == ':' && port_ok(close + 2));
        }
        colon = strchr(s, ':');
        if (colon && !port_ok(colon + 1))
                return false;
        /* An IPv4 address is a dot-separated run of digit labels: the host-name rule accepts it. */
        return host_name_ok(s, colon ? colon : s + strlen(s));
}

static bool tag_ok(const char *t)
{
        size_t n = strlen(t);

        if (n == 0 || n > TAG_MAX || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!isalnum((unsigned char)t[i]) && !strchr("_.-", t[i]))
                        return false;
        return true;
}

static bool has_upper(const char *s)
{
        for (; *s; s++)
                if (*s >= 'A' && *s <= 'Z')
                        return true;
        return false;
}

/* docker's rule: a first component is a registry if it looks like a host name with a dot or a
 * port, or is "localhost"; anything else is the first component of a Docker Hub repository. */
static bool is_registry_component(const char *s, size_t n)
{
        return memchr(s, '.', n) || memchr(s, ':', n) || (n == 9 && strncmp(s, "localhost", 9) == 0);
}

/* Splits name into registry and repository, docker.io and "library/" filled in. */
static int split_name(const char *input, const char *name, ImgReference *r, Error **err)
{
        const char *slash = strchr(name, '/');

        if (slash && is_registry_component(name, (size_t)(slash - name))) {
                r->registry = xstrndup(name, (size_t)(slash - name));
                r->repository = xstrdup(slash + 1);
        } else {
                r->registry = xstrdup(IMG_DEFAULT_REGISTRY);
                r->repository = xstrdup(name);
        }
        if (strcmp(r->registry, "index.docker.io") == 0) {
                free(r->registry);
                r->registry = xstrdup(IMG_DEFAULT_REGISTRY);
        }
        if (!domain_ok(r->registry))
                return error_setf(err, EINVAL, "reference '%s': invalid registry '%s'", input, r->registry);
        if (!path_ok(r->repository)) {
                _cleanup_free_ char *lower = xstrdup(r->repository);
                for (char *p = lower; *p; p++)
                        *p = (char)tolower((unsigned char)*p);
                if (has_upper(r->repository) && path_ok(lower))
                        return error_setf(err, EINVAL, "reference '%s': repository name must be lowercase",
                                          input);
                return error_setf(err, EINVAL, "reference '%s': invalid repository name '%s'", input,
                                  r->repository);
        }
        if (strcmp(r->registry, IMG_DEFAULT_REGISTRY) == 0 && !strchr(r->repository, '/')) {
                char *full = xasprintf("library/%s", r->repository);
                free(r->repository);
                r->repository = full;
        }
        if (strlen(r->registry) + 1 + strlen(r->repository) > NAME_TOTAL_MAX)
                return error_setf(err, EINVAL,
                                  "reference '%s': repository name must not be longer than %d characters", input,
                                  NAME_TOTAL_MAX);
        return 0;
}

int img_reference_parse(const char *s, ImgReference **ret, Error **err)
{
        _cleanup_(img_reference_freep) ImgReference *r = xnew0(ImgReference, 1);
        _cleanup_free_ char *name = NULL;
        const char *at = strchr(s, '@');
        char *slash, *colon;
        int k;

        if (!*s)
                return error_setf(err, EINVAL, "reference '': empty");
        name = at ? xstrndup(s, (size_t)(at - s)) : xstrdup(s);
        if (at) {
                k = digest_check(at + 1, err);
                if (k < 0)
                        return error_wrap(err, k, "reference '%s'", s);
                r->digest = xstrdup(at + 1);
        }
        /* A tag is after the last ':' that follows the last '/': "host:5000/x" has none. */
        slash = strrchr(name, '/');
        colon = strrchr(slash ? slash : name, ':');
        if (colon) {
                if (!tag_ok(colon + 1))
                        return error_setf(err, EINVAL, "reference '%s': invalid tag '%s'", s, colon + 1);
                r->tag = xstrdup(colon + 1);
                *colon = '\0';
        }
        k = split_name(s, name, r, err);
        if (k < 0)
                return k;
        if (!r->tag && !r->digest)
                r->tag = xstrdup(IMG_DEFAULT_TAG);
        *ret = TAKE_PTR(r);
        return 0;
}

static char *strdup_null(const char *s)
{
        return s ? xstrdup(s) : NULL;
}

ImgReference *img_reference_new(const char *registry, const char *repository, const char *tag,
                                const char *digest)
{
        ImgReference *r = xnew0(ImgReference, 1);
        r->registry = xstrdup(registry);
        r->repository = xstrdup(repository);
        r->tag = strdup_null(tag);
        r->digest = strdup_null(digest);
        return r;
}

ImgReference *img_reference_copy(const ImgReference *r)
{
        return img_reference_new(r->registry, r->repository, r->tag, r->digest);
}

ImgReference *img_reference_free(ImgReference *r)
{
        if (!r)
                return NULL;
        free(r->registry);
        free(r->repository);
        free(r->tag);
        free(r->digest);
        free(r);
        return NULL;
}

char *img_reference_to_string(const ImgReference *r)
{
        return xasprintf("%s/%s%s%s%s%s", r->registry, r->repository, r->tag ? ":" : "", r->tag ? r->tag : "",
                         r->digest ? "@" : "", r->digest ? r->digest : "");
}

char *img_reference_name(const ImgReference *r)
{
        return xasprintf("%s/%s", r->registry, r->repository);
}

const char *img_reference_object(const ImgReference *r)
{
        return r->digest ? r->digest : r->tag ? r->tag : IMG_DEFAULT_TAG;
}

const char *img_registry_api_host(const char *registry)
{
        if (strcmp(registry, IMG_DEFAULT_REGISTRY) == 0)
                return "registry-1.docker.io";
        return registry;
}

bool img_registry_is_loopback(const char *registry)
{
        char host[INET6_ADDRSTRLEN];
        struct in_addr a4;
        struct in6_addr a6;
        const char *end;

        if (registry[0] == '[') {
                end = strchr(registry, ']');
                if (!end || (size_t)(end - registry - 1) >= sizeof(host))
                        return false;
                memcpy(host, registry + 1, (size_t)(end - registry - 1));
                host[end - registry - 1] = '\0';
                return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
        }
        end = strchr(registry, ':');
        if (!end)
                end = registry + strlen(registry);
        if ((size_t)(end - registry) >= sizeof(host))
                return false;
        memcpy(host, registry, (size_t)(end - registry));
        host[end - registry] = '\0';
        if (strcasecmp(host, "localhost") == 0)
                return true;
        return inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}
