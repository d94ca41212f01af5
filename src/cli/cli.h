/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cli.h: verb groups of the hull command line and the one way they report failure */
#pragma once

#include "common/error.h"

/* Prints "hull: <message>" once (to the log as well when one is set) and returns the exit status 1. */
int cli_fail(int r, Error *err);
/* Prints a usage-type error ("create: unknown flag '--foo'") and returns 1. */
int cli_usage_error(const char *fmt, ...) _printf_(1, 2);

/* hull oci ...: the runc-compatible runtime; argv[0] is the verb group's own name. */
int cli_oci_main(int argc, char **argv);
