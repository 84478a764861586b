/*
 * weights.c - opening a model file, and the safetensors reader: an 8-byte
 * little-endian header length, a JSON header {name: {dtype, shape,
 * data_offsets: [begin, end]}, ..., "__metadata__": {...}}, then the raw
 * tensor bytes (offsets relative to the end of the header). The whole file is
 * mmap'ed read-only; nothing is copied. Every inconsistency is rejected
 * before any tensor is used. A zip file goes to the .ckpt reader (ckpt.c);
 * both readers end with the table checks of weights_common.c, so the arrows
 * point one way: weights.c -> ckpt.c -> weights_common.c (and weights.c ->
 * weights_common.c); neither of those calls back into weights.c.
 */
#include "weights.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Largest JSON header accepted; big-lama's is about 100 kB. */
#define MAX_HEADER ((uint64_t)64 << 20)

/* ---- a minimal JSON cursor over the header (not NUL-terminated) ---- */

struct js {
	const char *p, *end;
	const char *path;   /* for messages */
};

TP_MUST_USE static tp_status js_fail(struct js *j, const char *what)
{
	return tp_err(TP_EMODEL, "%s: malformed safetensors header: %s", j->path, what);
}

static void js_ws(struct js *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int js_peek(struct js *j, char c)
{
	js_ws(j);
	return j->p < j->end && *j->p == c;
}

TP_MUST_USE static tp_status js_expect(struct js *j, char c)
{
	if (!js_peek(j, c)) {
		char msg[32];
		snprintf(msg, sizeof msg, "expected '%c'", c);
		return js_fail(j, msg);
	}
	j->p++;
	return TP_OK;
}

/* Parse a string into buf (cap bytes incl. NUL); longer strings fail. */
TP_MUST_USE static tp_status js_string(struct js *j, char *buf, size_t cap)
{
	size_t n = 0;
	if (js_expect(j, '"'))
		return TP_EMODEL;
	while (j->p < j->end && *j->p != '"') {
		char c = *j->p++;
		if ((unsigned char)c < 0x20)
			return js_fail(j, "control character in a string");
		if (c == '\\') {
			if (j->p >= j->end)
				break;
			c = *j->p++;
			switch (c) {
			case '"': case '\\': case '/': break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u': {
				/* Keep \uXXXX for ASCII only; names of real models are ASCII. */
				unsigned v = 0;
				for (int i = 0; i < 4; i++) {
					char h = j->p < j->end ? *j->p++ : 0;
					v <<= 4;
					if (h >= '0' && h <= '9') v |= (unsigned)(h - '0');
					else if (h >= 'a' && h <= 'f') v |= (unsigned)(h - 'a' + 10);
					else if (h >= 'A' && h <= 'F') v |= (unsigned)(h - 'A' + 10);
					else return js_fail(j, "bad \\u escape");
				}
				if (v == 0 || v > 0x7f)
					return js_fail(j, "non-ASCII \\u escape in a name");
				c = (char)v;
				break;
			}
			default:
				return js_fail(j, "bad escape");
			}
		}
		if (n + 1 >= cap)
			return js_fail(j, "string too long");
		buf[n++] = c;
	}
	if (j->p >= j->end)
		return js_fail(j, "unterminated string");
	j->p++;
	buf[n] = '\0';
	return TP_OK;
}

TP_MUST_USE static tp_status js_uint(struct js *j, uint64_t *v)
{
	uint64_t x = 0;
	int digits = 0;
	js_ws(j);
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
		unsigned d = (unsigned)(*j->p++ - '0');
		if (x > (UINT64_MAX - d) / 10)
			return js_fail(j, "integer out of range");
		x = x * 10 + d;
		digits++;
	}
	if (!digits)
		return js_fail(j, "expected a non-negative integer");
	*v = x;
	return TP_OK;
}

/* Skip any JSON value (for __metadata__ and unknown fields). */
TP_MUST_USE static tp_status js_skip(struct js *j, int depth)
{
	char tmp[4096];
	if (depth > 16)
		return js_fail(j, "nesting too deep");
	js_ws(j);
	if (j->p >= j->end)
		return js_fail(j, "unexpected end");
	if (*j->p == '"')
		return js_string(j, tmp, sizeof tmp);
	if (*j->p == '{' || *j->p == '[') {
		char close = *j->p == '{' ? '}' : ']';
		int obj = *j->p == '{';
		j->p++;
		if (js_peek(j, close)) {
			j->p++;
			return TP_OK;
		}
		for (;;) {
			if (obj && (js_string(j, tmp, sizeof tmp) || js_expect(j, ':')))
				return TP_EMODEL;
			if (js_skip(j, depth + 1))
				return TP_EMODEL;
			if (js_peek(j, ',')) {
				j->p++;
				continue;
			}
			return js_expect(j, close);
		}
	}
	/* number, true, false, null */
	while (j->p < j->end && (strchr("+-.eE0123456789", *j->p) || (*j->p >= 'a' && *j->p <= 'z')))
		j->p++;
	return TP_OK;
}

