/*
 * lama.c - the LaMa generator: load (validate, fold BN), scratch planning and
 * the forward pass. Layout of the bottleneck state: one (nl + ng, h, w)
 * tensor, local channels first, which is also the order of the concat before
 * the decoder, so the concat costs nothing.
 *
 * Per FFC (SPEC §5): one Winograd F(4x4,3x3) input transform of [xl; xg]
 * feeds both the fused local conv ([l2l | g2l] over nl + ng channels) and the
 * l2g conv (its first nl channels); the spectral branch adds into the global
 * output before the folded bn_g + ReLU. Encoder, decoder and the final conv
 * use im2col / col2im / tap GEMMs (conv.c).
 */
#include "lama.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#define BN_EPS 1e-5

struct lama_ffc {            /* one FFC_BN_ACT inside a residual block */
	float *uloc;         /* (NN_WINO_P, nl, nl + ng): Winograd [l2l | g2l] * bn_l scale */
	float *shift_l;      /* (nl) */
	float *ul2g;         /* (NN_WINO_P, ng, nl): Winograd l2g * bn_g scale */
	float *w1;           /* (cs, ng) * conv1.1 scale (SpectralTransform conv1) */
	float *shift1;       /* (cs) */
	struct nn_fu fu;     /* (2cs, 2cs) FourierUnit conv * fu.bn scale, shift */
	float *w2;           /* (ng, cs) SpectralTransform conv2 * bn_g scale */
	float *shift_g;      /* (ng) */
};

struct lama_net {
	struct lama_config cfg;
	struct nn_conv init, down[3], final;
	struct nn_convt up[3];
	struct lama_ffc *ffc;    /* 2 * n_blocks */
	void **allocs;           /* every folded buffer, freed at lama_net_free */
	size_t n_allocs, cap_allocs;
	size_t bytes;
};

/* ---- loading ------------------------------------------------------------ */

struct loader {
	const struct nn_weights *w;
	struct lama_net *net;
	unsigned char *used;     /* per tensor of w */
	char key[256];
};

static float *net_alloc(struct lama_net *net, size_t n)
{
	float *p;
	if (net->n_allocs == net->cap_allocs) {
		size_t nc = net->cap_allocs ? 2 * net->cap_allocs : 64;
		void **a = tp_realloc(net->allocs, nc * sizeof *a);
		if (!a)
			return NULL;
		net->allocs = a;
		net->cap_allocs = nc;
	}
	p = tp_malloc(n * sizeof(float));
	if (p) {
		net->allocs[net->n_allocs++] = p;
		net->bytes += n * sizeof(float);
	}
	return p;
}

TP_MUST_USE static tp_status oom(struct loader *l)
{
	return tp_err(TP_ENOMEM, "%s: out of memory for the folded weights", l->w->path);
}

/* Find key (printf format after "generator.model.") and check shape (ndim dims). */
TP_MUST_USE static tp_status get(struct loader *l, const struct nn_wtensor **out, uint32_t ndim,
		     const uint64_t *dims, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
TP_MUST_USE static tp_status get(struct loader *l, const struct nn_wtensor **out, uint32_t ndim,
		     const uint64_t *dims, const char *fmt, ...)
{
	const struct nn_wtensor *t;
	char shape[128] = "", want[128] = "";
	va_list ap;
	int n = snprintf(l->key, sizeof l->key, "generator.model.");
	va_start(ap, fmt);
	vsnprintf(l->key + n, sizeof l->key - (size_t)n, fmt, ap);
	va_end(ap);
	t = nn_weights_find(l->w, l->key);
	if (!t)
		return tp_err(TP_EMODEL, "%s: missing tensor '%s'", l->w->path, l->key);
	if (t->dtype != NN_DTYPE_F32)
		return tp_err(TP_EMODEL, "%s: tensor '%s' has dtype %s, expected float32",
			      l->w->path, l->key, t->dtype_name);
	for (uint32_t i = 0; i < t->ndim; i++)
		snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%llu",
			 i ? "," : "", (unsigned long long)t->shape[i]);
	for (uint32_t i = 0; i < ndim; i++)
		snprintf(want + strlen(want), sizeof want - strlen(want), "%s%llu", i ? "," : "",
			 (unsigned long long)dims[i]);
	if (t->ndim != ndim || memcmp(t->shape, dims, ndim * sizeof *dims) != 0)
		return tp_err(TP_EMODEL, "%s: tensor '%s' has shape (%s), expected (%s)",
			      l->w->path, l->key, shape, want);
	l->used[t - l->w->t] = 1;
	*out = t;
	return TP_OK;
}

