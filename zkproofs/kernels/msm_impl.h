/*
 * Multi-scalar multiplication sum_i k_i P_i over affine bases (the Groth16 prover's
 * A, B, C and H sums, Groth 2016 section 3.2), a template included by curve_impl.h once
 * per group with its group law in scope.
 *
 * Method: Pippenger's bucket method (Bernstein, Doumen, Lange, Oosterwijk, "Faster batch
 * forgery identification", INDOCRYPT 2012, section 4) with two refinements that the
 * fastest Groth16 provers use (gnark-crypto's MSM; Aztec's and zprize 2022's "batch
 * affine" buckets):
 *   - signed c-bit digits (msm_digits in msm.h): each digit is in [-2^(c-1), 2^(c-1)],
 *     a negative one adds -P (negate y), so 2^(c-1) buckets per window instead of 2^c - 1;
 *   - affine buckets, added into in batches: the additions B_d += P of up to
 *     MSM_BATCH distinct buckets share one field inversion (Montgomery's trick), so an
 *     addition costs about 6 products instead of the 11 of a mixed Jacobian addition.
 *     A point whose bucket already waits in the current batch goes into that bucket's
 *     Jacobian overflow instead (a mixed addition, no inversion): repeated digits, as
 *     the bits of a range check give, cost no more than in plain Pippenger.
 *     lambda = (y2 - y1) / (x2 - x1), or 3 x1^2 / (2 y1) when P = B_d (doubling);
 *     P = -B_d empties the bucket; x3 = lambda^2 - x1 - x2, y3 = lambda (x1 - x3) - y1.
 * Per window the buckets' weighted sum sum_d d B_d is the running-sum pass from the
 * highest bucket (a mixed and a full Jacobian addition per bucket, one more for a used
 * overflow), and
 * acc = 2^c acc + that sum, windows from the top. Cost for n bases:
 * W = floor(255 / c) + 1 windows of (n batched affine additions + 2^(c-1) (madd + add))
 * plus 255 doublings: O(n 255 / c) with c about log2(n) - 3 (msm_window), that is
 * O(n / log n) group operations. Zero digits cost nothing but a test.
 *
 * Not constant-time: which buckets are touched, zero digits and the special cases of
 * the addition formulas depend on the scalars. The prover runs it on its own witness on
 * its own machine (fr.c's opening comment says where that is acceptable).
 */

#ifndef MSM_BATCH
#define MSM_BATCH 1024 /* most additions sharing one inversion (msm.h: at most half the buckets) */
#endif

typedef struct {
    CURVE(aff) *bucket;      /* nb affine buckets, index |d| - 1 */
    unsigned char *full;     /* full[b]: bucket b holds a point */
    CURVE(jac) *over;        /* nb Jacobian overflows, used when over_used[b] */
    unsigned char *over_used;
    uint32_t *stamp;         /* stamp[b] == batch_id: bucket b has an addition pending */
    uint32_t batch_id;
    size_t cap, count;       /* the batch: at most cap pending additions */
    uint32_t *target;        /* its buckets */
    CURVE(aff) *add;         /* the points added (negated for a negative digit) */
    FE *den, *prefix;        /* denominators, prefix products */
} CURVE(msm_state);

/* Apply the pending additions: one inversion for all of them (Montgomery's trick, 3
   products per addition), then lambda, x3 and y3 (3 more). */
static void CURVE(msm_flush)(CURVE(msm_state) *st) {
    if (st->count == 0) return;
    FE acc = FE_ONE, inv, dinv, lambda, t;
    for (size_t k = 0; k < st->count; k++) {
        st->prefix[k] = acc;
        FE_MUL(&acc, &acc, &st->den[k]);
    }
    FE_INV(&inv, &acc);
    for (size_t k = st->count; k-- > 0;) {
        FE_MUL(&dinv, &inv, &st->prefix[k]);   /* 1 / den[k] */
        FE_MUL(&inv, &inv, &st->den[k]);
        CURVE(aff) *b = &st->bucket[st->target[k]];
        const CURVE(aff) *p = &st->add[k];
        if (FE_EQ(&b->x, &p->x)) {             /* doubling: lambda = 3 x^2 / (2 y) */
            FE_SQR(&t, &b->x);
            FE_ADD(&lambda, &t, &t);
            FE_ADD(&lambda, &lambda, &t);
        } else {
            FE_SUB(&lambda, &p->y, &b->y);
        }
        FE_MUL(&lambda, &lambda, &dinv);
        FE_SQR(&t, &lambda);
        FE_SUB(&t, &t, &b->x);
        FE_SUB(&t, &t, &p->x);                 /* x3 */
        FE x1 = b->x;
        b->x = t;
        FE_SUB(&t, &x1, &t);
        FE_MUL(&t, &lambda, &t);
        FE_SUB(&b->y, &t, &b->y);              /* y3 = lambda (x1 - x3) - y1 */
    }
    st->count = 0;
    st->batch_id++;
}

