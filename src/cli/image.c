/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* image.c: hull pull, push, images, rmi, tag, image ..., login, logout */
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "common/alloc.h"
#include "common/json.h"
#include "common/strv.h"
#include "instance/build.h"
#include "instance/images.h"
#include "instance/instance.h"

/* Per-layer progress bars on a terminal, redrawn at most ten times a second. */
typedef struct Progress {
        uint64_t *done, *total;
        size_t n, drawn;
        struct timespec last;
} Progress;

static void progress_draw(Progress *p, bool is_final)
{
        struct timespec now;

        clock_gettime(CLOCK_MONOTONIC, &now);
        if (!is_final && (now.tv_sec - p->last.tv_sec) * 1000 + (now.tv_nsec - p->last.tv_nsec) / 1000000 < 100)
                return;
        p->last = now;
        if (p->drawn)
                fprintf(stderr, "\033[%zuA", p->drawn);
        for (size_t i = 0; i < p->n; i++) {
                char bar[31];
                double f = p->total[i] ? (double)p->done[i] / (double)p->total[i] : 0;
                size_t fill = (size_t)(f * 30);
                memset(bar, '=', fill);
                memset(bar + fill, ' ', 30 - fill);
                bar[30] = '\0';
                fprintf(stderr, "\r\033[Klayer %-3zu [%s] %7.1f / %.1f MB\n", i + 1, bar, (double)p->done[i] / 1e6,
                        (double)p->total[i] / 1e6);
        }
        p->drawn = p->n;
        fflush(stderr);
}

static void progress_cb(void *userdata, size_t index, uint64_t done, uint64_t total)
{
        Progress *p = userdata;

        if (index >= p->n) {
                p->done = xrealloc(p->done, (index + 1) * sizeof(*p->done));
                p->total = xrealloc(p->total, (index + 1) * sizeof(*p->total));
                for (size_t i = p->n; i <= index; i++)
                        p->done[i] = p->total[i] = 0;
                p->n = index + 1;
        }
        p->done[index] = done;
        p->total[index] = total;
        progress_draw(p, false);
}

static void progress_done(Progress *p)
{
        if (p->n)
                progress_draw(p, true);
        free(p->done);
        free(p->total);
}

int cli_pull_image(InstContext *c, const char *ref, bool is_quiet, InstImage **ret)
{
        _cleanup_error_ Error *err = NULL;
        Progress p = {};
        InstRemoteOptions o = { .tls_verify = -1 };
        int r;

        if (!is_quiet) {
                o.progress = progress_cb;
                o.userdata = &p;
        }
        r = inst_image_pull(c, ref, &o, ret, &err);
        progress_done(&p);
        return r < 0 ? cli_fail(r, err) : 0;
}

enum { OPT_TLS = 0x100, OPT_PLATFORM, OPT_CREDS, OPT_FORMAT, OPT_PASSWORD_STDIN };

/* --tls-verify[=true|false] */
static int parse_tls(const char *v, int *ret)
{
        if (!v || strcmp(v, "true") == 0)
                *ret = 1;
        else if (strcmp(v, "false") == 0)
                *ret = 0;
        else
                return cli_usage_error("--tls-verify '%s': expected true or false", v);
        return 0;
}

/* --creds user:password */
static int parse_creds(const char *v, InstRemoteOptions *o, char **buf)
{
        char *colon;

        *buf = xstrdup(v);
        colon = strchr(*buf, ':');
        if (!colon)
                return cli_usage_error("--creds: expected USER:PASSWORD");
        *colon = '\0';
        o->username = *buf;
        o->password = colon + 1;
        return 0;
}

/* The options pull and push share: --tls-verify, --creds, -q, and --platform for pull. */
static int parse_remote(int argc, char **argv, bool has_platform, InstRemoteOptions *o, char **creds,
                        Progress *p)
{
        static const struct option longs[] = {
                { "tls-verify", optional_argument, NULL, OPT_TLS }, { "platform", required_argument, NULL, OPT_PLATFORM },
                { "creds", required_argument, NULL, OPT_CREDS },     { "quiet", no_argument, NULL, 'q' },
                {}
        };
        bool is_quiet = !isatty(STDERR_FILENO);
        int ch;

        *o = (InstRemoteOptions){ .tls_verify = -1 };
        CLI_FOR_EACH_OPT (ch, argc, argv, "q", longs) {
                switch (ch) {
                case OPT_TLS:
                        if (parse_tls(optarg, &o->tls_verify))
                                return 1;
                        break;
                case OPT_PLATFORM:
                        if (!has_platform)
                                return cli_bad_option(argv[0], '?', argv);
                        o->platform = optarg;
                        break;
                case OPT_CREDS:
                        if (parse_creds(optarg, o, creds))
                                return 1;
                        break;
                case 'q': is_quiet = true; break;
                default: return cli_bad_option(argv[0], ch, argv);
                }
        }
        if (!is_quiet) {
                o->progress = progress_cb;
                o->userdata = p;
        }
        return 0;
}

