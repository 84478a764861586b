/*
 * ckpt.c - PyTorch checkpoints (.ckpt/.pt, the zip format of torch >= 1.6)
 * read directly: a zip reader for stored (uncompressed) entries, and a
 * restricted pickle machine that only rebuilds tensors. It knows a small
 * allow-list of globals (collections.OrderedDict, torch._utils._rebuild_tensor_v2,
 * torch.*Storage) and rejects every other global by name; it never calls or
 * imports anything - REDUCE on an allowed global is interpreted here.
 * Tensors of the "generator." keys of the state dict (or of the top level
 * when there is no "state_dict") become the weight table; their bytes stay in
 * the read-only mmap of the file.
 */
#include "weights.h"

#include <string.h>

/* ---- zip ---------------------------------------------------------------- */

struct zent {
	const char *name;     /* not NUL-terminated */
	size_t name_len;
	const uint8_t *data;  /* stored bytes, inside the map */
	uint64_t size;
};

struct zip {
	struct zent *e;
	size_t n;
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

TP_MUST_USE static tp_status zip_open(const struct nn_weights *w, struct zip *z)
{
	const uint8_t *m = w->map;
	size_t len = w->map_len, eocd = 0, lo;
	uint64_t cd_off, cd_size, count, pos;
	int found = 0;
	if (len < 22)
		return tp_err(TP_EMODEL, "%s: truncated zip file", w->path);
	lo = len > 22 + 65535 ? len - 22 - 65535 : 0;
	for (size_t i = len - 22 + 1; i-- > lo;)
		if (rd32(m + i) == 0x06054b50) {
			eocd = i;
			found = 1;
			break;
		}
	if (!found)
		return tp_err(TP_EMODEL, "%s: no zip directory found (truncated checkpoint?)", w->path);
	count = rd16(m + eocd + 10);
	cd_size = rd32(m + eocd + 12);
	cd_off = rd32(m + eocd + 16);
	if ((count == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu) && eocd >= 20 &&
	    rd32(m + eocd - 20) == 0x07064b50) {
		uint64_t z64 = rd64(m + eocd - 20 + 8);
		if (len < 56 || z64 > len - 56 || rd32(m + z64) != 0x06064b50)
			return tp_err(TP_EMODEL, "%s: bad zip64 directory record", w->path);
		count = rd64(m + z64 + 32);
		cd_size = rd64(m + z64 + 40);
		cd_off = rd64(m + z64 + 48);
	}
	if (cd_off > len || cd_size > len - cd_off || count > cd_size / 46)
		return tp_err(TP_EMODEL, "%s: zip directory lies outside the file (truncated?)", w->path);
	z->e = tp_calloc(count ? count : 1, sizeof *z->e);
	if (!z->e)
		return tp_err(TP_ENOMEM, "%s: out of memory reading the zip directory", w->path);
	z->n = 0;
	pos = cd_off;
	for (uint64_t i = 0; i < count; i++) {
		const uint8_t *c = m + pos;
		uint64_t csize, usize, loff, end = cd_off + cd_size;
		uint16_t method, nlen, xlen, clen;
		if (pos + 46 > end || rd32(c) != 0x02014b50)
			return tp_err(TP_EMODEL, "%s: bad zip directory entry %llu", w->path,
				      (unsigned long long)i);
		method = rd16(c + 10);
		csize = rd32(c + 20);
		usize = rd32(c + 24);
		nlen = rd16(c + 28);
		xlen = rd16(c + 30);
		clen = rd16(c + 32);
		loff = rd32(c + 42);
		if (pos + 46 + nlen + xlen + clen > end)
			return tp_err(TP_EMODEL, "%s: bad zip directory entry %llu", w->path,
				      (unsigned long long)i);
		/* zip64 extended sizes/offset, in this order, only for fields set to all ones */
		for (const uint8_t *x = c + 46 + nlen; x + 4 <= c + 46 + nlen + xlen;) {
			uint16_t id = rd16(x), sz = rd16(x + 2);
			const uint8_t *v = x + 4, *ve = x + 4 + sz;
			if (ve > c + 46 + nlen + xlen)
				break;
			if (id == 1) {
				if (usize == 0xffffffffu && v + 8 <= ve) { usize = rd64(v); v += 8; }
				if (csize == 0xffffffffu && v + 8 <= ve) { csize = rd64(v); v += 8; }
				if (loff == 0xffffffffu && v + 8 <= ve) { loff = rd64(v); v += 8; }
			}
			x = ve;
		}
		if (loff > len - 30 || rd32(m + loff) != 0x04034b50)
			return tp_err(TP_EMODEL, "%s: zip entry '%.*s' has a bad local header", w->path,
				      (int)nlen, (const char *)c + 46);
		{
			uint64_t doff = loff + 30 + rd16(m + loff + 26) + rd16(m + loff + 28);
			struct zent *e = &z->e[z->n++];
			e->name = (const char *)c + 46;
			e->name_len = nlen;
			if (method != 0 || csize != usize)
				return tp_err(TP_EMODEL, "%s: zip entry '%.*s' is compressed; PyTorch "
					      "checkpoints store entries uncompressed", w->path,
					      (int)nlen, e->name);
			if (doff > len || csize > len - doff)
				return tp_err(TP_EMODEL, "%s: zip entry '%.*s' lies outside the file "
					      "(truncated?)", w->path, (int)nlen, e->name);
			e->data = m + doff;
			e->size = csize;
		}
		pos += 46 + (uint64_t)nlen + xlen + clen;
	}
	return TP_OK;
}

static const struct zent *zip_find(const struct zip *z, const char *prefix, size_t plen,
				   const char *name)
{
	size_t nl = strlen(name);
	for (size_t i = 0; i < z->n; i++) {
		const struct zent *e = &z->e[i];
		if (e->name_len == plen + nl && memcmp(e->name, prefix, plen) == 0 &&
		    memcmp(e->name + plen, name, nl) == 0)
			return e;
	}
	return NULL;
}

/* ---- the restricted pickle machine ---------------------------------------- */

enum pk_kind {
	PK_NONE, PK_BOOL, PK_INT, PK_FLOAT, PK_STR, PK_BYTES, PK_TUPLE, PK_LIST, PK_DICT,
	PK_GLOBAL, PK_STORAGE, PK_TENSOR, PK_MARK, PK_OPAQUE
};

enum pk_global {
	G_ORDERED_DICT, G_REBUILD_TENSOR_V2, G_STORAGE_F32, G_STORAGE_I64, G_STORAGE_OTHER,
	G_OPAQUE       /* lenient mode only: any other global, never called */
};

struct pk_obj {
	enum pk_kind kind;
	int64_t i;               /* INT, BOOL; GLOBAL: enum pk_global */
	const char *s;           /* STR/BYTES: into the pickle data (not NUL-terminated) */
	size_t len;              /* STR/BYTES length; TUPLE/LIST/DICT: items (pairs for DICT) */
	size_t cap;
	struct pk_obj **items;   /* TUPLE, LIST: len; DICT: 2 * len (key, value) */
	/* STORAGE */
	enum nn_dtype dtype;
	const char *dtname;
	const struct zent *ent;
	/* TENSOR */
	const struct pk_obj *storage;
	uint64_t offset;         /* elements */
	uint32_t ndim;
	uint64_t shape[NN_MAX_DIMS], stride[NN_MAX_DIMS];
	struct pk_obj *next_alloc;
};

struct pk {
	const struct nn_weights *w;
	const struct zip *z;
	const char *prefix;      /* "archive/" */
	size_t plen;
	const uint8_t *start, *p, *end;
	struct pk_obj **stack;
	size_t sp, stack_cap;
	struct pk_obj **memo;
	size_t memo_cap;
	size_t memo_count;       /* distinct memo slots set (MEMOIZE's next index) */
	struct pk_obj *allocs;
	size_t n_allocs;
	int lenient;             /* NN_WEIGHTS_PICKLE_LENIENT */
};

#define PK_MAX_OBJS ((size_t)1 << 20)  /* big-lama needs about 20 000 */
#define PK_MAX_MEMO ((size_t)1 << 20)

TP_MUST_USE static tp_status pk_bad(struct pk *k, const char *why)
{
	return tp_err(TP_EMODEL, "%s: unsupported or malformed checkpoint pickle at byte %zu: %s",
		      k->w->path, (size_t)(k->p - k->start), why);
}

static struct pk_obj *pk_new(struct pk *k, enum pk_kind kind)
{
	struct pk_obj *o;
	if (k->n_allocs >= PK_MAX_OBJS)
		return NULL;
	o = tp_calloc(1, sizeof *o);
	if (!o)
		return NULL;
	o->kind = kind;
	o->next_alloc = k->allocs;
	k->allocs = o;
	k->n_allocs++;
	return o;
}

static void pk_free_all(struct pk *k)
{
	while (k->allocs) {
		struct pk_obj *o = k->allocs;
		k->allocs = o->next_alloc;
		tp_free(o->items);
		tp_free(o);
	}
	tp_free(k->stack);
	tp_free(k->memo);
}

TP_MUST_USE static tp_status pk_oom(struct pk *k)
{
	return tp_err(TP_ENOMEM, "%s: out of memory reading the checkpoint", k->w->path);
}

TP_MUST_USE static tp_status pk_push(struct pk *k, struct pk_obj *o)
{
	if (!o)
		return pk_oom(k);
	if (k->sp == k->stack_cap) {
		size_t nc = k->stack_cap ? 2 * k->stack_cap : 64;
		void *s;
		if (nc > ((size_t)1 << 20))
			return pk_bad(k, "stack too deep");
		s = tp_realloc(k->stack, nc * sizeof *k->stack);
		if (!s)
			return pk_oom(k);
		k->stack = s;
		k->stack_cap = nc;
	}
	k->stack[k->sp++] = o;
	return TP_OK;
}

static struct pk_obj *pk_pop(struct pk *k)
{
	if (!k->sp || k->stack[k->sp - 1]->kind == PK_MARK)
		return NULL;
	return k->stack[--k->sp];
}

TP_MUST_USE static tp_status pk_add_item(struct pk *k, struct pk_obj *c, struct pk_obj *item)
{
	if (c->len == c->cap) {
		size_t nc = c->cap ? 2 * c->cap : 8;
		void *p = tp_realloc(c->items, nc * sizeof *c->items);
		if (!p)
			return pk_oom(k);
		c->items = p;
		c->cap = nc;
	}
	c->items[c->len++] = item;
	return TP_OK;
}

/* Index of the topmost MARK, or SIZE_MAX. */
static size_t pk_mark(const struct pk *k)
{
	for (size_t i = k->sp; i-- > 0;)
		if (k->stack[i]->kind == PK_MARK)
			return i;
	return SIZE_MAX;
}

TP_MUST_USE static tp_status pk_need(struct pk *k, size_t n)
{
	if ((size_t)(k->end - k->p) < n)
		return pk_bad(k, "truncated");
	return TP_OK;
}

/* Build a tuple of the n items on top of the stack. */
TP_MUST_USE static tp_status pk_tuple_n(struct pk *k, size_t from)
{
	struct pk_obj *t = pk_new(k, PK_TUPLE);
	if (!t)
		return pk_oom(k);
	for (size_t i = from; i < k->sp; i++)
		if (pk_add_item(k, t, k->stack[i]))
			return TP_ENOMEM;
	k->sp = from;
	return pk_push(k, t);
}

static int str_eq(const struct pk_obj *o, const char *s)
{
	return o && o->kind == PK_STR && o->len == strlen(s) && memcmp(o->s, s, o->len) == 0;
}

TP_MUST_USE static tp_status pk_global(struct pk *k, const char *mod, size_t ml, const char *name, size_t nl)
{
	struct pk_obj *g = pk_new(k, PK_GLOBAL);
	char full[256];
	snprintf(full, sizeof full, "%.*s.%.*s", (int)ml, mod, (int)nl, name);
	if (!g)
		return pk_oom(k);
	if (strcmp(full, "collections.OrderedDict") == 0) {
		g->i = G_ORDERED_DICT;
	} else if (strcmp(full, "torch._utils._rebuild_tensor_v2") == 0) {
		g->i = G_REBUILD_TENSOR_V2;
	} else if (strcmp(full, "torch.FloatStorage") == 0) {
		g->i = G_STORAGE_F32;
	} else if (strcmp(full, "torch.LongStorage") == 0) {
		g->i = G_STORAGE_I64;
	} else if (ml == 5 && memcmp(mod, "torch", 5) == 0 && nl > 7 &&
		   memcmp(name + nl - 7, "Storage", 7) == 0) {
		g->i = G_STORAGE_OTHER;
	} else if (k->lenient) {
		g->i = G_OPAQUE;
	} else {
		return tp_err(TP_EMODEL, "%s: the checkpoint's pickle names the global '%s', which "
			      "is not needed to rebuild tensors; refusing to load it (convert with "
			      "scripts/lama-convert.py, or allow inert placeholders with the lama "
			      "engine parameter ckpt_lenient=1)", k->w->path, full);
	}
	g->s = name;
	g->len = nl;
	return pk_push(k, g);
}

/* torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, meta]) */
TP_MUST_USE static tp_status pk_rebuild_tensor(struct pk *k, const struct pk_obj *args)
{
	struct pk_obj *t;
	const struct pk_obj *st, *off, *size, *stride;
	if (args->kind != PK_TUPLE || args->len < 4)
		return pk_bad(k, "bad _rebuild_tensor_v2 arguments");
	st = args->items[0];
	off = args->items[1];
	size = args->items[2];
	stride = args->items[3];
	if (st->kind != PK_STORAGE || off->kind != PK_INT || size->kind != PK_TUPLE ||
	    stride->kind != PK_TUPLE || size->len != stride->len || size->len > NN_MAX_DIMS ||
	    off->i < 0)
		return pk_bad(k, "bad _rebuild_tensor_v2 arguments");
	t = pk_new(k, PK_TENSOR);
	if (!t)
		return pk_oom(k);
	t->storage = st;
	t->offset = (uint64_t)off->i;
	t->ndim = (uint32_t)size->len;
	for (uint32_t i = 0; i < t->ndim; i++) {
		if (size->items[i]->kind != PK_INT || stride->items[i]->kind != PK_INT ||
		    size->items[i]->i < 0 || stride->items[i]->i < 0)
			return pk_bad(k, "bad tensor size or stride");
		t->shape[i] = (uint64_t)size->items[i]->i;
		t->stride[i] = (uint64_t)stride->items[i]->i;
	}
	return pk_push(k, t);
}

/* BINPERSID ('storage', storage_type, key, location, numel) */
TP_MUST_USE static tp_status pk_persid(struct pk *k, const struct pk_obj *pid)
{
	struct pk_obj *s;
	char name[128];
	const struct pk_obj *ty, *key;
	if (pid->kind != PK_TUPLE || pid->len < 5 || !str_eq(pid->items[0], "storage"))
		return pk_bad(k, "unknown persistent id");
	ty = pid->items[1];
	key = pid->items[2];
	if (ty->kind != PK_GLOBAL || ty->i < G_STORAGE_F32 || key->kind != PK_STR || key->len > 64)
		return pk_bad(k, "bad storage reference");
	s = pk_new(k, PK_STORAGE);
	if (!s)
		return pk_oom(k);
	s->dtype = ty->i == G_STORAGE_F32 ? NN_DTYPE_F32 : ty->i == G_STORAGE_I64 ? NN_DTYPE_I64
										  : NN_DTYPE_OTHER;
	s->dtname = ty->s;
	s->len = ty->len;
	snprintf(name, sizeof name, "data/%.*s", (int)key->len, key->s);
	s->ent = zip_find(k->z, k->prefix, k->plen, name);
	if (!s->ent)
		return tp_err(TP_EMODEL, "%s: checkpoint storage '%s' is missing from the zip "
			      "(truncated?)", k->w->path, name);
	return pk_push(k, s);
}

TP_MUST_USE static tp_status pk_reduce(struct pk *k)
{
	struct pk_obj *args = pk_pop(k), *fn = pk_pop(k);
	if (!args || !fn || fn->kind != PK_GLOBAL || args->kind != PK_TUPLE)
		return pk_bad(k, "REDUCE on something that is not an allowed global");
	if (fn->i == G_OPAQUE)
		return pk_push(k, pk_new(k, PK_OPAQUE)); /* never called */
	if (fn->i == G_ORDERED_DICT) {
		if (args->len != 0)
			return pk_bad(k, "OrderedDict with arguments");
		return pk_push(k, pk_new(k, PK_DICT));
	}
	if (fn->i == G_REBUILD_TENSOR_V2)
		return pk_rebuild_tensor(k, args);
	return pk_bad(k, "REDUCE on a storage type");
}

TP_MUST_USE static tp_status pk_run(struct pk *k)
{
	for (;;) {
		uint8_t op;
		tp_status st = TP_OK;
		if (pk_need(k, 1))
			return TP_EMODEL;
		op = *k->p++;
		switch (op) {
		case 0x80: /* PROTO */
			if (pk_need(k, 1))
				return TP_EMODEL;
			k->p++;
			break;
		case 0x95: /* FRAME */
			if (pk_need(k, 8))
				return TP_EMODEL;
			k->p += 8;
			break;
		case '.': /* STOP */
			return TP_OK;
		case '}': st = pk_push(k, pk_new(k, PK_DICT)); break;
		case ']': st = pk_push(k, pk_new(k, PK_LIST)); break;
		case ')': st = pk_push(k, pk_new(k, PK_TUPLE)); break;
		case 'N': st = pk_push(k, pk_new(k, PK_NONE)); break;
		case 0x88: case 0x89: { /* NEWTRUE, NEWFALSE */
			struct pk_obj *o = pk_new(k, PK_BOOL);
			if (o)
				o->i = op == 0x88;
			st = pk_push(k, o);
			break;
		}
		case '(': st = pk_push(k, pk_new(k, PK_MARK)); break;
		case 'J': case 'K': case 'M': case 0x8a: { /* BININT, BININT1, BININT2, LONG1 */
			struct pk_obj *o = pk_new(k, PK_INT);
			size_t n = op == 'J' ? 4 : op == 'K' ? 1 : op == 'M' ? 2 : 0;
			int64_t v = 0;
			if (op == 0x8a) {
				if (pk_need(k, 1))
					return TP_EMODEL;
				n = *k->p++;
				if (n > 8)
					return pk_bad(k, "integer too large");
			}
			if (pk_need(k, n))
				return TP_EMODEL;
			for (size_t i = 0; i < n; i++)
				v |= (int64_t)((uint64_t)k->p[i] << (8 * i));
			if (op == 'J')
				v = (int32_t)(uint32_t)v;
			else if (op == 0x8a && n > 0 && n < 8 && (k->p[n - 1] & 0x80))
				v -= (int64_t)1 << (8 * n);
			k->p += n;
			if (o)
				o->i = v;
			st = pk_push(k, o);
			break;
		}
		case 'G': { /* BINFLOAT: kept as an opaque number */
			if (pk_need(k, 8))
				return TP_EMODEL;
			k->p += 8;
			st = pk_push(k, pk_new(k, PK_FLOAT));
			break;
		}
		case 'X': case 0x8c: case 'B': case 'C': case 0x8e: { /* strings and bytes */
			size_t n;
			struct pk_obj *o = pk_new(k, op == 'X' || op == 0x8c ? PK_STR : PK_BYTES);
			size_t w = op == 0x8c || op == 'C' ? 1 : op == 0x8e ? 8 : 4;
			if (pk_need(k, w))
				return TP_EMODEL;
			n = w == 1 ? k->p[0] : w == 4 ? rd32(k->p) : (size_t)rd64(k->p);
			k->p += w;
			if (pk_need(k, n))
				return TP_EMODEL;
			if (o) {
				o->s = (const char *)k->p;
				o->len = n;
			}
			k->p += n;
			st = pk_push(k, o);
			break;
		}
		case 'c': { /* GLOBAL "module\nname\n" */
			const uint8_t *a = k->p, *nl1 = memchr(a, '\n', (size_t)(k->end - a)), *nl2;
			if (!nl1)
				return pk_bad(k, "bad GLOBAL");
			nl2 = memchr(nl1 + 1, '\n', (size_t)(k->end - nl1 - 1));
			if (!nl2)
				return pk_bad(k, "bad GLOBAL");
			k->p = nl2 + 1;
			st = pk_global(k, (const char *)a, (size_t)(nl1 - a), (const char *)nl1 + 1,
				       (size_t)(nl2 - nl1 - 1));
			break;
		}
		case 0x93: { /* STACK_GLOBAL */
			struct pk_obj *name = pk_pop(k), *mod = pk_pop(k);
			if (!name || !mod || name->kind != PK_STR || mod->kind != PK_STR)
				return pk_bad(k, "bad STACK_GLOBAL");
			st = pk_global(k, mod->s, mod->len, name->s, name->len);
			break;
		}
		case 'q': case 'r': case 0x94: { /* BINPUT, LONG_BINPUT, MEMOIZE */
			size_t idx;
			if (op == 0x94) {
				idx = k->memo_count;
			} else {
				size_t n = op == 'q' ? 1 : 4;
				if (pk_need(k, n))
					return TP_EMODEL;
				idx = n == 1 ? k->p[0] : rd32(k->p);
				k->p += n;
			}
			if (!k->sp || idx >= PK_MAX_MEMO)
				return pk_bad(k, "bad memo index");
			if (idx >= k->memo_cap) {
				size_t nc = k->memo_cap ? k->memo_cap : 256;
				void *m;
				while (nc <= idx)
					nc *= 2;
				m = tp_realloc(k->memo, nc * sizeof *k->memo);
				if (!m)
					return pk_oom(k);
				memset((struct pk_obj **)m + k->memo_cap, 0,
				       (nc - k->memo_cap) * sizeof *k->memo);
				k->memo = m;
				k->memo_cap = nc;
			}
			if (!k->memo[idx])
				k->memo_count++;
			k->memo[idx] = k->stack[k->sp - 1];
			break;
		}
		case 'h': case 'j': { /* BINGET, LONG_BINGET */
			size_t n = op == 'h' ? 1 : 4, idx;
			if (pk_need(k, n))
				return TP_EMODEL;
			idx = n == 1 ? k->p[0] : rd32(k->p);
			k->p += n;
			if (idx >= k->memo_cap || !k->memo[idx])
				return pk_bad(k, "memo index not set");
			st = pk_push(k, k->memo[idx]);
			break;
		}
		case 't': { /* TUPLE */
			size_t m = pk_mark(k);
			if (m == SIZE_MAX)
				return pk_bad(k, "TUPLE without MARK");
			if ((st = pk_tuple_n(k, m + 1)))
				return st;
			/* drop the MARK under the new tuple */
			k->stack[m] = k->stack[m + 1];
			k->sp = m + 1;
			break;
		}
		case 0x85: case 0x86: case 0x87: { /* TUPLE1..3 */
			size_t n = (size_t)(op - 0x84);
			if (k->sp < n)
				return pk_bad(k, "stack underflow");
			for (size_t i = k->sp - n; i < k->sp; i++)
				if (k->stack[i]->kind == PK_MARK)
					return pk_bad(k, "stack underflow");
			st = pk_tuple_n(k, k->sp - n);
			break;
		}
		case 's': case 'u': case 'a': case 'e': { /* SETITEM(S), APPEND(S) */
			size_t from;
			struct pk_obj *c;
			if (op == 's' || op == 'a') {
				if (k->sp < (op == 's' ? 3u : 2u))
					return pk_bad(k, "stack underflow");
				from = k->sp - (op == 's' ? 2 : 1);
			} else {
				size_t m = pk_mark(k);
				if (m == SIZE_MAX || m == 0)
					return pk_bad(k, "SETITEMS/APPENDS without MARK");
				from = m + 1;
			}
			c = k->stack[(op == 'u' || op == 'e') ? from - 2 : from - 1];
			if ((op == 's' || op == 'u') ? c->kind != PK_DICT : c->kind != PK_LIST)
				return pk_bad(k, "SETITEMS/APPENDS on the wrong kind of object");
			if ((op == 's' || op == 'u') && (k->sp - from) % 2)
				return pk_bad(k, "odd SETITEMS");
			for (size_t i = from; i < k->sp; i++) {
				if (k->stack[i]->kind == PK_MARK)
					return pk_bad(k, "stray MARK");
				if ((st = pk_add_item(k, c, k->stack[i])))
					return st;
			}
			k->sp = (op == 'u' || op == 'e') ? from - 1 : from;
			break;
		}
		case 'Q': { /* BINPERSID */
			struct pk_obj *pid = pk_pop(k);
			if (!pid)
				return pk_bad(k, "stack underflow");
			st = pk_persid(k, pid);
			break;
		}
		case 'R': st = pk_reduce(k); break;
		case 'b': { /* BUILD: OrderedDict's attribute state (or a placeholder's), ignored */
			struct pk_obj *state = pk_pop(k);
			if (!state || !k->sp || (k->stack[k->sp - 1]->kind != PK_DICT &&
						 k->stack[k->sp - 1]->kind != PK_OPAQUE))
				return pk_bad(k, "BUILD on an object that is not a dict");
			break;
		}
		case 0x81: { /* NEWOBJ cls args: only for placeholder classes */
			struct pk_obj *args = pk_pop(k), *cls = pk_pop(k);
			if (!args || !cls || cls->kind != PK_GLOBAL || cls->i != G_OPAQUE)
				return pk_bad(k, "NEWOBJ on something that is not a placeholder class");
			st = pk_push(k, pk_new(k, PK_OPAQUE));
			break;
		}

		case '0': /* POP */
			if (!pk_pop(k))
				return pk_bad(k, "stack underflow");
			break;
		default: {
			char why[64];
			snprintf(why, sizeof why, "opcode 0x%02x is not allowed", op);
			return pk_bad(k, why);
		}
		}
		if (st)
			return st;
	}
}

/* The value for string key in dict d (items flat: key, value, ...), or NULL. */
static const struct pk_obj *dict_get(const struct pk_obj *d, const char *key)
{
	for (size_t i = 0; i + 1 < d->len; i += 2)
		if (str_eq(d->items[i], key))
			return d->items[i + 1];
	return NULL;
}

TP_MUST_USE static tp_status add_tensor(struct pk *k, struct nn_weights *w, const struct pk_obj *key,
			    const struct pk_obj *t, size_t *cap)
{
	struct nn_wtensor *x;
	uint64_t esize, count = 1, expect = 1;
	const struct pk_obj *s = t->storage;
	char name[512];
	snprintf(name, sizeof name, "%.*s", (int)key->len, key->s);
	if (w->n == *cap) {
		size_t nc = *cap ? 2 * *cap : 1024;
		void *p = tp_realloc(w->t, nc * sizeof *w->t);
		if (!p)
			return pk_oom(k);
		w->t = p;
		*cap = nc;
	}
	x = &w->t[w->n];
	memset(x, 0, sizeof *x);
	if (!(x->name = tp_strdup(name)))
		return pk_oom(k);
	w->n++;
	x->dtype = s->dtype;
	snprintf(x->dtype_name, sizeof x->dtype_name, "%.*s", (int)s->len, s->dtname);
	esize = s->dtype == NN_DTYPE_F32 ? 4 : s->dtype == NN_DTYPE_I64 ? 8 : 0;
	x->ndim = t->ndim;
	/* contiguous row-major only (state dicts are) */
	for (uint32_t i = t->ndim; i-- > 0;) {
		x->shape[i] = t->shape[i];
		if (t->shape[i] > 1 && t->stride[i] != expect)
			return tp_err(TP_EMODEL, "%s: tensor '%s' is not contiguous", w->path, name);
		if (t->shape[i] && expect > UINT64_MAX / t->shape[i])
			return tp_err(TP_EMODEL, "%s: tensor '%s' shape overflows", w->path, name);
		expect *= t->shape[i] ? t->shape[i] : 1;
		count *= t->shape[i];
	}
	if (!esize) {
		x->data = s->ent->data;
		x->nbytes = 0;
		return TP_OK; /* rejected by the architecture check, naming the dtype */
	}
	if (t->offset > s->ent->size / esize || count > s->ent->size / esize - t->offset)
		return tp_err(TP_EMODEL, "%s: tensor '%s' extends past its storage (truncated?)",
			      w->path, name);
	x->data = s->ent->data + t->offset * esize;
	x->nbytes = count * esize;
	return TP_OK;
}

tp_status nn_ckpt_parse(struct nn_weights *w, unsigned flags)
{
	struct zip z = { 0 };
	struct pk k = { 0 };
	const struct zent *pkl = NULL;
	const struct pk_obj *top, *sd;
	size_t cap = 0;
	tp_status st;
	if ((st = zip_open(w, &z)))
		goto out;
	/* "<dir>/data.pkl": the directory name varies with how the file was saved */
	for (size_t i = 0; i < z.n; i++) {
		const char *slash = memchr(z.e[i].name, '/', z.e[i].name_len);
		if (slash && (size_t)(z.e[i].name + z.e[i].name_len - slash) == 9 &&
		    memcmp(slash, "/data.pkl", 9) == 0) {
			pkl = &z.e[i];
			k.prefix = z.e[i].name;
			k.plen = (size_t)(slash - z.e[i].name) + 1;
			break;
		}
	}
	if (!pkl) {
		st = tp_err(TP_EMODEL, "%s: zip file without a data.pkl: not a PyTorch checkpoint",
			    w->path);
		goto out;
	}
	k.w = w;
	k.z = &z;
	k.lenient = (flags & NN_WEIGHTS_PICKLE_LENIENT) != 0;
	k.start = k.p = pkl->data;
	k.end = pkl->data + pkl->size;
	if ((st = pk_run(&k)))
		goto out;
	if (k.sp != 1 || k.stack[0]->kind != PK_DICT) {
		st = tp_err(TP_EMODEL, "%s: the checkpoint does not hold a dictionary", w->path);
		goto out;
	}
	top = k.stack[0];
	sd = dict_get(top, "state_dict");
	if (!sd)
		sd = top;
	if (sd->kind != PK_DICT) {
		st = tp_err(TP_EMODEL, "%s: the checkpoint's state_dict is not a dictionary", w->path);
		goto out;
	}
	for (size_t i = 0; i + 1 < sd->len; i += 2) {
		const struct pk_obj *key = sd->items[i], *val = sd->items[i + 1];
		if (key->kind != PK_STR || key->len < 10 || memcmp(key->s, "generator.", 10) != 0)
			continue; /* discriminator, losses, evaluators: not ours */
		if (val->kind != PK_TENSOR) {
			st = tp_err(TP_EMODEL, "%s: state_dict entry '%.*s' is not a tensor", w->path,
				    (int)key->len, key->s);
			goto out;
		}
		if ((st = add_tensor(&k, w, key, val, &cap)))
			goto out;
	}
	if (!w->n) {
		st = tp_err(TP_EMODEL, "%s: the checkpoint has no 'generator.*' tensors", w->path);
		goto out;
	}
	st = nn_weights_finish(w);
out:
	pk_free_all(&k);
	tp_free(z.e);
	return st;
}