/* Bucket |digit| += sign(digit) base: now if the bucket is empty or the sum is the point at
   infinity, into its overflow if the bucket already waits in this batch, else into the
   batch. */
static void CURVE(msm_put)(CURVE(msm_state) *st, const CURVE(aff) *base, int32_t digit) {
    uint32_t b = (uint32_t)(digit < 0 ? -digit : digit) - 1;
    CURVE(aff) p = *base;
    if (digit < 0) {
        FE zero;
        memset(&zero, 0, sizeof zero);
        FE_SUB(&p.y, &zero, &p.y);
    }
    if (!st->full[b]) {
        st->bucket[b] = p;
        st->full[b] = 1;
        return;
    }
    if (st->stamp[b] == st->batch_id) {
        if (!st->over_used[b]) {
            memset(&st->over[b], 0, sizeof st->over[b]);
            st->over_used[b] = 1;
        }
        CURVE(madd)(&st->over[b], &st->over[b], &p);
        return;
    }
    CURVE(aff) *cur = &st->bucket[b];
    FE den;
    if (FE_EQ(&cur->x, &p.x)) {
        if (!FE_EQ(&cur->y, &p.y) || FE_IS_ZERO(&p.y)) {  /* B = -P (or 2P = 0): empty */
            st->full[b] = 0;
            return;
        }
        FE_ADD(&den, &p.y, &p.y);              /* doubling */
    } else {
        FE_SUB(&den, &p.x, &cur->x);
    }
    st->stamp[b] = st->batch_id;
    st->target[st->count] = b;
    st->add[st->count] = p;
    st->den[st->count] = den;
    if (++st->count == st->cap) CURVE(msm_flush)(st);
}

/* out = sum_i k_i bases[i] for n bases, none the point at infinity (the caller zeroes
   such a base's digits), given the signed digits of msm_digits (window-major: digit of
   scalar i in window w at digits[w n + i]), c-bit windows, `windows` of them, batches of
   at most cap additions. 0 on success, -1 out of memory. Touches no Python object: runs
   without the GIL. */
static int CURVE(msm)(CURVE(jac) *out, const CURVE(aff) *bases, const int32_t *digits, size_t n, int c, int windows, size_t cap) {
    const size_t nb = (size_t)1 << (c - 1);
    CURVE(msm_state) st;
    memset(&st, 0, sizeof st);
    st.cap = cap;
    st.bucket = PyMem_RawMalloc(sizeof(CURVE(aff)) * nb);
    st.full = PyMem_RawMalloc(nb);
    st.stamp = PyMem_RawMalloc(sizeof(uint32_t) * nb);
    st.over = PyMem_RawMalloc(sizeof(CURVE(jac)) * nb);
    st.over_used = PyMem_RawMalloc(nb);
    st.target = PyMem_RawMalloc(sizeof(uint32_t) * st.cap);
    st.add = PyMem_RawMalloc(sizeof(CURVE(aff)) * st.cap);
    st.den = PyMem_RawMalloc(sizeof(FE) * st.cap);
    st.prefix = PyMem_RawMalloc(sizeof(FE) * st.cap);
    int rc = -1;
    if (!st.bucket || !st.full || !st.stamp || !st.over || !st.over_used || !st.target || !st.add || !st.den || !st.prefix) goto done;
    CURVE(jac) acc, running, sum;
    memset(&acc, 0, sizeof acc);
    for (int w = windows - 1; w >= 0; w--) {
        for (int k = 0; k < c; k++) CURVE(dbl)(&acc, &acc);
        const int32_t *dw = digits + (size_t)w * n;
        memset(st.full, 0, nb);
        memset(st.over_used, 0, nb);
        memset(st.stamp, 0, sizeof(uint32_t) * nb);
        st.batch_id = 1;
        for (size_t i = 0; i < n; i++)
            if (dw[i]) CURVE(msm_put)(&st, &bases[i], dw[i]);
        CURVE(msm_flush)(&st);
        memset(&running, 0, sizeof running);
        memset(&sum, 0, sizeof sum);
        for (size_t b = nb; b-- > 0;) {  /* sum = sum_d d B_d = sum_d (B_nb + ... + B_d) */
            if (st.full[b]) CURVE(madd)(&running, &running, &st.bucket[b]);
            if (st.over_used[b]) CURVE(add)(&running, &running, &st.over[b]);
            CURVE(add)(&sum, &sum, &running);
        }
        CURVE(add)(&acc, &acc, &sum);
    }
    *out = acc;
    rc = 0;
done:
    PyMem_RawFree(st.bucket);
    PyMem_RawFree(st.full);
    PyMem_RawFree(st.stamp);
    PyMem_RawFree(st.over);
    PyMem_RawFree(st.over_used);
    PyMem_RawFree(st.target);
    PyMem_RawFree(st.add);
    PyMem_RawFree(st.den);
    PyMem_RawFree(st.prefix);
    return rc;
}
