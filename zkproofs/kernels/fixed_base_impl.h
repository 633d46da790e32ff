/*
 * Fixed-base scalar multiplication on one BLS12-381 group, instantiated twice by
 * fixed_base.h: G1 (coordinates in F_q) and G2 (coordinates in F_q2). Before including,
 * define FE (the coordinate type), FE_ADD, FE_SUB, FE_MUL, FE_SQR, FE_INV, FE_IS_ZERO,
 * FE_ONE (a value) and CURVE(name) (the name prefix); this file undefines them at its end.
 *
 * Points in Jacobian coordinates (X, Y, Z) ~ (X / Z^2, Y / Z^3), Z = 0 the point at
 * infinity; the table and the outputs in affine coordinates. Formulas for
 * y^2 = x^3 + b (a = 0) from the Explicit-Formulas Database (Bernstein, Lange,
 * hyperelliptic.org/EFD, "g1p/auto-shortw-jacobian-0"): doubling dbl-2009-l
 * (2M + 5S), mixed addition madd-2007-bl (7M + 4S). Neither uses b.
 */

typedef struct { FE x, y; } CURVE(aff);
typedef struct { FE x, y, z; } CURVE(jac);

/* o = 2 p (dbl-2009-l); o may alias p. */
static void CURVE(dbl)(CURVE(jac) *o, const CURVE(jac) *p) {
    FE a, b, c, d, e, f, t;
    if (FE_IS_ZERO(&p->z)) { *o = *p; return; }
    FE_SQR(&a, &p->x);
    FE_SQR(&b, &p->y);
    FE_SQR(&c, &b);
    FE_ADD(&d, &p->x, &b);
    FE_SQR(&d, &d);
    FE_SUB(&d, &d, &a);
    FE_SUB(&d, &d, &c);
    FE_ADD(&d, &d, &d);          /* D = 2((X + B)^2 - A - C) */
    FE_ADD(&e, &a, &a);
    FE_ADD(&e, &e, &a);          /* E = 3A */
    FE_SQR(&f, &e);              /* F = E^2 */
    FE_MUL(&t, &p->y, &p->z);    /* Z3 = 2 Y Z, before Y is overwritten */
    FE_ADD(&o->z, &t, &t);
    FE_SUB(&o->x, &f, &d);
    FE_SUB(&o->x, &o->x, &d);    /* X3 = F - 2D */
    FE_ADD(&c, &c, &c);
    FE_ADD(&c, &c, &c);
    FE_ADD(&c, &c, &c);          /* 8C */
    FE_SUB(&t, &d, &o->x);
    FE_MUL(&t, &e, &t);
    FE_SUB(&o->y, &t, &c);       /* Y3 = E (D - X3) - 8C */
}

/* o = p + q with q affine (madd-2007-bl), including p = infinity, p = q (doubling)
   and p = -q (infinity); o may alias p. */
static void CURVE(madd)(CURVE(jac) *o, const CURVE(jac) *p, const CURVE(aff) *q) {
    FE z1z1, u2, s2, h, hh, i, j, r, v, t;
    if (FE_IS_ZERO(&p->z)) { o->x = q->x; o->y = q->y; o->z = FE_ONE; return; }
    FE_SQR(&z1z1, &p->z);
    FE_MUL(&u2, &q->x, &z1z1);
    FE_MUL(&s2, &q->y, &p->z);
    FE_MUL(&s2, &s2, &z1z1);
    FE_SUB(&h, &u2, &p->x);
    FE_SUB(&r, &s2, &p->y);
    if (FE_IS_ZERO(&h)) {
        if (FE_IS_ZERO(&r)) { CURVE(dbl)(o, p); return; }
        memset(o, 0, sizeof *o);  /* p = -q */
        return;
    }
    FE_ADD(&r, &r, &r);           /* r = 2 (S2 - Y1) */
    FE_SQR(&hh, &h);
    FE_ADD(&i, &hh, &hh);
    FE_ADD(&i, &i, &i);           /* I = 4 HH */
    FE_MUL(&j, &h, &i);           /* J = H I */
    FE_MUL(&v, &p->x, &i);        /* V = X1 I */
    FE_ADD(&t, &p->z, &h);        /* Z3 = (Z1 + H)^2 - Z1Z1 - HH */
    FE_SQR(&t, &t);
    FE_SUB(&t, &t, &z1z1);
    FE_SUB(&o->z, &t, &hh);
    FE_MUL(&t, &p->y, &j);        /* 2 Y1 J, before Y1 is overwritten */
    FE_ADD(&t, &t, &t);
    FE_SQR(&o->x, &r);
    FE_SUB(&o->x, &o->x, &j);
    FE_SUB(&o->x, &o->x, &v);
    FE_SUB(&o->x, &o->x, &v);     /* X3 = r^2 - J - 2V */
    FE_SUB(&v, &v, &o->x);
    FE_MUL(&v, &r, &v);
    FE_SUB(&o->y, &v, &t);        /* Y3 = r (V - X3) - 2 Y1 J */
}

/* Affine form of n Jacobian points with one inversion (Montgomery's trick: 3(n - 1)
   products for the inverses, then 3 per point); inf[k] = 1 for the point at infinity
   (its out[k] is zeroed). scratch holds n FE. */