/* Read float i of t (data may be unaligned; little-endian host assumed). */
static float fval(const struct nn_wtensor *t, size_t i)
{
	float v;
	memcpy(&v, t->data + 4 * i, 4);
	return v;
}

/* The optional num_batches_tracked counter of a BN: scalar int64 if present. */
TP_MUST_USE static tp_status mark_counter(struct loader *l, const char *bn)
{
	char key[300];
	const struct nn_wtensor *t;
	snprintf(key, sizeof key, "%s.num_batches_tracked", bn);
	t = nn_weights_find(l->w, key);
	if (!t)
		return TP_OK;
	if (t->dtype != NN_DTYPE_I64 || t->ndim > 1 || (t->ndim == 1 && t->shape[0] != 1))
		return tp_err(TP_EMODEL, "%s: tensor '%s' should be an int64 scalar", l->w->path, key);
	l->used[t - l->w->t] = 1;
	return TP_OK;
}

/* Load BN "generator.model.<prefix>" with c channels into scale[c], shift[c]:
 * y = x * scale + shift; bias (or NULL) is a conv bias applied before BN. */
TP_MUST_USE static tp_status load_bn(struct loader *l, const char *prefix, uint32_t c, const float *bias,
			 double *scale, float *shift)
{
	const struct nn_wtensor *g, *b, *m, *v;
	uint64_t d = c;
	char bn[256];
	tp_status st;
	if ((st = get(l, &g, 1, &d, "%s.weight", prefix)) || (st = get(l, &b, 1, &d, "%s.bias", prefix)) ||
	    (st = get(l, &m, 1, &d, "%s.running_mean", prefix)) ||
	    (st = get(l, &v, 1, &d, "%s.running_var", prefix)))
		return st;
	snprintf(bn, sizeof bn, "generator.model.%s", prefix);
	if ((st = mark_counter(l, bn)))
		return st;
	for (uint32_t i = 0; i < c; i++) {
		double var = fval(v, i);
		if (!(var >= 0.0) || !isfinite(var))
			return tp_err(TP_EMODEL, "%s: tensor 'generator.model.%s.running_var' has an "
				      "invalid variance %g at channel %u", l->w->path, prefix, var, i);
		scale[i] = fval(g, i) / sqrt(var + BN_EPS);
		shift[i] = (float)(((bias ? bias[i] : 0.0) - fval(m, i)) * scale[i] + fval(b, i));
	}
	return TP_OK;
}

/* Copy conv weight t ((cout, kk) rows) into dst rows [row0, row0 + cout) with
 * row stride ld and column offset col0, each row scaled by scale[row]. */
static void copy_rows(float *dst, size_t ld, size_t row0, size_t col0, const struct nn_wtensor *t,
		      size_t cout, size_t kk, const double *scale)
{
	for (size_t r = 0; r < cout; r++)
		for (size_t k = 0; k < kk; k++)
			dst[(row0 + r) * ld + col0 + k] = (float)(fval(t, r * kk + k) * scale[r]);
}

