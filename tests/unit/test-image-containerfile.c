/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-image-containerfile.c: Containerfile parsing tables, ignore patterns, COPY sources in a real context */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/strv.h"
#include "image/containerfile.h"

/* ---- parse tables ---- */

/* One line per stage ("FROM base [AS name] [platform=P] [base_stage=N]") and per instruction
 * ("  L<line> <canonical>"), so one string says everything the parser produced. */
static char *dump(const ImgContainerfile *cf)
{
        char *out = xstrdup("");

        for (size_t i = 0; cf->global_args && cf->global_args[i]; i++) {
                char *n = xasprintf("%sGLOBAL %s\n", out, cf->global_args[i]);
                free(out);
                out = n;
        }
        for (size_t i = 0; i < cf->n_stages; i++) {
                const ImgStage *s = &cf->stages[i];
                char *n = xasprintf("%sL%u FROM %s%s%s%s%s", out, s->line, s->base, s->name ? " AS " : "",
                                    s->name ? s->name : "", s->platform ? " platform=" : "",
                                    s->platform ? s->platform : "");
                free(out);
                out = n;
                if (s->base_stage >= 0) {
                        n = xasprintf("%s base_stage=%d", out, s->base_stage);
                        free(out);
                        out = n;
                }
                n = xasprintf("%s\n", out);
                free(out);
                out = n;
                for (size_t k = 0; k < s->n_instrs; k++) {
                        const ImgInstr *in = &s->instrs[k];
                        n = in->from_stage >= 0
                                    ? xasprintf("%s  L%u %s from_stage=%d\n", out, in->line, in->canonical, in->from_stage)
                                    : xasprintf("%s  L%u %s\n", out, in->line, in->canonical);
                        free(out);
                        out = n;
                }
        }
        return out;
}

typedef struct ParseCase {
        const char *name;
        const char *text;
        const char *build_args[4];
        const char *expect;
} ParseCase;