int cli_pull_main(int argc, char **argv)
{
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        _cleanup_(inst_image_freep) InstImage *img = NULL;
        _cleanup_error_ Error *err = NULL;
        _cleanup_free_ char *creds = NULL;
        InstRemoteOptions o;
        Progress p = {};
        int r;

        if (parse_remote(argc, argv, true, &o, &creds, &p) != 0)
                return 1;
        if (argc - optind != 1)
                return cli_usage_error("pull: one image reference is required");
        if (cli_open(&c) != 0)
                return 1;
        r = inst_image_pull(c, argv[optind], &o, &img, &err);
        progress_done(&p);
        if (r < 0)
                return cli_fail(r, err);
        printf("%s\n", img->id);
        return 0;
}

int cli_push_main(int argc, char **argv)
{
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        _cleanup_error_ Error *err = NULL;
        _cleanup_free_ char *creds = NULL, *digest = NULL;
        InstRemoteOptions o;
        Progress p = {};
        int r;

        if (parse_remote(argc, argv, false, &o, &creds, &p) != 0)
                return 1;
        if (argc - optind < 1 || argc - optind > 2)
                return cli_usage_error("push: usage: push IMAGE [DESTINATION]");
        if (cli_open(&c) != 0)
                return 1;
        r = inst_image_push(c, argv[optind], argc - optind == 2 ? argv[optind + 1] : NULL, &o, &digest, &err);
        progress_done(&p);
        if (r < 0)
                return cli_fail(r, err);
        printf("%s\n", digest);
        return 0;
}

/* "docker.io/library/busybox:latest" → repository and tag, for the table. */
static void split_name(const char *name, char *repo, size_t repo_size, const char **tag)
{
        const char *slash = strrchr(name, '/'), *colon = strrchr(name, ':');

        if (colon && (!slash || colon > slash)) {
                snprintf(repo, repo_size, "%.*s", (int)(colon - name), name);
                *tag = colon + 1;
        } else {
                snprintf(repo, repo_size, "%s", name);
                *tag = "<none>";
        }
}