TP_MUST_USE static tp_status load_ffc(struct loader *l, uint32_t idx, const char *which, struct lama_ffc *f)
{
	const struct lama_config *c = &l->net->cfg;
	uint32_t nl = c->nl, ng = c->ng, cs = c->cs;
	const struct nn_wtensor *l2l, *g2l, *l2g, *w1, *wfu, *w2;
	double *sl = NULL, *sg = NULL, *s1 = NULL, *sfu = NULL;
	char p[128];
	tp_status st;
	uint64_t d_l2l[4] = { nl, nl, 3, 3 }, d_g2l[4] = { nl, ng, 3, 3 }, d_l2g[4] = { ng, nl, 3, 3 };
	uint64_t d_w1[4] = { cs, ng, 1, 1 }, d_fu[4] = { 2 * cs, 2 * cs, 1, 1 }, d_w2[4] = { ng, cs, 1, 1 };
	sl = tp_malloc(nl * sizeof *sl);
	sg = tp_malloc(ng * sizeof *sg);
	s1 = tp_malloc(cs * sizeof *s1);
	sfu = tp_malloc(2 * cs * sizeof *sfu);
	f->uloc = net_alloc(l->net, (size_t)NN_WINO_P * nl * (nl + ng));
	f->shift_l = net_alloc(l->net, nl);
	f->ul2g = net_alloc(l->net, (size_t)NN_WINO_P * ng * nl);
	f->w1 = net_alloc(l->net, (size_t)cs * ng);
	f->shift1 = net_alloc(l->net, cs);
	f->fu.w = net_alloc(l->net, (size_t)4 * cs * cs);
	f->fu.shift = net_alloc(l->net, 2 * cs);
	f->w2 = net_alloc(l->net, (size_t)ng * cs);
	f->shift_g = net_alloc(l->net, ng);
	f->fu.c = cs;
	if (!sl || !sg || !s1 || !sfu || !f->uloc || !f->shift_l || !f->ul2g || !f->w1 ||
	    !f->shift1 || !f->fu.w || !f->fu.shift || !f->w2 || !f->shift_g) {
		st = oom(l);
		goto out;
	}
	snprintf(p, sizeof p, "%u.%s", idx, which);
	if ((st = get(l, &l2l, 4, d_l2l, "%s.ffc.convl2l.weight", p)) ||
	    (st = get(l, &g2l, 4, d_g2l, "%s.ffc.convg2l.weight", p)) ||
	    (st = get(l, &l2g, 4, d_l2g, "%s.ffc.convl2g.weight", p)) ||
	    (st = get(l, &w1, 4, d_w1, "%s.ffc.convg2g.conv1.0.weight", p)) ||
	    (st = get(l, &wfu, 4, d_fu, "%s.ffc.convg2g.fu.conv_layer.weight", p)) ||
	    (st = get(l, &w2, 4, d_w2, "%s.ffc.convg2g.conv2.weight", p)))
		goto out;
	{
		char bn[160];
		snprintf(bn, sizeof bn, "%s.bn_l", p);
		if ((st = load_bn(l, bn, nl, NULL, sl, (float *)f->shift_l)))
			goto out;
		snprintf(bn, sizeof bn, "%s.bn_g", p);
		if ((st = load_bn(l, bn, ng, NULL, sg, f->shift_g)))
			goto out;
		snprintf(bn, sizeof bn, "%s.ffc.convg2g.conv1.1", p);
		if ((st = load_bn(l, bn, cs, NULL, s1, f->shift1)))
			goto out;
		snprintf(bn, sizeof bn, "%s.ffc.convg2g.fu.bn", p);
		if ((st = load_bn(l, bn, 2 * cs, NULL, sfu, (float *)f->fu.shift)))
			goto out;
	}
	{
		/* Winograd-transformed 3x3 kernels, BN scale folded: point k of
		 * (co, ci) at k * rows * cols + co * cols + ci. */
		size_t cl = (size_t)nl + ng, ploc = (size_t)nl * cl, pg = (size_t)ng * nl;
		float g[9];
		for (size_t co = 0; co < nl; co++)
			for (size_t ci = 0; ci < cl; ci++) {
				const struct nn_wtensor *src = ci < nl ? l2l : g2l;
				size_t cin = ci < nl ? nl : ng, cc = ci < nl ? ci : ci - nl;
				for (int q = 0; q < 9; q++)
					g[q] = fval(src, (co * cin + cc) * 9 + (size_t)q);
				nn_wino_kernel(g, sl[co], f->uloc + co * cl + ci, ploc);
			}
		for (size_t co = 0; co < ng; co++)
			for (size_t ci = 0; ci < nl; ci++) {
				for (int q = 0; q < 9; q++)
					g[q] = fval(l2g, (co * nl + ci) * 9 + (size_t)q);
				nn_wino_kernel(g, sg[co], f->ul2g + co * nl + ci, pg);
			}
	}
	copy_rows(f->w1, ng, 0, 0, w1, cs, ng, s1);
	copy_rows((float *)f->fu.w, 2 * cs, 0, 0, wfu, 2 * cs, 2 * cs, sfu);
	copy_rows(f->w2, cs, 0, 0, w2, ng, cs, sg);
out:
	tp_free(sl);
	tp_free(sg);
	tp_free(s1);
	tp_free(sfu);
	return st;
}

/* A plain conv "model.<idx>.ffc.convl2l" (+ optional convl2g rows) with bn_l (+ bn_g). */
TP_MUST_USE static tp_status load_down(struct loader *l, uint32_t idx, uint32_t cin, uint32_t k,
			   uint32_t nl, uint32_t ng, struct nn_conv *cv)
{
	const struct nn_wtensor *wl, *wg = NULL;
	uint64_t dl[4] = { nl, cin, k, k }, dg[4] = { ng, cin, k, k };
	size_t kk = (size_t)cin * k * k;
	double *s = tp_malloc((nl + ng) * sizeof *s);
	float *w = net_alloc(l->net, (nl + ng) * kk), *shift = net_alloc(l->net, nl + ng);
	char bn[64];
	tp_status st;
	if (!s || !w || !shift) {
		st = oom(l);
		goto out;
	}
	if ((st = get(l, &wl, 4, dl, "%u.ffc.convl2l.weight", idx)))
		goto out;
	if (ng && (st = get(l, &wg, 4, dg, "%u.ffc.convl2g.weight", idx)))
		goto out;
	snprintf(bn, sizeof bn, "%u.bn_l", idx);
	if ((st = load_bn(l, bn, nl, NULL, s, shift)))
		goto out;
	if (ng) {
		snprintf(bn, sizeof bn, "%u.bn_g", idx);
		if ((st = load_bn(l, bn, ng, NULL, s + nl, shift + nl)))
			goto out;
	}
	copy_rows(w, kk, 0, 0, wl, nl, kk, s);
	if (ng)
		copy_rows(w, kk, nl, 0, wg, ng, kk, s + nl);
	*cv = (struct nn_conv){ .cout = nl + ng, .cin = cin, .k = k, .stride = idx == 1 ? 1 : 2,
				.pad = idx == 1 ? 3 : 1, .mode = NN_PAD_REFLECT, .w = w,
				.shift = shift, .relu = 1 };
out:
	tp_free(s);
	return st;
}