static const ParseCase parse_cases[] = {
        {
                "every instruction",
                "# a comment\n"
                "FROM debian:12 AS Base\n"
                "RUN apt-get update\n"
                "RUN [\"echo\", \"hi\"]\n"
                "COPY --chown=1000:1000 --chmod=0644 src/ /app/\n"
                "ADD a.tar.gz b /opt/\n"
                "ENV A=1 B=\"two words\" PORTS=\"53/udp  9090\"\n"
                "ENV LEGACY some value $A\n"
                "ARG V=1.0\n"
                "WORKDIR /srv/$V\n"
                "USER app:app\n"
                "CMD [\"serve\", \"--port\", \"80\"]\n"
                "ENTRYPOINT exec /init\n"
                "EXPOSE 80 443/UDP 8000-8010/tcp $PORTS\n"
                "LABEL org.x=\"y z\" version=$V\n"
                "SHELL [\"/bin/bash\", \"-euc\"]\n"
                "RUN make\n"
                "STOPSIGNAL SIGQUIT\n"
                "VOLUME [\"/data\", \"/logs\"]\n"
                "VOLUME /cache /tmp\n"
                "HEALTHCHECK --interval=5s --retries=3 CMD curl -f http://localhost/\n"
                "HEALTHCHECK NONE\n"
                "ONBUILD RUN echo child\n"
                "MAINTAINER Jane <jane@example.org>\n",
                { NULL },
                "L2 FROM debian:12 AS base\n"
                "  L3 RUN args=[\"apt-get update\"] argv=[\"/bin/sh\",\"-c\",\"apt-get update\"]\n"
                "  L4 RUN exec args=[\"echo\",\"hi\"] argv=[\"echo\",\"hi\"]\n"
                "  L5 COPY args=[\"src/\"] dest=\"/app/\" chown=\"1000:1000\" chmod=\"0644\"\n"
                "  L6 ADD args=[\"a.tar.gz\",\"b\"] dest=\"/opt/\"\n"
                "  L7 ENV args=[\"A=1\",\"B=two words\",\"PORTS=53/udp  9090\"]\n"
                "  L8 ENV args=[\"LEGACY=some value 1\"]\n"
                "  L9 ARG args=[\"V=1.0\"]\n"
                "  L10 WORKDIR args=[\"/srv/1.0\"]\n"
                "  L11 USER args=[\"app:app\"]\n"
                "  L12 CMD exec args=[\"serve\",\"--port\",\"80\"] argv=[\"serve\",\"--port\",\"80\"]\n"
                "  L13 ENTRYPOINT args=[\"exec /init\"] argv=[\"/bin/sh\",\"-c\",\"exec /init\"]\n"
                "  L14 EXPOSE args=[\"80/tcp\",\"443/udp\",\"8000-8010/tcp\",\"53/udp\",\"9090/tcp\"]\n"
                "  L15 LABEL args=[\"org.x=y z\",\"version=1.0\"]\n"
                "  L16 SHELL args=[\"/bin/bash\",\"-euc\"]\n"
                "  L17 RUN args=[\"make\"] argv=[\"/bin/bash\",\"-euc\",\"make\"] env=[\"V=1.0\"]\n"
                "  L18 STOPSIGNAL args=[\"SIGQUIT\"]\n"
                "  L19 VOLUME args=[\"/data\",\"/logs\"]\n"
                "  L20 VOLUME args=[\"/cache\",\"/tmp\"]\n"
                "  L21 HEALTHCHECK args=[\"curl -f http://localhost/\"] argv=[\"/bin/bash\",\"-euc\",\"curl -f http://localhost/\"] opts=[\"--interval=5s\",\"--retries=3\"]\n"
                "  L22 HEALTHCHECK args=[\"NONE\"]\n"
                "  L23 ONBUILD args=[\"RUN echo child\"]\n"
                "  L24 MAINTAINER args=[\"Jane <jane@example.org>\"]\n",
        },
        {
                "keywords in any case, continuation lines, comments inside them, CRLF",
                "from alpine\r\n"
                "run apk add \\\r\n"
                "    curl \\\n"
                "# a comment in the middle\n"
                "\n"
                "    git\n"
                "Copy a \\\n"
                "  b\n",
                { NULL },
                "L1 FROM alpine\n"
                "  L2 RUN args=[\"apk add     curl     git\"] argv=[\"/bin/sh\",\"-c\",\"apk add     curl     git\"]\n"
                "  L7 COPY args=[\"a\"] dest=\"b\"\n",
        },
        {
                "escape directive: backtick continues lines, backslashes are plain",
                "# escape=`\n"
                "\n"
                "FROM mcr/windows\n"
                "COPY C:\\src\\a.txt C:\\dst\\\n"
                "RUN dir `\n"
                "  C:\\\n"
                "ENV P=`$HOME\n",
                { NULL },
                "L3 FROM mcr/windows\n"
                "  L4 COPY args=[\"C:\\\\src\\\\a.txt\"] dest=\"C:\\\\dst\\\\\"\n"
                "  L5 RUN args=[\"dir   C:\\\\\"] argv=[\"/bin/sh\",\"-c\",\"dir   C:\\\\\"]\n"
                "  L7 ENV args=[\"P=$HOME\"]\n",
        },
        {
                "a directive after a comment is a comment",
                "# hello\n"
                "# escape=`\n"
                "FROM a\n"
                "RUN x \\\n"
                "  y\n",
                { NULL },
                "L3 FROM a\n"
                "  L4 RUN args=[\"x   y\"] argv=[\"/bin/sh\",\"-c\",\"x   y\"]\n",
        },
        {
                "exec form, shell form, and JSON that is not an array of strings",
                "FROM a\n"
                "CMD [\"a\", \"b c\"]\n"
                "CMD a \"b c\"\n"
                "CMD [1, 2]\n"
                "CMD [\"unterminated\"\n"
                "ENTRYPOINT []\n",
                { NULL },
                "L1 FROM a\n"
                "  L2 CMD exec args=[\"a\",\"b c\"] argv=[\"a\",\"b c\"]\n"
                "  L3 CMD args=[\"a \\\"b c\\\"\"] argv=[\"/bin/sh\",\"-c\",\"a \\\"b c\\\"\"]\n"
                "  L4 CMD args=[\"[1, 2]\"] argv=[\"/bin/sh\",\"-c\",\"[1, 2]\"]\n"
                "  L5 CMD args=[\"[\\\"unterminated\\\"\"] argv=[\"/bin/sh\",\"-c\",\"[\\\"unterminated\\\"\"]\n"
                "  L6 ENTRYPOINT exec args=[] argv=[]\n",
        },
        {
                "substitution forms, quotes and escapes",
                "FROM a\n"
                "ENV X=1 E=\n"
                "ENV A=$X B=${X} C=${Y:-def} D=${X:-def} F=${X:+alt} G=${Y:+alt} H=${E:-empty} I=${E-set}\n"
                "ENV J='$X' K=\"$X\" L=\\$X M=\"\\$X\" N=${Y:-${X}0} O=$ P=a$\n"
                "ENV X=2 Y=$X\n"
                "WORKDIR ${Y}/\"with space\"\n"
                "RUN echo $X\n",
                { NULL },
                "L1 FROM a\n"
                "  L2 ENV args=[\"X=1\",\"E=\"]\n"
                "  L3 ENV args=[\"A=1\",\"B=1\",\"C=def\",\"D=1\",\"F=alt\",\"G=\",\"H=empty\",\"I=\"]\n"
                "  L4 ENV args=[\"J=$X\",\"K=1\",\"L=$X\",\"M=$X\",\"N=10\",\"O=$\",\"P=a$\"]\n"
                "  L5 ENV args=[\"X=2\",\"Y=1\"]\n"
                "  L6 WORKDIR args=[\"1/with space\"]\n"
                "  L7 RUN args=[\"echo $X\"] argv=[\"/bin/sh\",\"-c\",\"echo $X\"]\n",
        },
        {
                "ARG before FROM, defaults, ENV hiding ARG",
                "ARG TAG=12\n"
                "ARG REG\n"
                "FROM ${REG:-docker.io}/debian:$TAG\n"
                "ARG TAG\n"
                "ARG MODE=debug\n"
                "RUN echo $TAG $MODE\n"
                "ENV MODE=release\n"
                "RUN echo $MODE\n"
                "LABEL tag=$TAG mode=$MODE\n",
                { NULL },
                "GLOBAL TAG=12\n"
                "GLOBAL REG\n"
                "L3 FROM docker.io/debian:12\n"
                "  L4 ARG args=[\"TAG=12\"]\n"
                "  L5 ARG args=[\"MODE=debug\"]\n"
                "  L6 RUN args=[\"echo $TAG $MODE\"] argv=[\"/bin/sh\",\"-c\",\"echo $TAG $MODE\"] env=[\"TAG=12\",\"MODE=debug\"]\n"
                "  L7 ENV args=[\"MODE=release\"]\n"
                "  L8 RUN args=[\"echo $MODE\"] argv=[\"/bin/sh\",\"-c\",\"echo $MODE\"] env=[\"TAG=12\"]\n"
                "  L9 LABEL args=[\"tag=12\",\"mode=release\"]\n",
        },
        {
                "build args override defaults, before and after FROM",
                "ARG TAG=12\n"
                "ARG REG\n"
                "FROM ${REG:-docker.io}/debian:$TAG\n"
                "ARG TAG\n"
                "ARG MODE=debug\n"
                "RUN echo $TAG $MODE\n",
                { "TAG=13", "REG=127.0.0.1:5000", "MODE=fast", NULL },
                "GLOBAL TAG=13\n"
                "GLOBAL REG=127.0.0.1:5000\n"
                "L3 FROM 127.0.0.1:5000/debian:13\n"
                "  L4 ARG args=[\"TAG=13\"]\n"
                "  L5 ARG args=[\"MODE=fast\"]\n"
                "  L6 RUN args=[\"echo $TAG $MODE\"] argv=[\"/bin/sh\",\"-c\",\"echo $TAG $MODE\"] env=[\"TAG=13\",\"MODE=fast\"]\n",
        },
        {
                "a global ARG is not seen in a stage unless declared there",
                "ARG V=1\n"
                "FROM a\n"
                "ENV X=$V\n",
                { NULL },
                "GLOBAL V=1\n"
                "L2 FROM a\n"
                "  L3 ENV args=[\"X=\"]\n",
        },
        {
                "multi-stage: names, FROM a stage, COPY --from by name, index and image",
                "FROM --platform=linux/amd64 golang:1.22 AS build\n"
                "ENV GOFLAGS=-mod=vendor\n"
                "RUN go build -o /out/app\n"
                "FROM build AS test\n"
                "ENV X=$GOFLAGS\n"
                "FROM scratch\n"
                "COPY --from=build /out/app /app\n"
                "COPY --from=1 /etc/x /x\n"
                "COPY --from=busybox:1.36 /bin/busybox /bin/\n"
                "COPY --from=BUILD /../weird /w\n",
                { NULL },
                "L1 FROM golang:1.22 AS build platform=linux/amd64\n"
                "  L2 ENV args=[\"GOFLAGS=-mod=vendor\"]\n"
                "  L3 RUN args=[\"go build -o /out/app\"] argv=[\"/bin/sh\",\"-c\",\"go build -o /out/app\"]\n"
                "L4 FROM build AS test base_stage=0\n"
                "  L5 ENV args=[\"X=-mod=vendor\"]\n"
                "L6 FROM scratch\n"
                "  L7 COPY args=[\"/out/app\"] dest=\"/app\" from=\"build\" from_stage=0\n"
                "  L8 COPY args=[\"/etc/x\"] dest=\"/x\" from=\"1\" from_stage=1\n"
                "  L9 COPY args=[\"/bin/busybox\"] dest=\"/bin/\" from=\"busybox:1.36\"\n"
                "  L10 COPY args=[\"/../weird\"] dest=\"/w\" from=\"BUILD\" from_stage=0\n",
        },
        {
                "COPY in exec form with substitution; variables in --chown; a leading / in sources",
                "FROM a\n"
                "ARG U=1000\n"
                "ENV D=/dst\n"
                "COPY --chown=$U:$U [\"/file one\", \"${D}/\"]\n"
                "ADD /x/./y/../z $D\n",
                { NULL },
                "L1 FROM a\n"
                "  L2 ARG args=[\"U=1000\"]\n"
                "  L3 ENV args=[\"D=/dst\"]\n"
                "  L4 COPY args=[\"/file one\"] dest=\"/dst/\" chown=\"1000:1000\"\n"
                "  L5 ADD args=[\"/x/./y/../z\"] dest=\"/dst\"\n",
        },
        {
                "a UTF-8 BOM, a continuation at the very end, non-ASCII bytes quoted",
                "\xef\xbb\xbf" "FROM a\n"
                "LABEL k=\"caf\xc3\xa9\"\n"
                "RUN end \\",
                { NULL },
                "L1 FROM a\n"
                "  L2 LABEL args=[\"k=caf\\u00c3\\u00a9\"]\n"
                "  L3 RUN args=[\"end\"] argv=[\"/bin/sh\",\"-c\",\"end\"]\n",
        },
};

