/*
 * The group law of one BLS12-381 group and the algorithms built on it, instantiated twice
 * by curves.h: G1 (coordinates in F_q) and G2 (coordinates in F_q2). Before including,
 * define FE (the coordinate type), FE_ADD, FE_SUB, FE_MUL, FE_SQR, FE_INV, FE_IS_ZERO,
 * FE_EQ, FE_ONE (a value) and CURVE(name) (the name prefix); this file includes the fixed-base
 * (fixed_base_impl.h) and multi-scalar (msm_impl.h) algorithms and then undefines them.
 *
 * Points in Jacobian coordinates (X, Y, Z) ~ (X / Z^2, Y / Z^3), Z = 0 the point at
 * infinity; tables, bases and outputs in affine coordinates. Formulas for
 * y^2 = x^3 + b (a = 0) from the Explicit-Formulas Database (Bernstein, Lange,
 * hyperelliptic.org/EFD, "g1p/auto-shortw-jacobian-0"): doubling dbl-2009-l
 * (2M + 5S), mixed addition madd-2007-bl (7M + 4S), addition add-2007-bl (11M + 5S).
 * None uses b.
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

/* o = p + q (add-2007-bl), including either at infinity, p = q (doubling) and p = -q
   (infinity); o may alias p or q. */
static void CURVE(add)(CURVE(jac) *o, const CURVE(jac) *p, const CURVE(jac) *q) {
    FE z1z1, z2z2, u1, u2, s1, s2, h, i, j, r, v, t;
    if (FE_IS_ZERO(&q->z)) { if (o != p) *o = *p; return; }
    if (FE_IS_ZERO(&p->z)) { *o = *q; return; }
    FE_SQR(&z1z1, &p->z);
    FE_SQR(&z2z2, &q->z);
    FE_MUL(&u1, &p->x, &z2z2);
    FE_MUL(&u2, &q->x, &z1z1);
    FE_MUL(&s1, &p->y, &q->z);
    FE_MUL(&s1, &s1, &z2z2);
    FE_MUL(&s2, &q->y, &p->z);
    FE_MUL(&s2, &s2, &z1z1);
    FE_SUB(&h, &u2, &u1);
    FE_SUB(&r, &s2, &s1);
    if (FE_IS_ZERO(&h)) {
        if (FE_IS_ZERO(&r)) { CURVE(dbl)(o, p); return; }
        memset(o, 0, sizeof *o);  /* p = -q */
        return;
    }
    FE_ADD(&r, &r, &r);           /* r = 2 (S2 - S1) */
    FE_ADD(&i, &h, &h);
    FE_SQR(&i, &i);               /* I = (2H)^2 */
    FE_MUL(&j, &h, &i);           /* J = H I */
    FE_MUL(&v, &u1, &i);          /* V = U1 I */
    FE_ADD(&t, &p->z, &q->z);     /* Z3 = ((Z1 + Z2)^2 - Z1Z1 - Z2Z2) H */
    FE_SQR(&t, &t);
    FE_SUB(&t, &t, &z1z1);
    FE_SUB(&t, &t, &z2z2);
    FE_MUL(&o->z, &t, &h);
    FE_MUL(&s1, &s1, &j);         /* 2 S1 J */
    FE_ADD(&s1, &s1, &s1);
    FE_SQR(&o->x, &r);
    FE_SUB(&o->x, &o->x, &j);
    FE_SUB(&o->x, &o->x, &v);
    FE_SUB(&o->x, &o->x, &v);     /* X3 = r^2 - J - 2V */
    FE_SUB(&v, &v, &o->x);
    FE_MUL(&v, &r, &v);
    FE_SUB(&o->y, &v, &s1);       /* Y3 = r (V - X3) - 2 S1 J */
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

#include "fixed_base_impl.h"
#include "msm_impl.h"

#undef FE
#undef FE_ADD
#undef FE_SUB
#undef FE_MUL
#undef FE_SQR
#undef FE_INV
#undef FE_IS_ZERO
#undef FE_EQ
#undef FE_ONE
#undef CURVE
