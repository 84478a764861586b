/*
 * report_text.h - `report` and `status` as text: a table for people, CSV and
 * JSON for scripts (report_text.c), from a loaded struct tp_report.
 */
#ifndef TP_REPORT_TEXT_H
#define TP_REPORT_TEXT_H

#include <stdio.h>

#include "report.h"

/* CSV tables of `report --format csv` (REP_CSV_ALL: each, a blank line apart). */
enum rep_csv_table { REP_CSV_ALL, REP_CSV_STAGES, REP_CSV_RUNS, REP_CSV_RUN_STAGES, REP_CSV_JOBS };

/* Print the report; errors are the stores' (reading a job's stages). */
TP_MUST_USE tp_status rep_print_json(FILE *f, const struct tp_report *rep);
TP_MUST_USE tp_status rep_print_csv(FILE *f, const struct tp_report *rep, enum rep_csv_table t);
TP_MUST_USE tp_status rep_print_table(FILE *f, const struct tp_report *rep);

/* A string as a JSON string literal, or a CSV field (quoted). */
void rep_json_str(FILE *f, const char *s);
void rep_csv_str(FILE *f, const char *s);
/* Wall seconds as local "YYYY-MM-DD HH:MM:SS"; "-" for 0. */
void rep_time_str(char *buf, size_t n, double wall_s);

#endif