static void test_parse_table(void **state)
{
        for (size_t i = 0; i < ARRAY_SIZE(parse_cases); i++) {
                const ParseCase *c = &parse_cases[i];
                _cleanup_(img_containerfile_freep) ImgContainerfile *cf = NULL;
                _cleanup_error_ Error *e = NULL;
                _cleanup_free_ char *got = NULL;
                int r;

                r = img_containerfile_parse(c->text, strlen(c->text), (char *const *)c->build_args, &cf, &e);
                if (r < 0)
                        fail_msg("case '%s': %s", c->name, e ? e->msg : "no message");
                got = dump(cf);
                if (strcmp(got, c->expect) != 0)
                        fail_msg("case '%s':\n--- got\n%s--- expected\n%s", c->name, got, c->expect);
        }
}

typedef struct ErrorCase {
        const char *text;
        const char *message; /* the whole message */
} ErrorCase;

static const ErrorCase error_cases[] = {
        { "FROM a\n\n# c\nCOPY onlyone\n", "Containerfile line 4: COPY needs a source and a destination" },
        { "FROM a\nCOPY \\\n  onlyone\n", "Containerfile line 2: COPY needs a source and a destination" },
        { "RUN make\nFROM a\n", "Containerfile line 1: RUN before the first FROM" },
        { "FROM a\nFETCH x\n", "Containerfile line 2: unknown instruction 'FETCH'" },
        { "FROM a\nADD https://example.org/x.tgz /x\n",
          "Containerfile line 2: ADD from a URL ('https://example.org/x.tgz') is not supported: nothing is fetched from the network" },
        { "FROM a\nADD git@github.com:x/y.git /y\n",
          "Containerfile line 2: ADD from a URL ('git@github.com:x/y.git') is not supported: nothing is fetched from the network" },
        { "FROM a\nCOPY http://x/y /y\n", "Containerfile line 2: COPY source 'http://x/y' is a URL: COPY takes files of the build context" },
        { "FROM a\nCOPY ../secret /x\n", "Containerfile line 2: COPY source '../secret': outside the build context" },
        { "FROM a\nCOPY a/../../b /x\n", "Containerfile line 2: COPY source 'a/../../b': outside the build context" },
        { "FROM a\nCOPY a b /dir\n", "Containerfile line 2: COPY with more than one source needs a destination ending in '/'" },
        { "FROM a\nSHELL /bin/bash -c\n", "Containerfile line 2: SHELL needs a JSON array, e.g. [\"/bin/sh\", \"-c\"]" },
        { "FROM a\nSHELL []\n", "Containerfile line 2: SHELL needs at least one element" },
        { "FROM a\nEXPOSE http\n", "Containerfile line 2: EXPOSE 'http': expected PORT[/tcp|udp|sctp]" },
        { "FROM a\nEXPOSE 70000\n", "Containerfile line 2: EXPOSE '70000': expected PORT[/tcp|udp|sctp]" },
        { "FROM a\nENV P=\"80 x\"\nEXPOSE $P\n", "Containerfile line 3: EXPOSE 'x': expected PORT[/tcp|udp|sctp]" },
        { "FROM a\nEXPOSE $NONE\n", "Containerfile line 2: EXPOSE needs a port" },
        { "FROM a\nEXPOSE 80/icmp\n", "Containerfile line 2: EXPOSE '80/icmp': expected PORT[/tcp|udp|sctp]" },
        { "FROM a\nENV X=${Y\n", "Containerfile line 2: missing '}' in '${Y'" },
        { "FROM a\nENV X=${Y%%.c}\n", "Containerfile line 2: unsupported modifier '%' in '${Y'" },
        { "FROM a\nENV X=${}\n", "Containerfile line 2: bad substitution '${'" },
        { "FROM a\nENV X=\"abc\n", "Containerfile line 2: unterminated double quote" },
        { "FROM a\nLABEL x='abc\n", "Containerfile line 2: unterminated single quote" },
        { "FROM a\nENV X=${NEED:?set NEED}\n", "Containerfile line 2: variable 'NEED' is required: set NEED" },
        { "FROM a\nENV LONELY\n", "Containerfile line 2: ENV needs a value for 'LONELY'" },
        { "FROM a\nENV\n", "Containerfile line 2: ENV needs KEY=VALUE" },
        { "FROM a\nENV A=1 oops\n", "Containerfile line 2: ENV 'oops': expected KEY=VALUE" },
        { "FROM a\nENV =x\n", "Containerfile line 2: ENV needs a non-empty name" },
        { "FROM\n", "Containerfile line 1: FROM needs an image" },
        { "ARG B\nFROM $B\n", "Containerfile line 2: FROM needs an image" },
        { "FROM a AS\n", "Containerfile line 1: FROM takes IMAGE [AS NAME]" },
        { "FROM a AS 1x\n", "Containerfile line 1: stage name '1x': expected a letter then letters, digits, '.', '_', '-'" },
        { "FROM a AS x\nFROM b AS X\n", "Containerfile line 2: stage name 'x' is used twice" },
        { "FROM --squash a\n", "Containerfile line 1: FROM --squash is not supported" },
        { "# only a comment\nARG X=1\n", "Containerfile: no FROM instruction" },
        { "", "Containerfile: no FROM instruction" },
        { "# escape=x\nFROM a\n", "Containerfile line 1: escape directive 'x': expected '\\' or '`'" },
        { "# escape=`\n# escape=\\\nFROM a\n", "Containerfile line 2: only one escape directive is allowed" },
        { "FROM a\nRUN --mount=type=cache,target=/x make\n", "Containerfile line 2: RUN --mount is not supported" },
        { "FROM a\nRUN\n", "Containerfile line 2: RUN needs a command" },
        { "FROM a\nRUN []\n", "Containerfile line 2: RUN needs a command" },
        { "FROM a\nRUN <<EOF\necho\nEOF\n", "Containerfile line 2: RUN: heredocs are not supported" },
        { "FROM a AS one\nCOPY --from=two /x /x\nFROM b AS two\n",
          "Containerfile line 2: COPY --from=two: the stage is not an earlier one" },
        { "FROM a\nCOPY --from=0 /x /x\n", "Containerfile line 2: COPY --from=0: no such earlier stage" },
        { "FROM a\nADD --from=x a b\n", "Containerfile line 2: ADD --from is not supported" },
        { "FROM a\nCOPY --link a b\n", "Containerfile line 2: COPY --link is not supported" },
        { "FROM a\nCOPY --chmod=u+x a b\n", "Containerfile line 2: COPY --chmod='u+x': expected an octal mode" },
        { "FROM a\nCOPY --chmod=17777 a b\n", "Containerfile line 2: COPY --chmod='17777': expected an octal mode" },
        { "FROM a\nCOPY --chown a b\n", "Containerfile line 2: COPY --chown needs a value" },
        { "FROM a\nHEALTHCHECK --every=5s CMD x\n", "Containerfile line 2: HEALTHCHECK --every is not an option" },
        { "FROM a\nHEALTHCHECK curl x\n", "Containerfile line 2: HEALTHCHECK needs NONE or CMD followed by a command" },
        { "FROM a\nHEALTHCHECK --retries=1 NONE\n", "Containerfile line 2: HEALTHCHECK NONE takes no options" },
        { "FROM a\nONBUILD FROM b\n", "Containerfile line 2: ONBUILD FROM is not allowed" },
        { "FROM a\nONBUILD ONBUILD RUN x\n", "Containerfile line 2: ONBUILD ONBUILD is not allowed" },
        { "FROM a\nONBUILD BOGUS x\n", "Containerfile line 2: ONBUILD: unknown instruction 'BOGUS'" },
        { "FROM a\nMAINTAINER\n", "Containerfile line 2: MAINTAINER needs a name" },
        { "FROM a\nWORKDIR\n", "Containerfile line 2: WORKDIR needs a value" },
        { "FROM a\nUSER \\\n\n", "Containerfile line 2: USER needs a value" },
        { "FROM a\nSTOPSIGNAL SIG TERM\n", "Containerfile line 2: STOPSIGNAL 'SIG TERM': expected a signal name or number" },
        { "FROM a\nVOLUME [\"\"]\n", "Containerfile line 2: VOLUME: empty path" },
        { "FROM a\nARG\n", "Containerfile line 2: ARG needs a name" },
        { "FROM a\nRUN x\nRUN y\x00z\n", "Containerfile line 3: NUL byte in the text" },
        { "FROM a\nENV X=${A:-${B:-${C:-${D:-${E:-${F:-${G:-${H:-${I:-${J:-${K:-${L:-${M:-${N:-${O:-${P:-${Q:-x}}}}}}}}}}}}}}}}}\n",
          "Containerfile line 2: substitutions nested too deeply" },
};

