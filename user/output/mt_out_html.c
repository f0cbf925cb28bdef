// SPDX-License-Identifier: BSD-2-Clause
/*
 * The HTML report: one self-contained file a person opens in a browser.
 * It is the page of user/output/mt_html_page.html (its CSS and JavaScript,
 * written for memtrace, no library), turned into the string mt_html_page
 * at build time, with the JSON report in place of its data marker. The
 * page draws everything (summary, timeline, flame graph, tables) from that
 * JSON, so the HTML shows exactly what --json writes, extension sections
 * included, and `memtrace report A.json --html F` renders a saved report
 * the same way.
 *
 * Escaping: the JSON sits in <script type="application/json">, whose end
 * is the first "</script"; '<', '>' and '&' are written as \u003c, \u003e
 * and \u0026. They can only occur inside JSON strings, where the escape
 * means the same character, so JSON.parse gives the names back unchanged
 * and no name (operator<<, a template, "</script>") can end the element.
 * The page puts strings into the DOM with textContent only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/mt_log.h"
#include "output/mt_out.h"

#define DATA_MARKER "@MT_DATA@"

/* build/gen/mt_html_page.c, from user/output/mt_html_page.html */
extern const char mt_html_page[];

int mt_out_html_doc(const char *path, const char *json, size_t len)
{
	const char *mark = strstr(mt_html_page, DATA_MARKER);
	char *buf = NULL;
	size_t blen = 0, i;
	FILE *f;
	int err;

	if (!mark) {   /* the build's template lost its marker: a bug */
		mt_err("cannot write '%s': the HTML template has no data marker", path);
		return -EINVAL;
	}
	f = open_memstream(&buf, &blen);
	if (!f) {
		err = -errno;
		mt_err("cannot write '%s': %s", path, strerror(-err));
		return err;
	}
	fwrite(mt_html_page, 1, (size_t)(mark - mt_html_page), f);
	for (i = 0; i < len;) {   /* runs of plain bytes in one write */
		size_t run = 0;

		while (i + run < len && json[i + run] != '<' && json[i + run] != '>' &&
		       json[i + run] != '&')
			run++;
		fwrite(json + i, 1, run, f);
		i += run;
		if (i == len)
			break;
		fputs(json[i] == '<' ? "\\u003c" : json[i] == '>' ? "\\u003e" : "\\u0026", f);
		i++;
	}
	fputs(mark + strlen(DATA_MARKER), f);
	if (fclose(f)) {
		err = -errno;
		mt_err("cannot write '%s': %s", path, strerror(-err));
		free(buf);
		return err;
	}
	err = mt_out_write_file(path, buf, blen);
	free(buf);
	return err;
}

int mt_out_html(const char *path, const struct mt_report *r)
{
	struct mt_report all = *r;   /* the JSON writer reads it, never frees */
	char *json = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	all.opts.json_sites = 0;     /* the flame graph draws every site */
	f = open_memstream(&json, &len);
	if (!f) {
		err = -errno;
		mt_err("cannot write '%s': %s", path, strerror(-err));
		return err;
	}
	err = mt_report_json(f, &all);
	if (fclose(f) && !err)
		err = -errno;
	if (err) {
		mt_err("cannot write '%s': %s", path, strerror(-err));
		free(json);
		return err;
	}
	err = mt_out_html_doc(path, json, len);
	free(json);
	return err;
}