TP_MUST_USE static tp_status load_up(struct loader *l, uint32_t idx, uint32_t cin, uint32_t cout,
			 struct nn_convt *ct)
{
	const struct nn_wtensor *w, *b;
	uint64_t dw[4] = { cin, cout, 3, 3 }, db[1] = { cout };
	double *s = tp_malloc(cout * sizeof *s);
	float *bias = tp_malloc(cout * sizeof *bias);
	float *fw = net_alloc(l->net, (size_t)cin * cout * 9), *shift = net_alloc(l->net, cout);
	char bn[32];
	tp_status st;
	if (!s || !bias || !fw || !shift) {
		st = oom(l);
		goto out;
	}
	if ((st = get(l, &w, 4, dw, "%u.weight", idx)) || (st = get(l, &b, 1, db, "%u.bias", idx)))
		goto out;
	for (uint32_t i = 0; i < cout; i++)
		bias[i] = fval(b, i);
	snprintf(bn, sizeof bn, "%u", idx + 1);
	if ((st = load_bn(l, bn, cout, bias, s, shift)))
		goto out;
	for (size_t ci = 0; ci < cin; ci++)
		for (size_t co = 0; co < cout; co++)
			for (size_t k = 0; k < 9; k++) {
				size_t i = (ci * cout + co) * 9 + k;
				fw[i] = (float)(fval(w, i) * s[co]);
			}
	*ct = (struct nn_convt){ .cout = cout, .cin = cin, .k = 3, .stride = 2, .pad = 1,
				 .out_pad = 1, .w = fw, .shift = shift, .relu = 1 };
out:
	tp_free(s);
	tp_free(bias);
	return st;
}

TP_MUST_USE static tp_status load_final(struct loader *l, uint32_t idx, uint32_t cin, struct nn_conv *cv)
{
	const struct nn_wtensor *w, *b;
	uint64_t dw[4] = { 3, cin, 7, 7 }, db[1] = { 3 };
	float *fw = net_alloc(l->net, (size_t)3 * cin * 49), *shift = net_alloc(l->net, 3);
	float *wtap = net_alloc(l->net, (size_t)3 * cin * 49);
	tp_status st;
	if (!fw || !shift || !wtap)
		return oom(l);
	if ((st = get(l, &w, 4, dw, "%u.weight", idx)) || (st = get(l, &b, 1, db, "%u.bias", idx)))
		return st;
	for (size_t i = 0; i < (size_t)3 * cin * 49; i++)
		fw[i] = fval(w, i);
	for (uint32_t i = 0; i < 3; i++)
		shift[i] = fval(b, i);
	nn_conv_make_wtap(fw, 3, cin, 7, wtap);
	*cv = (struct nn_conv){ .cout = 3, .cin = cin, .k = 7, .stride = 1, .pad = 3,
				.mode = NN_PAD_REFLECT, .w = fw, .shift = shift, .relu = 0,
				.wtap = wtap };
	return TP_OK;
}

/* Shape of a tensor that must exist, to derive sizes; 0 dims on absence. */
static const struct nn_wtensor *peek(const struct nn_weights *w, const char *fmt, uint32_t i)
{
	char key[128];
	snprintf(key, sizeof key, fmt, i);
	return nn_weights_find(w, key);
}