static void test_parse_errors(void **state)
{
        for (size_t i = 0; i < ARRAY_SIZE(error_cases); i++) {
                const ErrorCase *c = &error_cases[i];
                _cleanup_(img_containerfile_freep) ImgContainerfile *cf = NULL;
                _cleanup_error_ Error *e = NULL;
                /* Case texts with a NUL byte run to the "\n" that ends their literal. */
                size_t len = strlen(c->text);
                int r;

                if (strstr(c->message, "NUL"))
                        len = strlen(c->text) + 1 + strlen(c->text + strlen(c->text) + 1);
                r = img_containerfile_parse(c->text, len, NULL, &cf, &e);
                if (r != -EINVAL || !e)
                        fail_msg("case '%s': expected EINVAL, got %d", c->text, r);
                if (strcmp(e->msg, c->message) != 0)
                        fail_msg("case '%s':\n got      '%s'\n expected '%s'", c->text, e->msg, c->message);
                assert_null(cf);
        }
}

/* A stage FROM an image is substituted again once the image's Env is known. */
static void test_expand_with_base_env(void **state)
{
        static const char text[] = "FROM debian\n"
                                   "ENV PATH=/opt/bin:$PATH\n"
                                   "RUN echo\n"
                                   "FROM 0\n"
                                   "FROM debian AS two\n"
                                   "WORKDIR $HOME\n";
        char *base_env[] = { "PATH=/usr/bin:/bin", "HOME=/root", NULL };
        _cleanup_(img_containerfile_freep) ImgContainerfile *cf = NULL;
        _cleanup_error_ Error *e = NULL;

        assert_int_equal(img_containerfile_parse(text, strlen(text), NULL, &cf, &e), 0);
        assert_int_equal(cf->n_stages, 3);
        assert_string_equal(cf->stages[0].instrs[0].args[0], "PATH=/opt/bin:");
        assert_int_equal(img_containerfile_expand_stage(cf, 0, base_env, &e), 0);
        assert_string_equal(cf->stages[0].instrs[0].args[0], "PATH=/opt/bin:/usr/bin:/bin");
        assert_string_equal(cf->stages[0].instrs[0].canonical, "ENV args=[\"PATH=/opt/bin:/usr/bin:/bin\"]");
        assert_string_equal(strv_env_get(cf->stages[0].env, "PATH"), "/opt/bin:/usr/bin:/bin");
        assert_string_equal(strv_env_get(cf->stages[0].env, "HOME"), "/root");
        /* "FROM 0" is an image named 0, not stage 0. */
        assert_int_equal(cf->stages[1].base_stage, -1);
        assert_string_equal(cf->stages[2].instrs[0].args[0], "");
        assert_int_equal(img_containerfile_expand_stage(cf, 2, base_env, &e), 0);
        assert_string_equal(cf->stages[2].instrs[0].args[0], "/root");
        assert_int_equal(img_containerfile_expand_stage(cf, 3, base_env, &e), -EINVAL);
        e = error_free(e);
        /* A required variable that nothing sets fails, naming it. */
        {
                static const char text2[] = "FROM a\nWORKDIR ${HOME:?}\n";
                _cleanup_(img_containerfile_freep) ImgContainerfile *cf2 = NULL;
                assert_int_equal(img_containerfile_parse(text2, strlen(text2), NULL, &cf2, &e), -EINVAL);
                assert_string_equal(e->msg, "Containerfile line 2: variable 'HOME' is required");
                assert_null(cf2);
        }
}