static int list_images(int argc, char **argv)
{
        static const struct option longs[] = {
                { "format", required_argument, NULL, OPT_FORMAT }, { "quiet", no_argument, NULL, 'q' }, {}
        };
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        _cleanup_error_ Error *err = NULL;
        _cleanup_json_ json_t *out = json_array();
        InstImage **images = NULL;
        size_t n = 0;
        bool is_json = false, is_quiet = false;
        int ch, r;

        CLI_FOR_EACH_OPT (ch, argc, argv, "q", longs) {
                switch (ch) {
                case OPT_FORMAT:
                        if (strcmp(optarg, "json") != 0)
                                return cli_usage_error("images: --format '%s': only 'json' is known", optarg);
                        is_json = true;
                        break;
                case 'q': is_quiet = true; break;
                default: return cli_bad_option(argv[0], ch, argv);
                }
        }
        if (cli_open(&c) != 0)
                return 1;
        r = inst_db_image_list(c->db, &images, &n, &err);
        if (r < 0)
                return cli_fail(r, err);
        if (!is_json && !is_quiet)
                printf("%-40s  %-12s  %-12s  %-20s  %10s\n", "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
        for (size_t i = 0; i < n; i++) {
                InstImage *img = images[i];
                char created[32], repo[256];
                struct tm tm;
                time_t t = (time_t)img->created;
                size_t n_names = strv_length(img->names);

                gmtime_r(&t, &tm);
                strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
                for (size_t k = 0; k < (n_names ? n_names : 1); k++) {
                        const char *name = n_names ? img->names[k] : NULL, *tag = "<none>";
                        if (is_json) {
                                json_array_append_new(out, json_pack("{s:s, s:o, s:s, s:I, s:s}", "id", img->id,
                                                                     "name", name ? json_string(name) : json_null(),
                                                                     "digest", img->digest, "size",
                                                                     (json_int_t)img->size, "created", created));
                        } else if (is_quiet) {
                                printf("%.12s\n", img->id);
                                break;
                        } else {
                                if (name)
                                        split_name(name, repo, sizeof(repo), &tag);
                                else
                                        snprintf(repo, sizeof(repo), "<none>");
                                printf("%-40s  %-12s  %.12s  %-20s  %8.1fMB\n", repo, tag, img->id, created,
                                       (double)img->size / 1e6);
                        }
                }
                inst_image_free(img);
        }
        free(images);
        if (is_json)
                cli_print_json(out);
        return 0;
}

int cli_images_main(int argc, char **argv)
{
        return list_images(argc, argv);
}

int cli_rmi_main(int argc, char **argv)
{
        static const struct option longs[] = { { "force", no_argument, NULL, 'f' }, {} };
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        int ch, ret = 0;

        CLI_FOR_EACH_OPT (ch, argc, argv, "f", longs) {
                if (ch != 'f')
                        return cli_bad_option(argv[0], ch, argv);
        }
        if (optind >= argc)
                return cli_usage_error("rmi: an image is required");
        if (cli_open(&c) != 0)
                return 1;
        for (int i = optind; i < argc; i++) {
                _cleanup_error_ Error *err = NULL;
                bool is_untagged;
                int r = inst_image_remove(c, argv[i], &is_untagged, &err);
                if (r < 0)
                        ret = cli_fail(r, err);
                else
                        printf("%s: %s\n", is_untagged ? "Untagged" : "Deleted", argv[i]);
        }
        return ret;
}

int cli_tag_main(int argc, char **argv)
{
        static const struct option longs[] = { {} };
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        _cleanup_error_ Error *err = NULL;
        int ch, r;

        CLI_FOR_EACH_OPT (ch, argc, argv, "", longs)
                return cli_bad_option(argv[0], ch, argv);
        if (argc - optind < 2)
                return cli_usage_error("tag: usage: tag SOURCE TARGET...");
        if (cli_open(&c) != 0)
                return 1;
        for (int i = optind + 1; i < argc; i++) {
                r = inst_image_tag(c, argv[optind], argv[i], &err);
                if (r < 0)
                        return cli_fail(r, err);
        }
        return 0;
}

/* image inspect: inspect, for images only. */
static int image_inspect(int argc, char **argv)
{
        _cleanup_free_ char **args = xnew0(char *, (size_t)argc + 2);

        args[0] = argv[0];
        args[1] = (char *)"--type=image";
        for (int i = 1; i < argc; i++)
                args[i + 1] = argv[i];
        return cli_inspect_main(argc + 1, args);
}

static int image_prune(int argc, char **argv)
{
        static const struct option longs[] = { { "force", no_argument, NULL, 'f' }, {} };
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        _cleanup_error_ Error *err = NULL;
        int ch, r;

        CLI_FOR_EACH_OPT (ch, argc, argv, "f", longs) {
                if (ch != 'f')
                        return cli_bad_option(argv[0], ch, argv);
        }
        if (cli_open(&c) != 0)
                return 1;
        r = inst_image_prune(c, &err);
        if (r < 0)
                return cli_fail(r, err);
        printf("removed %d image%s\n", r, r == 1 ? "" : "s");
        return 0;
}

static int image_import(int argc, char **argv)
{
        static const struct option longs[] = { {} };
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        _cleanup_error_ Error *err = NULL;
        _cleanup_strv_ char **ids = NULL;
        int ch, r;

        CLI_FOR_EACH_OPT (ch, argc, argv, "", longs)
                return cli_bad_option(argv[0], ch, argv);
        if (argc - optind < 1 || argc - optind > 2)
                return cli_usage_error("image import: usage: image import PATH|- [NAME]");
        if (cli_open(&c) != 0)
                return 1;
        r = inst_image_import(c, argv[optind], argc - optind == 2 ? argv[optind + 1] : NULL, &ids, &err);
        if (r < 0)
                return cli_fail(r, err);
        for (char **p = ids; p && *p; p++)
                printf("%s\n", *p);
        return 0;
}

static int image_export(int argc, char **argv)
{
        static const struct option longs[] = { { "format", required_argument, NULL, OPT_FORMAT }, {} };
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        _cleanup_error_ Error *err = NULL;
        const char *format = "oci-archive";
        int ch, r;

        CLI_FOR_EACH_OPT (ch, argc, argv, "", longs) {
                if (ch != OPT_FORMAT)
                        return cli_bad_option(argv[0], ch, argv);
                format = optarg;
        }
        if (argc - optind != 2)
                return cli_usage_error("image export: usage: image export [--format oci-dir|oci-archive|docker-archive] IMAGE PATH|-");
        if (cli_open(&c) != 0)
                return 1;
        r = inst_image_export(c, argv[optind], format, argv[optind + 1], &err);
        return r < 0 ? cli_fail(r, err) : 0;
}

int cli_image_main(int argc, char **argv)
{
        static const CliCommand subs[] = {
                { "ls", list_images },
                { "list", list_images, .is_alias = true },
                { "pull", cli_pull_main },
                { "push", cli_push_main },
                { "rm", cli_rmi_main },
                { "tag", cli_tag_main },
                { "inspect", image_inspect },
                { "import", image_import },
                { "export", image_export },
                { "prune", image_prune },
                { "build", cli_build_main },
        };

        return cli_dispatch("image", subs, ARRAY_SIZE(subs), argc, argv);
}

int cli_login_main(int argc, char **argv)
{
        static const struct option longs[] = {
                { "username", required_argument, NULL, 'u' }, { "password", required_argument, NULL, 'p' },
                { "password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN },
                { "tls-verify", optional_argument, NULL, OPT_TLS }, {}
        };
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        _cleanup_error_ Error *err = NULL;
        _cleanup_free_ char *stdin_password = NULL;
        InstRemoteOptions o = { .tls_verify = -1 };
        const char *user = NULL, *password = NULL;
        int ch, r;

        CLI_FOR_EACH_OPT (ch, argc, argv, "u:p:", longs) {
                switch (ch) {
                case 'u': user = optarg; break;
                case 'p': password = optarg; break;
                case OPT_PASSWORD_STDIN: {
                        size_t cap = 0;
                        ssize_t n = getline(&stdin_password, &cap, stdin);
                        if (n < 0)
                                return cli_usage_error("login: no password on stdin");
                        stdin_password[strcspn(stdin_password, "\r\n")] = '\0';
                        password = stdin_password;
                        break;
                }
                case OPT_TLS:
                        if (parse_tls(optarg, &o.tls_verify))
                                return 1;
                        break;
                default: return cli_bad_option(argv[0], ch, argv);
                }
        }
        if (argc - optind != 1)
                return cli_usage_error("login: one registry is required");
        if (!user || !password)
                return cli_usage_error("login: --username and --password (or --password-stdin) are required");
        if (cli_open(&c) != 0)
                return 1;
        r = inst_registry_login(c, argv[optind], user, password, &o, &err);
        if (r < 0)
                return cli_fail(r, err);
        printf("Login Succeeded\n");
        return 0;
}

int cli_logout_main(int argc, char **argv)
{
        static const struct option longs[] = { {} };
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        _cleanup_error_ Error *err = NULL;
        int ch, r;

        CLI_FOR_EACH_OPT (ch, argc, argv, "", longs)
                return cli_bad_option(argv[0], ch, argv);
        if (argc - optind != 1)
                return cli_usage_error("logout: one registry is required");
        if (cli_open(&c) != 0)
                return 1;
        r = inst_registry_logout(c, argv[optind], &err);
        return r < 0 ? cli_fail(r, err) : 0;
}

int cli_build_main(int argc, char **argv)
{
        static const struct option longs[] = {
                { "tag", required_argument, NULL, 't' },         { "file", required_argument, NULL, 'f' },
                { "build-arg", required_argument, NULL, 'A' },   { "no-cache", no_argument, NULL, 'N' },
                { "quiet", no_argument, NULL, 'q' },             { "tls-verify", optional_argument, NULL, OPT_TLS },
                {}
        };
        _cleanup_(inst_context_freep) InstContext *c = NULL;
        _cleanup_(inst_image_freep) InstImage *img = NULL;
        _cleanup_error_ Error *err = NULL;
        _cleanup_strv_ char **build_args = NULL;
        InstBuildOptions o = { .tls_verify = -1 };
        int ch, r;

        CLI_FOR_EACH_OPT (ch, argc, argv, "t:f:q", longs) {
                switch (ch) {
                case 't': o.tag = optarg; break;
                case 'f': o.file = optarg; break;
                case 'A': strv_push(&build_args, optarg); break;
                case 'N': o.no_cache = true; break;
                case 'q': o.is_quiet = true; break;
                case OPT_TLS:
                        if (parse_tls(optarg, &o.tls_verify))
                                return 1;
                        break;
                default: return cli_bad_option(argv[0], ch, argv);
                }
        }
        if (argc - optind != 1)
                return cli_usage_error("build: one context directory is required");
        o.context = argv[optind];
        o.build_args = build_args;
        if (cli_open(&c) != 0)
                return 1;
        r = inst_build(c, &o, &img, &err);
        if (r < 0)
                return cli_fail(r, err);
        printf("%s\n", img->id);
        return 0;
}