/* ---- the file ---- */

static void parse_dtype(struct nn_wtensor *t, const char *s, uint64_t *esize)
{
	snprintf(t->dtype_name, sizeof t->dtype_name, "%s", s);
	if (strcmp(s, "F32") == 0) {
		t->dtype = NN_DTYPE_F32;
		*esize = 4;
	} else if (strcmp(s, "I64") == 0) {
		t->dtype = NN_DTYPE_I64;
		*esize = 8;
	} else {
		t->dtype = NN_DTYPE_OTHER;
		*esize = 0;
	}
}

/* One tensor entry: {"dtype": "...", "shape": [...], "data_offsets": [b, e]}. */
TP_MUST_USE static tp_status parse_entry(struct js *j, struct nn_wtensor *t, const uint8_t *data,
			     uint64_t data_len)
{
	char key[64], dt[32] = "";
	uint64_t begin = 0, end = 0, esize = 0, count = 1;
	int have_shape = 0, have_off = 0;
	if (js_expect(j, '{'))
		return TP_EMODEL;
	for (;;) {
		if (js_string(j, key, sizeof key) || js_expect(j, ':'))
			return TP_EMODEL;
		if (strcmp(key, "dtype") == 0) {
			if (js_string(j, dt, sizeof dt))
				return TP_EMODEL;
		} else if (strcmp(key, "shape") == 0) {
			if (js_expect(j, '['))
				return TP_EMODEL;
			t->ndim = 0;
			if (js_peek(j, ']'))
				j->p++;
			else
				for (;;) {
					uint64_t d;
					if (t->ndim == NN_MAX_DIMS)
						return tp_err(TP_EMODEL, "%s: tensor '%s' has more than %d dimensions",
							      j->path, t->name, NN_MAX_DIMS);
					if (js_uint(j, &d))
						return TP_EMODEL;
					t->shape[t->ndim++] = d;
					if (js_peek(j, ',')) {
						j->p++;
						continue;
					}
					if (js_expect(j, ']'))
						return TP_EMODEL;
					break;
				}
			have_shape = 1;
		} else if (strcmp(key, "data_offsets") == 0) {
			if (js_expect(j, '[') || js_uint(j, &begin) || js_expect(j, ',') ||
			    js_uint(j, &end) || js_expect(j, ']'))
				return TP_EMODEL;
			have_off = 1;
		} else if (js_skip(j, 1)) {
			return TP_EMODEL;
		}
		if (js_peek(j, ',')) {
			j->p++;
			continue;
		}
		if (js_expect(j, '}'))
			return TP_EMODEL;
		break;
	}
	if (!dt[0] || !have_shape || !have_off)
		return tp_err(TP_EMODEL, "%s: tensor '%s' lacks dtype, shape or data_offsets",
			      j->path, t->name);
	parse_dtype(t, dt, &esize);
	if (t->dtype == NN_DTYPE_OTHER)
		return tp_err(TP_EMODEL, "%s: tensor '%s' has dtype %s; only F32 (and I64 for "
			      "counters) is supported", j->path, t->name, dt);
	for (uint32_t i = 0; i < t->ndim; i++)
		if (t->shape[i] && count > UINT64_MAX / t->shape[i])
			return tp_err(TP_EMODEL, "%s: tensor '%s' shape overflows", j->path, t->name);
		else
			count *= t->shape[i];
	if (end < begin || end > data_len)
		return tp_err(TP_EMODEL, "%s: tensor '%s' byte range [%llu, %llu) lies outside the "
			      "%llu data bytes (truncated file?)", j->path, t->name,
			      (unsigned long long)begin, (unsigned long long)end,
			      (unsigned long long)data_len);
	if (count > UINT64_MAX / esize || count * esize != end - begin)
		return tp_err(TP_EMODEL, "%s: tensor '%s' has %llu bytes but its shape and dtype "
			      "need %llu", j->path, t->name, (unsigned long long)(end - begin),
			      (unsigned long long)(count * esize));
	t->data = data + begin;
	t->nbytes = end - begin;
	return TP_OK;
}