tp_status lama_net_load(const struct nn_weights *w, struct lama_net **out)
{
	struct loader l = { .w = w };
	struct lama_net *net = NULL;
	struct lama_config *c;
	const struct nn_wtensor *t;
	tp_status st = TP_OK;
	*out = NULL;
	net = tp_calloc(1, sizeof *net);
	l.used = tp_calloc(w->n ? w->n : 1, 1);
	if (!net || !l.used) {
		st = tp_err(TP_ENOMEM, "%s: out of memory loading the model", w->path);
		goto out;
	}
	l.net = net;
	c = &net->cfg;
	/* Sizes from shapes (SPEC §1, §4); every shape is then checked by get(). */
	t = peek(w, "generator.model.%u.ffc.convl2l.weight", 1);
	if (!t || t->ndim != 4) {
		st = tp_err(TP_EMODEL, "%s: missing tensor 'generator.model.1.ffc.convl2l.weight' "
			    "(not a LaMa generator, or keys lack the 'generator.' prefix)", w->path);
		goto out;
	}
	c->in_ch = 4;
	c->ngf = (uint32_t)t->shape[0];
	t = peek(w, "generator.model.%u.ffc.convl2l.weight", 4);
	c->nl = t && t->ndim == 4 ? (uint32_t)t->shape[0] : 0;
	t = peek(w, "generator.model.%u.ffc.convl2g.weight", 4);
	c->ng = t && t->ndim == 4 ? (uint32_t)t->shape[0] : 0;
	while (peek(w, "generator.model.%u.conv1.ffc.convl2l.weight", 5 + c->n_blocks))
		c->n_blocks++;
	t = peek(w, "generator.model.%u.conv1.ffc.convg2g.conv1.0.weight", 5);
	c->cs = t && t->ndim == 4 ? (uint32_t)t->shape[0] : c->ng / 2;
	if (c->ngf == 0 || c->ngf > 4096 || c->nl == 0 || c->ng == 0 || c->ng > 65536 ||
	    c->nl > 65536 || c->cs == 0 || c->cs > 65536 || c->n_blocks > 1000) {
		st = tp_err(TP_EMODEL, "%s: implausible LaMa sizes (ngf %u, local %u, global %u, "
			    "spectral %u): missing or malformed tensors", w->path, c->ngf, c->nl,
			    c->ng, c->cs);
		goto out;
	}
	{
		uint32_t cin = c->nl + c->ng;
		for (int i = 0; i < 3; i++) {
			t = peek(w, "generator.model.%u.weight", 6 + c->n_blocks + 3 * (uint32_t)i);
			c->up[i] = t && t->ndim == 4 && t->shape[0] == cin ? (uint32_t)t->shape[1] : cin / 2;
			if (c->up[i] == 0 || c->up[i] > 65536)
				c->up[i] = 1;
			cin = c->up[i];
		}
	}
	if ((st = load_down(&l, 1, c->in_ch, 7, c->ngf, 0, &net->init)) ||
	    (st = load_down(&l, 2, c->ngf, 3, 2 * c->ngf, 0, &net->down[0])) ||
	    (st = load_down(&l, 3, 2 * c->ngf, 3, 4 * c->ngf, 0, &net->down[1])) ||
	    (st = load_down(&l, 4, 4 * c->ngf, 3, c->nl, c->ng, &net->down[2])))
		goto out;
	net->ffc = tp_calloc(2 * (size_t)c->n_blocks + 1, sizeof *net->ffc);
	if (!net->ffc) {
		st = oom(&l);
		goto out;
	}
	for (uint32_t b = 0; b < c->n_blocks; b++)
		if ((st = load_ffc(&l, 5 + b, "conv1", &net->ffc[2 * b])) ||
		    (st = load_ffc(&l, 5 + b, "conv2", &net->ffc[2 * b + 1])))
			goto out;
	{
		uint32_t cin = c->nl + c->ng;
		for (uint32_t i = 0; i < 3; i++) {
			if ((st = load_up(&l, 6 + c->n_blocks + 3 * i, cin, c->up[i], &net->up[i])))
				goto out;
			cin = c->up[i];
		}
		if ((st = load_final(&l, 16 + c->n_blocks, cin, &net->final)))
			goto out;
	}
	for (size_t i = 0; i < w->n; i++)
		if (!l.used[i]) {
			st = tp_err(TP_EMODEL, "%s: unexpected tensor '%s' (not part of a LaMa "
				    "generator with %u blocks)", w->path, w->t[i].name, c->n_blocks);
			goto out;
		}
	for (size_t i = 0; i < w->n; i++)
		if (w->t[i].dtype == NN_DTYPE_F32)
			c->params += w->t[i].nbytes / 4;
out:
	tp_free(l.used);
	if (st) {
		lama_net_free(net);
		net = NULL;
	}
	*out = net;
	return st;
}

tp_status lama_net_open(const char *path, struct lama_net **out)
{
	return lama_net_open_flags(path, 0, out);
}

tp_status lama_net_open_flags(const char *path, unsigned flags, struct lama_net **out)
{
	struct nn_weights *w = NULL;
	tp_status st;
	*out = NULL;
	if ((st = nn_weights_open_flags(path, flags, &w)))
		return st;
	st = lama_net_load(w, out);
	nn_weights_close(w);
	return st;
}

