/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* main.c: the hull command line: verb table and the one error line */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "common/log.h"

static const struct {
        const char *name;
        int (*main)(int argc, char **argv);
        const char *help;
} verbs[] = {
        { "oci", cli_oci_main, "the OCI runtime, command-line compatible with runc" },
};

int cli_fail(int r, Error *err)
{
        const char *msg = error_message(err, r);

        if (log_fd() != STDERR_FILENO) {
                /* containerd reads the error of a failed call from the --log file. */
                log_error("%s", msg);
        }
        fprintf(stderr, "hull: %s\n", msg);
        return 1;
}

int cli_usage_error(const char *fmt, ...)
{
        char buf[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (log_fd() != STDERR_FILENO)
                log_error("%s", buf);
        fprintf(stderr, "hull: %s\n", buf);
        return 1;
}

static void usage(FILE *f)
{
        fprintf(f, "usage: hull COMMAND [ARG...]\n\ncommands:\n");
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
                fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].help);
        fprintf(f, "  %-10s %s\n", "version", "print the version");
}

int main(int argc, char **argv)
{
        const char *self = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];

        /* hull-oci is the runtime under another name, for tools that want a runc-like binary. */
        if (strcmp(self, "hull-oci") == 0)
                return cli_oci_main(argc, argv);
        if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0 ||
            strcmp(argv[1], "-h") == 0) {
                usage(argc < 2 ? stderr : stdout);
                return argc < 2 ? 1 : 0;
        }
        if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
                printf("hull version 0.1.0\nspec: 1.1.0\n");
                return 0;
        }
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
                if (strcmp(argv[1], verbs[i].name) == 0)
                        return verbs[i].main(argc - 1, argv + 1);
        return cli_usage_error("unknown command '%s' (see 'hull --help')", argv[1]);
}