TP_MUST_USE static tp_status parse_safetensors(struct nn_weights *w)
{
	const uint8_t *m = w->map;
	uint64_t hlen = 0;
	size_t cap = 0;
	struct js j;
	char name[1024];
	if (w->map_len < 8)
		return tp_err(TP_EMODEL, "%s: file is too short (%zu bytes) to be a safetensors model",
			      w->path, w->map_len);
	for (int i = 7; i >= 0; i--)
		hlen = hlen << 8 | m[i];
	if (hlen > MAX_HEADER)
		return tp_err(TP_EMODEL, "%s: absurd safetensors header length %llu (limit %llu): not "
			      "a safetensors file?", w->path, (unsigned long long)hlen,
			      (unsigned long long)MAX_HEADER);
	if (hlen < 2 || hlen > w->map_len - 8)
		return tp_err(TP_EMODEL, "%s: safetensors header length %llu does not fit in the "
			      "%zu-byte file (truncated?)", w->path, (unsigned long long)hlen,
			      w->map_len);
	j.p = (const char *)m + 8;
	j.end = j.p + hlen;
	j.path = w->path;
	if (js_expect(&j, '{'))
		return TP_EMODEL;
	if (js_peek(&j, '}')) {
		j.p++;
		goto done;
	}
	for (;;) {
		if (js_string(&j, name, sizeof name) || js_expect(&j, ':'))
			return TP_EMODEL;
		if (strcmp(name, "__metadata__") == 0) {
			if (js_skip(&j, 1))
				return TP_EMODEL;
		} else {
			struct nn_wtensor *t;
			if (w->n == cap) {
				size_t nc = cap ? 2 * cap : 256;
				void *p = tp_realloc(w->t, nc * sizeof *w->t);
				if (!p)
					return tp_err(TP_ENOMEM, "%s: out of memory for the tensor table", w->path);
				w->t = p;
				cap = nc;
			}
			t = &w->t[w->n];
			memset(t, 0, sizeof *t);
			t->name = tp_strdup(name);
			if (!t->name)
				return tp_err(TP_ENOMEM, "%s: out of memory for the tensor table", w->path);
			w->n++;
			if (parse_entry(&j, t, m + 8 + hlen, w->map_len - 8 - hlen))
				return TP_EMODEL;
		}
		if (js_peek(&j, ',')) {
			j.p++;
			continue;
		}
		if (js_expect(&j, '}'))
			return TP_EMODEL;
		break;
	}
done:
	js_ws(&j);
	if (j.p != j.end)
		return js_fail(&j, "trailing bytes after the JSON object");
	return nn_weights_finish(w);
}

tp_status nn_weights_open(const char *path, struct nn_weights **out)
{
	return nn_weights_open_flags(path, 0, out);
}

tp_status nn_weights_open_flags(const char *path, unsigned flags, struct nn_weights **out)
{
	struct nn_weights *w = NULL;
	struct stat sb;
	tp_status st = TP_OK;
	int fd = -1;
	*out = NULL;
	w = tp_calloc(1, sizeof *w);
	if (!w || !(w->path = tp_strdup(path))) {
		st = tp_err(TP_ENOMEM, "%s: out of memory opening the model", path);
		goto out;
	}
	if (tp_open_regular(path, &fd, &sb) != TP_OK) {
		/* the reason, as a model problem (exit 78, not 65) */
		st = tp_err(TP_EMODEL, "cannot open model %s", tp_errmsg());
		goto out;
	}
	if (sb.st_size < 8) {
		st = tp_err(TP_EMODEL, "%s: file is too short (%lld bytes) to be a model", path,
			    (long long)sb.st_size);
		goto out;
	}
	w->map_len = (size_t)sb.st_size;
	w->map = mmap(NULL, w->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (w->map == MAP_FAILED) {
		w->map = NULL;
		st = tp_err(TP_EMODEL, "%s: cannot map model: %s", path, strerror(errno));
		goto out;
	}
	if (memcmp(w->map, "PK\003\004", 4) == 0)
		st = nn_ckpt_parse(w, flags);
	else if (((const uint8_t *)w->map)[0] == 0x80 && ((const uint8_t *)w->map)[1] <= 5)
		st = tp_err(TP_EMODEL, "%s: a bare pickle (the PyTorch < 1.6 checkpoint format) is not "
			    "supported: re-save it with a newer torch.save, or convert it to safetensors",
			    path);
	else
		st = parse_safetensors(w);
out:
	if (fd >= 0)
		close(fd);
	if (st) {
		nn_weights_close(w);
		w = NULL;
	}
	*out = w;
	return st;
}

const struct nn_wtensor *nn_weights_find(const struct nn_weights *w, const char *name)
{
	size_t lo = 0, hi = w->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(w->t[mid].name, name);
		if (c == 0)
			return &w->t[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void nn_weights_close(struct nn_weights *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n; i++)
		tp_free(w->t[i].name);
	tp_free(w->t);
	if (w->map)
		munmap(w->map, w->map_len);
	tp_free(w->path);
	tp_free(w);
}