static void CURVE(normalize)(CURVE(aff) *out, unsigned char *inf, const CURVE(jac) *in, size_t n, FE *scratch) {
    FE acc = FE_ONE, zi, zi2, t;
    for (size_t k = 0; k < n; k++) {
        scratch[k] = acc;
        if (!FE_IS_ZERO(&in[k].z)) FE_MUL(&acc, &acc, &in[k].z);
    }
    FE_INV(&acc, &acc);
    for (size_t k = n; k-- > 0;) {
        if (FE_IS_ZERO(&in[k].z)) {
            inf[k] = 1;
            memset(&out[k], 0, sizeof out[k]);
            continue;
        }
        inf[k] = 0;
        FE_MUL(&zi, &acc, &scratch[k]);       /* 1 / Z_k */
        FE_MUL(&acc, &acc, &in[k].z);
        FE_SQR(&zi2, &zi);
        FE_MUL(&out[k].x, &in[k].x, &zi2);
        FE_MUL(&t, &zi2, &zi);
        FE_MUL(&out[k].y, &in[k].y, &t);
    }
}

/* The table of w-bit windows: entry (i, d - 1) = d 2^(w i) B for d in 1..2^w - 1 and
   i in 0..rows - 1, affine. rows (2^w - 1) mixed additions, w doublings per row. */
typedef struct {
    int window, rows;
    size_t per_row;
    CURVE(aff) *points;
} CURVE(table);

/* 0 on success, -1 out of memory. base must not be the point at infinity. */
static int CURVE(table_build)(CURVE(table) *tb, const CURVE(aff) *base, int window, int rows) {
    size_t per_row = ((size_t)1 << window) - 1;
    tb->window = window;
    tb->rows = rows;
    tb->per_row = per_row;
    tb->points = PyMem_RawMalloc(sizeof(CURVE(aff)) * per_row * (size_t)rows);
    CURVE(jac) *row = PyMem_RawMalloc(sizeof(CURVE(jac)) * per_row);
    FE *scratch = PyMem_RawMalloc(sizeof(FE) * per_row);
    unsigned char *inf = PyMem_RawMalloc(per_row);
    if (!tb->points || !row || !scratch || !inf) {
        PyMem_RawFree(tb->points);
        PyMem_RawFree(row);
        PyMem_RawFree(scratch);
        PyMem_RawFree(inf);
        tb->points = NULL;
        return -1;
    }
    CURVE(aff) b = *base;
    for (int i = 0; i < rows; i++) {
        row[0].x = b.x;
        row[0].y = b.y;
        row[0].z = FE_ONE;
        for (size_t d = 1; d < per_row; d++) CURVE(madd)(&row[d], &row[d - 1], &b);
        CURVE(aff) *dst = tb->points + (size_t)i * per_row;
        CURVE(normalize)(dst, inf, row, per_row, scratch);
        /* next base: 2^w b = (2^w - 1) b + b */
        CURVE(jac) next;
        CURVE(madd)(&next, &row[per_row - 1], &b);
        CURVE(normalize)(&b, inf, &next, 1, scratch);
    }
    PyMem_RawFree(row);
    PyMem_RawFree(scratch);
    PyMem_RawFree(inf);
    return 0;
}

/* out (n affine points, LEM: x || y, each coordinate's Montgomery limbs as little-endian
   bytes; the point at infinity all zeros) = k B for each scalar k (4 little-endian limbs,
   standard form, k < 2^(w rows)). At most rows - 1 mixed additions per scalar (zero
   windows skipped: not constant-time), one inversion per block of FB_BLOCK points.
   0 on success, -1 out of memory. Runs without the GIL. */
#define FB_BLOCK 512
static int CURVE(table_mul)(const CURVE(table) *tb, const uint64_t *scalars, size_t n, unsigned char *out) {
    CURVE(jac) *acc = PyMem_RawMalloc(sizeof(CURVE(jac)) * FB_BLOCK);
    CURVE(aff) *aff = PyMem_RawMalloc(sizeof(CURVE(aff)) * FB_BLOCK);
    FE *scratch = PyMem_RawMalloc(sizeof(FE) * FB_BLOCK);
    unsigned char inf[FB_BLOCK];
    if (!acc || !aff || !scratch) {
        PyMem_RawFree(acc);
        PyMem_RawFree(aff);
        PyMem_RawFree(scratch);
        return -1;
    }
    const int w = tb->window;
    const uint64_t mask = ((uint64_t)1 << w) - 1;
    for (size_t start = 0; start < n; start += FB_BLOCK) {
        size_t count = n - start < FB_BLOCK ? n - start : FB_BLOCK;
        for (size_t k = 0; k < count; k++) {
            const uint64_t *s = scalars + 4 * (start + k);
            CURVE(jac) *a = &acc[k];
            memset(a, 0, sizeof *a);
            for (int i = 0; i < tb->rows; i++) {
                int bit = i * w, limb = bit >> 6, shift = bit & 63;
                uint64_t digit = s[limb] >> shift;
                if (shift + w > 64 && limb < 3) digit |= s[limb + 1] << (64 - shift);
                digit &= mask;
                if (digit) CURVE(madd)(a, a, &tb->points[(size_t)i * tb->per_row + (digit - 1)]);
            }
        }
        CURVE(normalize)(aff, inf, acc, count, scratch);
        for (size_t k = 0; k < count; k++) {
            unsigned char *dst = out + (start + k) * 2 * sizeof(FE);
            if (inf[k]) {
                memset(dst, 0, 2 * sizeof(FE));
                continue;
            }
            const uint64_t *limbs = (const uint64_t *)&aff[k];
            for (size_t j = 0; j < 2 * sizeof(FE) / 8; j++)
                for (int b = 0; b < 8; b++) dst[8 * j + b] = (unsigned char)(limbs[j] >> (8 * b));
        }
    }
    PyMem_RawFree(acc);
    PyMem_RawFree(aff);
    PyMem_RawFree(scratch);
    return 0;
}
#undef FB_BLOCK

#undef FE
#undef FE_ADD
#undef FE_SUB
#undef FE_MUL
#undef FE_SQR
#undef FE_INV
#undef FE_IS_ZERO
#undef FE_ONE
#undef CURVE