/* The canonical text changes with everything that changes what an instruction does. */
static void test_canonical_distinguishes(void **state)
{
        static const char *const texts[] = {
                "FROM a\nRUN echo a b\n",        "FROM a\nRUN [\"echo a b\"]\n",
                "FROM a\nRUN [\"echo\", \"a b\"]\n", "FROM a\nRUN [\"echo\", \"a\", \"b\"]\n",
                "FROM a\nARG X=1\nRUN echo a b\n", "FROM a\nSHELL [\"/bin/bash\", \"-c\"]\nRUN echo a b\n",
                "FROM a\nCOPY a b\n",            "FROM a\nCOPY --chown=1 a b\n",
                "FROM a\nCOPY --chmod=600 a b\n",  "FROM a\nCOPY a\\\" b\n",
                "FROM a\nADD a b\n",             "FROM a\nENV a=b\n",
                "FROM a\nLABEL a=b\n",
        };
        _cleanup_strv_ char **seen = NULL;

        for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
                _cleanup_(img_containerfile_freep) ImgContainerfile *cf = NULL;
                _cleanup_error_ Error *e = NULL;
                const ImgStage *s;

                assert_int_equal(img_containerfile_parse(texts[i], strlen(texts[i]), NULL, &cf, &e), 0);
                s = &cf->stages[0];
                if (strv_contains(seen, s->instrs[s->n_instrs - 1].canonical))
                        fail_msg("'%s' has the canonical text of an earlier case", texts[i]);
                strv_push(&seen, s->instrs[s->n_instrs - 1].canonical);
        }
}