void lama_net_free(struct lama_net *net)
{
	if (!net)
		return;
	for (size_t i = 0; i < net->n_allocs; i++)
		tp_free(net->allocs[i]);
	tp_free(net->allocs);
	tp_free(net->ffc);
	tp_free(net);
}

const struct lama_config *lama_net_config(const struct lama_net *net)
{
	return &net->cfg;
}

size_t lama_net_bytes(const struct lama_net *net)
{
	return net->bytes;
}

/* ---- scratch plan and forward ------------------------------------------- */

struct bufs {
	float *a, *b;       /* ping-pong activations (b: the half-resolution ones) */
	float *x, *y1, *y2; /* bottleneck (nl + ng, h/8, w/8) */
	float *sa, *sf;     /* spectral (cs, h/8, w/8) */
	float *xp;          /* Winograd-padded bottleneck (nl + ng, 4 th + 2, 4 tw + 2) */
	float *wv, *wm;     /* Winograd transformed input / products (NN_WINO_P, nl + ng, chunk tiles) */
	float *fus;         /* FourierUnit shared scratch */
	struct nn_exec ex;  /* pool + per-thread slices */
};

static size_t max_sz(size_t a, size_t b)
{
	return a > b ? a : b;
}

/* Count (arena NULL) or carve the buffers for an h x w pass; returns floats. */
static size_t plan_bufs(const struct lama_net *net, uint32_t h, uint32_t w, uint32_t threads,
			struct nn_arena *arena, struct bufs *bf)
{
	const struct lama_config *c = &net->cfg;
	size_t p = (size_t)h * w, hw = p / 64, act = 0, act_b = 0, slice = 0, total = 0;
	uint32_t bh = h / 8, bw = w / 8;
	/* a holds init, down2, up1 and up3 outputs; b only down1 and up2 (half size) */
	act = max_sz(act, (size_t)c->ngf * p);
	act = max_sz(act, (size_t)4 * c->ngf * p / 16);
	act = max_sz(act, (size_t)c->up[0] * p / 16);
	act = max_sz(act, (size_t)c->up[2] * p);
	act_b = max_sz(act_b, (size_t)2 * c->ngf * p / 4);
	act_b = max_sz(act_b, (size_t)c->up[1] * p / 4);
	slice = max_sz(slice, nn_conv_scratch(&net->init, h, w));
	slice = max_sz(slice, nn_conv_scratch(&net->down[0], h, w));
	slice = max_sz(slice, nn_conv_scratch(&net->down[1], h / 2, w / 2));
	slice = max_sz(slice, nn_conv_scratch(&net->down[2], h / 4, w / 4));
	uint32_t th = (bh + NN_WINO_M - 1) / NN_WINO_M, tw = (bw + NN_WINO_M - 1) / NN_WINO_M;
	uint32_t cl = c->nl + c->ng;

	slice = max_sz(slice, nn_convt_scratch(&net->up[0], bh, bw));
	slice = max_sz(slice, nn_convt_scratch(&net->up[1], h / 4, w / 4));
	slice = max_sz(slice, nn_convt_scratch(&net->up[2], h / 2, w / 2));
	slice = max_sz(slice, nn_conv_scratch(&net->final, h, w));
	slice = nn_align(max_sz(slice, nn_fu_slice(bh, bw)));
	{
		size_t wino = (size_t)NN_WINO_P * cl * tw * nn_wino_chunk_rows(cl, tw, th);
		size_t sizes[12] = { act, act_b, (size_t)cl * hw, (size_t)cl * hw, (size_t)cl * hw,
				     c->cs * hw, c->cs * hw, nn_fu_scratch(c->cs, bh, bw),
				     (size_t)cl * nn_wino_padded(th) * nn_wino_padded(tw), wino, wino,
				     slice * threads };
		float **dst[12] = { &bf->a, &bf->b, &bf->x, &bf->y1, &bf->y2, &bf->sa, &bf->sf,
				    &bf->fus, &bf->xp, &bf->wv, &bf->wm, &bf->ex.scratch };
		for (int i = 0; i < 12; i++) {
			total += nn_align(sizes[i]);
			if (arena)
				*dst[i] = nn_arena_take(arena, sizes[i]);
		}
	}
	bf->ex.slice = slice;
	return total;
}

size_t lama_net_scratch(const struct lama_net *net, uint32_t h, uint32_t w, uint32_t threads)
{
	struct bufs bf;
	return plan_bufs(net, h, w, threads ? threads : 1, NULL, &bf);
}

