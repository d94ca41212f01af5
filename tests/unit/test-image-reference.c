/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-image-reference.c: image references, normalised as docker does, and the input they refuse */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/alloc.h"
#include "image/reference.h"

#define D64 "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

static void test_good(void **state)
{
        static const struct {
                const char *in, *registry, *repository, *tag, *digest, *canonical;
        } table[] = {
                { "busybox", "docker.io", "library/busybox", "latest", NULL, "docker.io/library/busybox:latest" },
                { "busybox:1.36", "docker.io", "library/busybox", "1.36", NULL, "docker.io/library/busybox:1.36" },
                { "library/busybox", "docker.io", "library/busybox", "latest", NULL, NULL },
                { "docker.io/busybox", "docker.io", "library/busybox", "latest", NULL, NULL },
                { "index.docker.io/library/debian:12", "docker.io", "library/debian", "12", NULL, NULL },
                { "user/repo", "docker.io", "user/repo", "latest", NULL, "docker.io/user/repo:latest" },
                { "localhost/x", "localhost", "x", "latest", NULL, "localhost/x:latest" },
                { "localhost:5000/a/b:1", "localhost:5000", "a/b", "1", NULL, "localhost:5000/a/b:1" },
                { "127.0.0.1:5000/test/img:1", "127.0.0.1:5000", "test/img", "1", NULL, NULL },
                { "[::1]:5000/x:y", "[::1]:5000", "x", "y", NULL, "[::1]:5000/x:y" },
                { "quay.io/podman/stable@" D64, "quay.io", "podman/stable", NULL, D64, "quay.io/podman/stable@" D64 },
                { "ghcr.io/a/b:v1@" D64, "ghcr.io", "a/b", "v1", D64, "ghcr.io/a/b:v1@" D64 },
                /* No '/': "localhost:5000" is the image "localhost", tag "5000", as docker reads it. */
                { "localhost:5000", "docker.io", "library/localhost", "5000", NULL, NULL },
                { "Registry.Example.COM/a_b/c-d/e.f/g__h/i---j:_T.9-x", "Registry.Example.COM",
                  "a_b/c-d/e.f/g__h/i---j", "_T.9-x", NULL, NULL },
                { "host-1.example:443/x", "host-1.example:443", "x", "latest", NULL, NULL },
        };

        for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
                _cleanup_(img_reference_freep) ImgReference *r = NULL, *c = NULL;
                _cleanup_error_ Error *e = NULL;
                _cleanup_free_ char *s = NULL, *name = NULL;

                if (img_reference_parse(table[i].in, &r, &e) < 0)
                        fail_msg("'%s': %s", table[i].in, e->msg);
                assert_string_equal(r->registry, table[i].registry);
                assert_string_equal(r->repository, table[i].repository);
                if (table[i].tag)
                        assert_string_equal(r->tag, table[i].tag);
                else
                        assert_null(r->tag);
                if (table[i].digest)
                        assert_string_equal(r->digest, table[i].digest);
                else
                        assert_null(r->digest);
                s = img_reference_to_string(r);
                if (table[i].canonical)
                        assert_string_equal(s, table[i].canonical);
                /* The canonical form parses back to the same reference. */
                assert_int_equal(img_reference_parse(s, &c, &e), 0);
                assert_string_equal(c->registry, r->registry);
                assert_string_equal(c->repository, r->repository);
                name = img_reference_name(r);
                assert_int_equal(strncmp(s, name, strlen(name)), 0);
                assert_string_equal(img_reference_object(r), table[i].digest ? table[i].digest : table[i].tag);
        }
}