/* ---- ignore files ---- */

typedef struct IgnoreCase {
        const char *patterns;
        const char *path;
        bool is_excluded;
} IgnoreCase;

static const IgnoreCase ignore_cases[] = {
        { "node_modules", "node_modules", true },
        { "node_modules", "node_modules/x/y.js", true },
        { "node_modules", "src/node_modules", false },
        { "*.log", "a.log", true },
        { "*.log", "dir/a.log", false },
        { "*.log", ".log", true },
        { "**/*.log", "dir/sub/a.log", true },
        { "**/*.log", "a.log", true },
        { "**/*.log", "a.txt", false },
        { "dir/**/x", "dir/x", true },
        { "dir/**/x", "dir/a/b/x", true },
        { "dir/**/x", "other/a/x", false },
        { "a/?.txt", "a/b.txt", true },
        { "a/?.txt", "a/bc.txt", false },
        { "a/?.txt", "a//b.txt", true },
        { "[a-c].txt", "b.txt", true },
        { "[a-c].txt", "d.txt", false },
        { "[^a].txt", "a.txt", false },
        { "[^a].txt", "b.txt", true },
        { "\\*.txt", "*.txt", true },
        { "\\*.txt", "a.txt", false },
        { "*.md\n!README.md", "README.md", false },
        { "*.md\n!README.md", "CHANGES.md", true },
        { "!README.md\n*.md", "README.md", true },
        { "docs\n!docs/keep", "docs/x", true },
        { "docs\n!docs/keep", "docs/keep", false },
        { "docs\n!docs/keep", "docs/keep/y", false },
        { "/abs/x", "abs/x", true },
        { "./x/../y", "y", true },
        { "../z", "z", false },
        { "# comment\n  spaced  \n\n", "spaced", true },
        { "# comment", "# comment", false },
        { "*", "anything/at/all", true },
        { "**", "x", true },
        { "a", "./a", true },
        { "a\r\n", "a", true },
        { "", "a", false },
};