tp_status lama_net_prepare(const struct lama_net *net, uint32_t h, uint32_t w)
{
	const struct nn_fft_plan *p;
	(void)net;
	if (h % 8 || w % 8 || h < LAMA_MIN_SIDE || w < LAMA_MIN_SIDE || h > LAMA_MAX_SIDE ||
	    w > LAMA_MAX_SIDE)
		return tp_err(TP_EUSAGE, "LaMa input %ux%u must be a multiple of 8 from %u to %u",
			      w, h, LAMA_MIN_SIDE, LAMA_MAX_SIDE);
	return nn_fft_plan_get(h / 8, w / 8, &p);
}

struct ffc_job {
	const struct lama_ffc *f;
	const float *xp;
	float *v, *m, *y;
	uint32_t nl, ng, h, w, th, tw, ty0, ty1;
};

/* Winograd phase 1, one task per channel: input transform. */
static void wino_in_task(void *ctx, uint32_t c, uint32_t tid)
{
	const struct ffc_job *j = ctx;
	(void)tid;
	nn_wino_input(j->xp, j->nl + j->ng, c, c + 1, j->th, j->tw, j->ty0, j->ty1, j->v);
}

/* Phase 2, 2 x NN_WINO_P tasks of equal work: point k's GEMM for the fused local conv
 * ([l2l | g2l], nl x (nl + ng)) or for l2g (ng x nl, reading the first nl
 * channels of the same transformed input). */
static void wino_gemm_task(void *ctx, uint32_t task, uint32_t tid)
{
	const struct ffc_job *j = ctx;
	uint32_t nl = j->nl, ng = j->ng, cl = nl + ng, k = task / 2;
	uint32_t nt = (j->ty1 - j->ty0) * j->tw;
	size_t kv = (size_t)cl * nt;
	(void)tid;
	if (task % 2 == 0)
		nn_gemm(nl, nt, cl, j->f->uloc + (size_t)k * nl * cl, cl, j->v + k * kv, nt, 0.0f,
			j->m + k * kv, nt);
	else
		nn_gemm(ng, nt, nl, j->f->ul2g + (size_t)k * ng * nl, nl, j->v + k * kv, nt, 0.0f,
			j->m + k * kv + (size_t)nl * nt, nt);
}

/* Phase 3, one task per output channel: output transform, with bn_l + ReLU
 * for local channels and nothing for global ones (the spectral branch adds). */
static void wino_out_task(void *ctx, uint32_t co, uint32_t tid)
{
	const struct ffc_job *j = ctx;
	uint32_t nt = (j->ty1 - j->ty0) * j->tw;
	size_t kv = (size_t)(j->nl + j->ng) * nt;
	int local = co < j->nl;
	(void)tid;
	nn_wino_output(j->m + (size_t)co * nt, 1, kv, nt, j->tw, j->ty0, j->ty1,
		       j->y + (size_t)co * j->h * j->w, j->h, j->w,
		       local ? j->f->shift_l + co : NULL, local);
}

struct pad_job {
	const struct nn_tensor *x;
	float *xp;
	uint32_t th, tw;
};

static void pad_task(void *ctx, uint32_t c, uint32_t tid)
{
	const struct pad_job *j = ctx;
	struct nn_tensor one = { j->x->data + (size_t)c * j->x->h * j->x->w, 1, j->x->h, j->x->w };
	(void)tid;
	nn_wino_pad(&one, j->xp + (size_t)c * nn_wino_padded(j->th) * nn_wino_padded(j->tw), j->th,
		    j->tw);
}