static void test_bad(void **state)
{
        _cleanup_free_ char *long_tag = NULL, *long_name = NULL;
        char tag[140], name[300];

        memset(tag, 'a', sizeof(tag) - 1);
        tag[sizeof(tag) - 1] = '\0';
        long_tag = xasprintf("foo:%s", tag);
        memset(name, 'a', sizeof(name) - 1);
        name[sizeof(name) - 1] = '\0';
        long_name = xasprintf("example.com/%s", name);

        const struct {
                const char *in;
                int code;
                const char *msg;
        } table[] = {
                { "", EINVAL, "reference '': empty" },
                { "Foo", EINVAL, "reference 'Foo': repository name must be lowercase" },
                { "foo/Bar:1", EINVAL, "must be lowercase" },
                { "foo:", EINVAL, "invalid tag ''" },
                { "foo:-bad", EINVAL, "invalid tag '-bad'" },
                { "foo:a/b", EINVAL, "invalid registry 'foo:a'" },
                { long_tag, EINVAL, "invalid tag" },
                { "foo@sha256:abc", EINVAL, "reference 'foo@sha256:abc'" },
                { "foo@", EINVAL, "reference 'foo@'" },
                { "foo@sha512:abcd", EOPNOTSUPP, "only sha256" },
                { "foo//bar", EINVAL, "invalid repository name 'foo//bar'" },
                { "foo/bar/", EINVAL, "invalid repository name" },
                { "-foo", EINVAL, "invalid repository name" },
                { "foo..bar", EINVAL, "invalid repository name" },
                { "foo___bar", EINVAL, "invalid repository name" },
                { "foo-", EINVAL, "invalid repository name" },
                { "foo bar", EINVAL, "invalid repository name" },
                { "host:abc/x", EINVAL, "invalid registry 'host:abc'" },
                { "-host.io/x", EINVAL, "invalid registry" },
                { "[::zz]:5000/x", EINVAL, "invalid registry" },
                { "a_b.io/x", EINVAL, "invalid registry" },
                { ":tag", EINVAL, "invalid repository name ''" },
                { "/busybox", EINVAL, "invalid repository name" },
                { "example.com/", EINVAL, "invalid repository name ''" },
                { long_name, EINVAL, "longer than 255" },
        };

        for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
                ImgReference *r = NULL;
                _cleanup_error_ Error *e = NULL;
                int k = img_reference_parse(table[i].in, &r, &e);

                if (k != -table[i].code)
                        fail_msg("'%s': got %d, expected %d", table[i].in, k, -table[i].code);
                assert_null(r);
                assert_non_null(e);
                if (!strstr(e->msg, table[i].msg))
                        fail_msg("'%s': '%s' not in '%s'", table[i].in, table[i].msg, e->msg);
        }
}

static void test_hosts(void **state)
{
        _cleanup_(img_reference_freep) ImgReference *r = img_reference_new("localhost:5000", "a/b", NULL, D64);
        _cleanup_(img_reference_freep) ImgReference *c = img_reference_copy(r);
        _cleanup_free_ char *s = img_reference_to_string(c);

        assert_string_equal(s, "localhost:5000/a/b@" D64);
        assert_string_equal(img_registry_api_host("docker.io"), "registry-1.docker.io");
        assert_string_equal(img_registry_api_host("quay.io"), "quay.io");
        assert_string_equal(img_registry_api_host("127.0.0.1:5000"), "127.0.0.1:5000");

        assert_true(img_registry_is_loopback("127.0.0.1:5000"));
        assert_true(img_registry_is_loopback("127.1.2.3"));
        assert_true(img_registry_is_loopback("localhost"));
        assert_true(img_registry_is_loopback("LOCALHOST:80"));
        assert_true(img_registry_is_loopback("[::1]:5000"));
        assert_true(img_registry_is_loopback("[::1]"));
        assert_false(img_registry_is_loopback("128.0.0.1:5000"));
        assert_false(img_registry_is_loopback("docker.io"));
        assert_false(img_registry_is_loopback("localhost.example.com"));
        assert_false(img_registry_is_loopback("[::2]:5000"));
        assert_false(img_registry_is_loopback("[::1"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_good),
                cmocka_unit_test(test_bad),
                cmocka_unit_test(test_hosts),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