static void test_ignore_table(void **state)
{
        for (size_t i = 0; i < ARRAY_SIZE(ignore_cases); i++) {
                const IgnoreCase *c = &ignore_cases[i];
                _cleanup_(img_ignore_freep) ImgIgnore *ig = img_ignore_parse(c->patterns, strlen(c->patterns));

                if (img_ignore_match(ig, c->path) != c->is_excluded)
                        fail_msg("patterns '%s', path '%s': expected %s", c->patterns, c->path,
                                 c->is_excluded ? "excluded" : "included");
        }
        assert_false(img_ignore_match(NULL, "x"));
        {
                _cleanup_(img_ignore_freep) ImgIgnore *ig = img_ignore_parse("*.o\n", 4);
                assert_true(img_ignore_is_skipped("a.o", ig));
                assert_false(img_ignore_is_skipped("a.c", ig));
        }
}

/* ---- a real build context ---- */

typedef struct Context {
        char path[64];
        int fd;
} Context;

static void make_file(int dirfd, const char *path, const char *content)
{
        int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
        close(fd);
}

static int context_setup(void **state)
{
        Context *c = xnew0(Context, 1);

        snprintf(c->path, sizeof(c->path), "/tmp/hull-ctx-test.XXXXXX");
        if (!mkdtemp(c->path))
                return -1;
        c->fd = open(c->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (c->fd < 0)
                return -1;
        /* context/ holds the build context; outside/ is next to it. */
        if (mkdirat(c->fd, "context", 0755) < 0 || mkdirat(c->fd, "outside", 0755) < 0)
                return -1;
        *state = c;
        return 0;
}

static int context_teardown(void **state)
{
        Context *c = *state;

        close(c->fd);
        rm_rf_at(AT_FDCWD, c->path, NULL);
        free(c);
        return 0;
}

typedef struct ResolveCase {
        const char *src;
        int r;
        const char *expect; /* paths joined by ' ', or the error message */
} ResolveCase;

static const ResolveCase resolve_cases[] = {
        { "a.txt", 0, "a.txt" },
        { "/a.txt", 0, "a.txt" },
        { "./dir//c.txt", 0, "dir/c.txt" },
        { "*.txt", 0, "a.txt b.txt" },
        { "dir/*/d.txt", 0, "dir/sub/d.txt" },
        { "dir", 0, "dir" },
        { ".", 0, "." },
        { "/", 0, "." },
        { "?ir/c.*", 0, "dir/c.txt" },
        { ".h*", 0, ".hidden" },
        { "link_in/c.txt", 0, "link_in/c.txt" },
        { "dir/../a.txt", 0, "a.txt" },
        { "../x", -EINVAL, "source '../x': outside the build context" },
        { "dir/../../outside/secret", -EINVAL, "source 'dir/../../outside/secret': outside the build context" },
        { "link_out", -EINVAL, "source 'link_out': 'link_out' leads outside the build context" },
        { "link_out/secret", -EINVAL, "source 'link_out/secret': 'link_out/secret' leads outside the build context" },
        { "link_out/*", -EINVAL, "source 'link_out/*': 'link_out' leads outside the build context" },
        { "abs_link/passwd", -EINVAL, "source 'abs_link/passwd': 'abs_link/passwd' leads outside the build context" },
        { "link_*", -EINVAL, "source 'link_*': 'link_out' leads outside the build context" },
        { "nope", -ENOENT, "source 'nope': no such file in the build context" },
        { "nope*", -ENOENT, "source 'nope*': no such file in the build context" },
        { "a.txt/x", -ENOENT, "source 'a.txt/x': no such file in the build context" },
        { "build.log", -ENOENT, "source 'build.log': excluded by the ignore file" },
        { "*.log", -ENOENT, "source '*.log': excluded by the ignore file" },
        { "dir/*", 0, "dir/c.txt dir/sub" },
};

static void test_context_resolve(void **state)
{
        Context *c = *state;
        _cleanup_(img_ignore_freep) ImgIgnore *ig = NULL;
        _cleanup_close_ int ctx = openat(c->fd, "context", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_error_ Error *e = NULL;

        assert_true(ctx >= 0);
        make_file(ctx, "a.txt", "a");
        make_file(ctx, "b.txt", "b");
        make_file(ctx, ".hidden", "h");
        make_file(ctx, "build.log", "l");
        assert_int_equal(mkdirat(ctx, "dir", 0755), 0);
        assert_int_equal(mkdirat(ctx, "dir/sub", 0755), 0);
        make_file(ctx, "dir/c.txt", "c");
        make_file(ctx, "dir/sub/d.txt", "d");
        make_file(ctx, "dir/skip.tmp", "s");
        make_file(c->fd, "outside/secret", "s");
        assert_int_equal(symlinkat("../outside", ctx, "link_out"), 0);
        assert_int_equal(symlinkat("/etc", ctx, "abs_link"), 0);
        assert_int_equal(symlinkat("dir", ctx, "link_in"), 0);
        make_file(ctx, ".containerignore", "*.log\ndir/*.tmp\n");
        assert_int_equal(img_ignore_load(ctx, &ig, &e), 0);

        for (size_t i = 0; i < ARRAY_SIZE(resolve_cases); i++) {
                const ResolveCase *rc = &resolve_cases[i];
                _cleanup_strv_ char **paths = NULL;
                _cleanup_free_ char *got = xstrdup("");
                int r = img_context_resolve(ctx, rc->src, ig, &paths, &e);

                if (r != rc->r)
                        fail_msg("source '%s': expected %d, got %d (%s)", rc->src, rc->r, r, e ? e->msg : "");
                if (r < 0) {
                        if (strcmp(e->msg, rc->expect) != 0)
                                fail_msg("source '%s':\n got      '%s'\n expected '%s'", rc->src, e->msg, rc->expect);
                        e = error_free(e);
                        continue;
                }
                for (size_t k = 0; paths[k]; k++) {
                        char *n = xasprintf("%s%s%s", got, k ? " " : "", paths[k]);
                        free(got);
                        got = n;
                }
                if (strcmp(got, rc->expect) != 0)
                        fail_msg("source '%s': got '%s', expected '%s'", rc->src, got, rc->expect);
        }

        /* .containerignore wins over .dockerignore; without either nothing is excluded. */
        make_file(ctx, ".dockerignore", "a.txt\n");
        ig = img_ignore_free(ig);
        assert_int_equal(img_ignore_load(ctx, &ig, &e), 0);
        assert_false(img_ignore_match(ig, "a.txt"));
        assert_int_equal(unlinkat(ctx, ".containerignore", 0), 0);
        ig = img_ignore_free(ig);
        assert_int_equal(img_ignore_load(ctx, &ig, &e), 0);
        assert_true(img_ignore_match(ig, "a.txt"));
        assert_int_equal(unlinkat(ctx, ".dockerignore", 0), 0);
        ig = img_ignore_free(ig);
        assert_int_equal(img_ignore_load(ctx, &ig, &e), 0);
        assert_false(img_ignore_match(ig, "build.log"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_table),
                cmocka_unit_test(test_parse_errors),
                cmocka_unit_test(test_expand_with_base_env),
                cmocka_unit_test(test_canonical_distinguishes),
                cmocka_unit_test(test_ignore_table),
                cmocka_unit_test_setup_teardown(test_context_resolve, context_setup, context_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