/* One FFC_BN_ACT of a residual block: x (nl + ng, h, w) -> y. */
static void ffc_forward(const struct lama_net *net, const struct lama_ffc *f,
			const struct nn_fft_plan *plan, float *x, float *y, uint32_t h,
			uint32_t w, struct bufs *bf)
{
	const struct lama_config *c = &net->cfg;
	uint32_t nl = c->nl, ng = c->ng, cs = c->cs;
	uint32_t th = (h + NN_WINO_M - 1) / NN_WINO_M, tw = (w + NN_WINO_M - 1) / NN_WINO_M;
	size_t hw = (size_t)h * w;
	struct nn_tensor xt = { x, nl + ng, h, w };
	struct pad_job pj = { &xt, bf->xp, th, tw };
	struct ffc_job j = { f, bf->xp, bf->wv, bf->wm, y, nl, ng, h, w, th, tw, 0, 0 };
	uint32_t rows = nn_wino_chunk_rows(nl + ng, tw, th);
	float *yg = y + nl * hw;
	tp_pool_run(bf->ex.pool, nl + ng, pad_task, &pj);
	for (j.ty0 = 0; j.ty0 < th; j.ty0 = j.ty1) {
		j.ty1 = j.ty0 + rows < th ? j.ty0 + rows : th;
		tp_pool_run(bf->ex.pool, nl + ng, wino_in_task, &j);
		tp_pool_run(bf->ex.pool, 2 * NN_WINO_P, wino_gemm_task, &j);
		tp_pool_run(bf->ex.pool, nl + ng, wino_out_task, &j);
	}
	/* SpectralTransform: a = relu(bn(conv1(xg))); out = conv2(a + fu(a)),
	 * added to the l2g result before the folded bn_g and ReLU. */
	nn_gemm_par(&bf->ex, cs, (uint32_t)hw, ng, f->w1, ng, x + nl * hw, (uint32_t)hw, 0.0f,
		    bf->sa, (uint32_t)hw, f->shift1, 1);
	nn_fourier_unit(plan, &f->fu, bf->sa, bf->sf, h, w, bf->fus, &bf->ex);
	nn_gemm_par(&bf->ex, ng, (uint32_t)hw, cs, f->w2, cs, bf->sf, (uint32_t)hw, 1.0f, yg,
		    (uint32_t)hw, f->shift_g, 1);
}

tp_status lama_net_forward(const struct lama_net *net, const struct nn_tensor *in,
			   struct nn_tensor *out, struct nn_arena *arena, struct tp_pool *pool,
			   double *stage_ms)
{
	const struct lama_config *c = &net->cfg;
	uint32_t h = in->h, w = in->w, bh = h / 8, bw = w / 8;
	uint32_t threads = tp_pool_size(pool);
	const struct nn_fft_plan *plan;
	struct bufs bf;
	double t0 = stage_ms ? tp_now_ms() : 0, t1;
	tp_status st;
	if (in->c != c->in_ch || out->c != 3 || out->h != h || out->w != w)
		return tp_err(TP_EUSAGE, "LaMa forward: bad tensor shapes");
	if ((st = lama_net_prepare(net, h, w)))
		return st;
	/* Cached by prepare: this is a lookup under the mutex, no planning. */
	if ((st = nn_fft_plan_get(bh, bw, &plan)))
		return st;
	if (lama_net_scratch(net, h, w, threads) > arena->cap)
		return tp_err(TP_EINTERNAL, "LaMa forward: arena too small for %ux%u", w, h);
	arena->used = 0;
	plan_bufs(net, h, w, threads, arena, &bf);
	bf.ex.pool = pool;
#define LAP(stage) do { if (stage_ms) { t1 = tp_now_ms(); stage_ms[stage] += t1 - t0; t0 = t1; } } while (0)
	{
		struct nn_tensor a = { bf.a, c->ngf, h, w };
		struct nn_tensor b = { bf.b, 2 * c->ngf, h / 2, w / 2 };
		struct nn_tensor x = { bf.x, c->nl + c->ng, bh, bw };
		size_t xn = nn_tensor_len(&x);
		nn_conv2d(&net->init, in, &a, &bf.ex);
		nn_conv2d(&net->down[0], &a, &b, &bf.ex);
		a = (struct nn_tensor){ bf.a, 4 * c->ngf, h / 4, w / 4 };
		nn_conv2d(&net->down[1], &b, &a, &bf.ex);
		nn_conv2d(&net->down[2], &a, &x, &bf.ex);
		LAP(LAMA_ST_ENCODE);
		for (uint32_t i = 0; i < c->n_blocks; i++) {
			if (tp_cancelled())
				return tp_err(TP_ECANCELED, "lama: stopped inside a tile");
			ffc_forward(net, &net->ffc[2 * i], plan, bf.x, bf.y1, bh, bw, &bf);
			ffc_forward(net, &net->ffc[2 * i + 1], plan, bf.y1, bf.y2, bh, bw, &bf);
			nn_add(bf.x, bf.y2, xn);
		}
		LAP(LAMA_ST_BLOCKS);
		a = (struct nn_tensor){ bf.a, c->up[0], h / 4, w / 4 };
		nn_convt2d(&net->up[0], &x, &a, &bf.ex);
		b = (struct nn_tensor){ bf.b, c->up[1], h / 2, w / 2 };
		nn_convt2d(&net->up[1], &a, &b, &bf.ex);
		a = (struct nn_tensor){ bf.a, c->up[2], h, w };
		nn_convt2d(&net->up[2], &b, &a, &bf.ex);
		LAP(LAMA_ST_DECODE);
		nn_conv2d(&net->final, &a, out, &bf.ex);
		nn_sigmoid(out->data, nn_tensor_len(out));
		LAP(LAMA_ST_FINAL);
	}
#undef LAP
	return TP_OK;
}
