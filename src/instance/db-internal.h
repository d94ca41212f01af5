/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* db-internal.h: what the files of the database layer share: the connection and the statement helpers */
#pragma once

#include <sqlite3.h>
#include <stdbool.h>

#include "common/cleanup.h"
#include "db.h"

struct InstDb {
        sqlite3 *h;
        bool in_transaction;
        int checkpointed_changes; /* sqlite3_total_changes() when last made durable */
        char *wal_path;
};

void stmt_finalize(sqlite3_stmt **s);
#define _cleanup_stmt_ _cleanup_(stmt_finalize)

/*
 * Prepares sql and binds its parameters from a format: 't' text (const char *, NULL binds NULL),
 * 'i' int64_t, 'd' int. One routine so no call site binds by hand.
 */
int db_prepare(InstDb *db, sqlite3_stmt **ret, Error **err, const char *sql, const char *fmt, ...);
/* Steps a statement that returns no rows; returns the number of rows changed. */
int db_run(InstDb *db, sqlite3_stmt *s, Error **err);
/* Steps a query: 1 for a row, 0 at the end. */
int db_row(InstDb *db, sqlite3_stmt *s, Error **err);
/* Runs a write statement with text parameters (at most four); returns rows changed. */
int db_write(InstDb *db, Error **err, const char *sql, const char *fmt, ...);
/* Column i as a malloc'd string, or NULL. */
char *col_text(sqlite3_stmt *s, int i);
