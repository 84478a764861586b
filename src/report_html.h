/*
 * report_html.h - `report --format html`: one self-contained page (inline
 * CSS and SVG, thumbnails as PNG data URIs; nothing fetched, no script).
 */
#ifndef TP_REPORT_HTML_H
#define TP_REPORT_HTML_H

#include <stdio.h>

#include "report.h"

TP_MUST_USE tp_status rep_print_html(FILE *f, const struct tp_report *rep);

#endif
