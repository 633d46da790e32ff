/*
 * The Poseidon hot path of fr.c, compiled once per instruction set: included by fr.c
 * with FR_ADX 0 (portable C, `unsigned __int128` products) and, on x86-64 with GCC or
 * Clang, again with FR_ADX 1 (the same algorithms with the BMI2 `mulx` and ADX carry
 * intrinsics, every function compiled with __attribute__((target("bmi2,adx")))). fr.c
 * picks one at import from CPUID (leaf 7: EBX bit 8 BMI2, bit 19 ADX), so no -march
 * flag is needed and the extension still runs on an x86-64 without them; tests run
 * both (set_isa). Both compute bit-for-bit the same function.
 *
 * Names: ISA(x) is x_generic or x_adx. Representation and bounds as in fr.c: elements
 * are 4 little-endian 64-bit limbs in Montgomery form, fully reduced (< r).
 *
 * Lazy reduction. A dot product sum_i m_i s_i (an MDS row, or a sparse partial-round
 * row) is accumulated as plain 512-bit products in a 9-limb wide_t and reduced once
 * (Montgomery REDC of the sum) instead of one Montgomery reduction per product.
 * Bounds: for m_i, s_i < r, each product is < r^2 < 0.21 * 2^510, so a sum of up to
 * MAX_T = 17 products is < 3.6 * 2^510 < 2^512 (8 limbs; the 9th only takes the REDC
 * additions). REDC adds sum_j q_j r 2^(64 j) < r 2^256 and divides by 2^256: the
 * result is < sum / 2^256 + r < (17 * 0.227 + 1) r < 4.9 r < 2^257, held in limbs 4..8,
 * and at most four conditional subtractions make it < r (two for t <= 8).
 */

/* mul and dot stay out of line: inlining them into the permutation's unrolled rounds
   made GCC 12 spill registers and the permutation 1.3-1.6x slower (measured). */
#define NOINLINE __attribute__((noinline))

#if FR_ADX
#define ISA(name) name##_adx
#define FR_TARGET __attribute__((target("bmi2,adx")))
#else
#define ISA(name) name##_generic
#define FR_TARGET
#endif

#if FR_ADX
static const uint64_t PMOD[4] = {P0, P1, P2, P3};
#define MA_DIV_SHIFT \
    "movabsq $0xfffffffeffffffff, %%rdx\n\t" \
    "imulq %[t0], %%rdx\n\t" \
    "xorq %%rax, %%rax\n\t" \
    "mulxq 0(%[p]), %%rax, %[T]\n\t" \
    "adcxq %[t0], %%rax\n\t" \
    "movq %[T], %[t0]\n\t" \
    "mulxq 8(%[p]), %%rax, %[T]\n\t" \
    "adcxq %[t1], %[t0]\n\t" \
    "adoxq %%rax, %[t0]\n\t" \
    "movq %[T], %[t1]\n\t" \
    "mulxq 16(%[p]), %%rax, %[T]\n\t" \
    "adcxq %[t2], %[t1]\n\t" \
    "adoxq %%rax, %[t1]\n\t" \
    "movq %[T], %[t2]\n\t" \
    "mulxq 24(%[p]), %%rax, %[T]\n\t" \
    "adcxq %[t3], %[t2]\n\t" \
    "adoxq %%rax, %[t2]\n\t" \
    "movq %[T], %[t3]\n\t" \
    "movq $0, %%rax\n\t" \
    "adcxq %[A], %[t3]\n\t" \
    "adoxq %%rax, %[t3]\n\t"
#define MA_WORD_N(off) \
    "movq " #off "(%[b]), %%rdx\n\t" \
    "xorq %%rax, %%rax\n\t" \
    "mulxq 0(%[a]), %%rax, %[A]\n\t" \
    "adoxq %%rax, %[t0]\n\t" \
    "mulxq 8(%[a]), %%rax, %[T]\n\t" \
    "adcxq %[A], %[t1]\n\t" \
    "adoxq %%rax, %[t1]\n\t" \
    "mulxq 16(%[a]), %%rax, %[A]\n\t" \
    "adcxq %[T], %[t2]\n\t" \
    "adoxq %%rax, %[t2]\n\t" \
    "mulxq 24(%[a]), %%rax, %[T]\n\t" \
    "adcxq %[A], %[t3]\n\t" \
    "adoxq %%rax, %[t3]\n\t" \
    "movq $0, %%rax\n\t" \
    "adcxq %%rax, %[T]\n\t" \
    "adoxq %%rax, %[T]\n\t" \
    "movq %[T], %[A]\n\t"
#endif

/* o = a b / 2^256 mod r: CIOS with gnark's no-carry shortcut (see fr_mul in fr.c). */
static FR_TARGET inline void ISA(mul)(fr *o, const fr *a, const fr *b) {
#if FR_ADX
    uint64_t t0, t1, t2, t3, A, T;
    __asm__(
        "movq 0(%[b]), %%rdx\n\t"
        "xorq %%rax, %%rax\n\t"
        "mulxq 0(%[a]), %[t0], %[t1]\n\t"
        "mulxq 8(%[a]), %%rax, %[t2]\n\t"
        "adoxq %%rax, %[t1]\n\t"
        "mulxq 16(%[a]), %%rax, %[t3]\n\t"
        "adoxq %%rax, %[t2]\n\t"
        "mulxq 24(%[a]), %%rax, %[A]\n\t"
        "adoxq %%rax, %[t3]\n\t"
        "movq $0, %%rax\n\t"
        "adoxq %%rax, %[A]\n\t"
        MA_DIV_SHIFT
        MA_WORD_N(8) MA_DIV_SHIFT
        MA_WORD_N(16) MA_DIV_SHIFT
        MA_WORD_N(24) MA_DIV_SHIFT
        : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [A] "=&r"(A), [T] "=&r"(T)
        : [a] "r"(a->l), [b] "r"(b->l), [p] "r"(PMOD), "m"(*(const uint64_t(*)[4])a->l), "m"(*(const uint64_t(*)[4])b->l)
        : "rax", "rdx", "cc");
    uint64_t t[4] = {t0, t1, t2, t3};
    if (geq_p(t)) sub_p(t);
    memcpy(o->l, t, sizeof t);
#else
    fr_mul(o, a, b);
#endif
}

/* z += a b (the full 512-bit product); a, b < 2^256, z stays below 2^576. */
static FR_TARGET inline void ISA(wide_mul_add)(wide_t *z, const fr *a, const fr *b) {
    uint64_t p[8];
#if FR_ADX
    unsigned char c;
    for (int i = 0; i < 8; i++) p[i] = 0;
    for (int i = 0; i < 4; i++) {
        unsigned long long l0, l1, l2, l3, h0, h1, h2, h3, ai = a->l[i], s0, s1, s2, s3;
        l0 = _mulx_u64(ai, b->l[0], &h0); l1 = _mulx_u64(ai, b->l[1], &h1);
        l2 = _mulx_u64(ai, b->l[2], &h2); l3 = _mulx_u64(ai, b->l[3], &h3);
        c = _addcarry_u64(0, l1, h0, &l1); c = _addcarry_u64(c, l2, h1, &l2);
        c = _addcarry_u64(c, l3, h2, &l3); h3 += c;
        c = _addcarry_u64(0, p[i], l0, &s0); c = _addcarry_u64(c, p[i + 1], l1, &s1);
        c = _addcarry_u64(c, p[i + 2], l2, &s2); c = _addcarry_u64(c, p[i + 3], l3, &s3);
        p[i] = s0; p[i + 1] = s1; p[i + 2] = s2; p[i + 3] = s3; p[i + 4] = h3 + c;
    }
    c = 0;
    for (int i = 0; i < 8; i++) {
        unsigned long long s;
        c = _addcarry_u64(c, z->l[i], p[i], &s);
        z->l[i] = s;
    }
    z->l[8] += c;
#else
    u128 x;
    uint64_t c;
    for (int i = 0; i < 8; i++) p[i] = 0;
    for (int i = 0; i < 4; i++) {
        c = 0;
        for (int j = 0; j < 4; j++) {
            x = (u128)a->l[i] * b->l[j] + p[i + j] + c;
            p[i + j] = (uint64_t)x;
            c = (uint64_t)(x >> 64);
        }
        p[i + 4] = c;
    }
    x = 0;
    for (int i = 0; i < 8; i++) {
        x += (u128)z->l[i] + p[i];
        z->l[i] = (uint64_t)x;
        x >>= 64;
    }
    z->l[8] += (uint64_t)x;
#endif
}

/* o = z / 2^256 mod r, fully reduced (Montgomery REDC of a wide sum; bounds above). */
static FR_TARGET inline void ISA(redc)(fr *o, wide_t *z) {
    for (int i = 0; i < 4; i++) {
        uint64_t m = z->l[i] * INV, c;
        u128 x;
        x = (u128)m * P0 + z->l[i];                     c = (uint64_t)(x >> 64);
        x = (u128)m * P1 + z->l[i + 1] + c; z->l[i + 1] = (uint64_t)x; c = (uint64_t)(x >> 64);
        x = (u128)m * P2 + z->l[i + 2] + c; z->l[i + 2] = (uint64_t)x; c = (uint64_t)(x >> 64);
        x = (u128)m * P3 + z->l[i + 3] + c; z->l[i + 3] = (uint64_t)x; c = (uint64_t)(x >> 64);
        for (int k = i + 4; k < 9 && c; k++) {
            x = (u128)z->l[k] + c;
            z->l[k] = (uint64_t)x;
            c = (uint64_t)(x >> 64);
        }
    }
    uint64_t t[4] = {z->l[4], z->l[5], z->l[6], z->l[7]}, hi = z->l[8];
    while (hi || geq_p(t)) {
        u128 d;
        uint64_t borrow;
        d = (u128)t[0] - P0;          t[0] = (uint64_t)d; borrow = (uint64_t)(d >> 64) & 1;
        d = (u128)t[1] - P1 - borrow; t[1] = (uint64_t)d; borrow = (uint64_t)(d >> 64) & 1;
        d = (u128)t[2] - P2 - borrow; t[2] = (uint64_t)d; borrow = (uint64_t)(d >> 64) & 1;
        d = (u128)t[3] - P3 - borrow; t[3] = (uint64_t)d; borrow = (uint64_t)(d >> 64) & 1;
        hi -= borrow;
    }
    memcpy(o->l, t, sizeof t);
}

/* o = sum_{i < n} m_i s_i (Montgomery form in and out), one reduction; n <= MAX_T. */
static FR_TARGET NOINLINE void ISA(dot)(fr *o, const fr *m, const fr *s, int n) {
    wide_t z;
    memset(&z, 0, sizeof z);
    for (int i = 0; i < n; i++) ISA(wide_mul_add)(&z, &m[i], &s[i]);
    ISA(redc)(o, &z);
}

static FR_TARGET inline void ISA(pow5)(fr *x) {
    fr sq, q;
    ISA(mul)(&sq, x, x);
    ISA(mul)(&q, &sq, &sq);
    ISA(mul)(x, &q, x);
}

/* s = m s for a t x t row-major matrix m: t lazy dot products. */
static FR_TARGET inline void ISA(mat_vec)(fr *s, const fr *m, int t) {
    fr out[MAX_T];
    for (int i = 0; i < t; i++) ISA(dot)(&out[i], &m[i * t], s, t);
    memcpy(s, out, sizeof(fr) * (size_t)t);
}

/* The permutation of one state (Montgomery form), in the order of reference.permute_one:
   R_F / 2 full rounds (the last with M_pre), R_P sparse partial rounds, R_F / 2 full
   rounds. Multiplications: R_F (3t + t^2) + R_P (2t + 2), of which R_F t + R_P are
   reductions of lazy dot products (each row of a matrix, y0 of a sparse round). */
static FR_TARGET void ISA(permute)(const poseidon_t *p, fr *s) {
    const int t = p->t;
    for (int i = 0; i < t; i++) fr_add(&s[i], &s[i], &p->first[i]);
    for (int r = 1; r < p->half; r++) {
        for (int i = 0; i < t; i++) ISA(pow5)(&s[i]);
        ISA(mat_vec)(s, p->mds, t);
        for (int i = 0; i < t; i++) fr_add(&s[i], &s[i], &p->first[r * t + i]);
    }
    for (int i = 0; i < t; i++) ISA(pow5)(&s[i]);
    ISA(mat_vec)(s, p->pre, t);
    const int stride = 2 * t - 1;
    for (int j = 0; j < p->rp; j++) {
        const fr *sp = &p->sparse[j * stride];  /* m00, v[t - 1] (a row against s), then w[t - 1] */
        const fr *w = sp + t;
        fr y0, prod;
        fr_add(&s[0], &s[0], &p->partial[j]);
        ISA(pow5)(&s[0]);
        ISA(dot)(&y0, sp, s, t);                /* m00 x0 + <v, s[1:]> */
        for (int i = 1; i < t; i++) {
            ISA(mul)(&prod, &w[i - 1], &s[0]);
            fr_add(&s[i], &s[i], &prod);
        }
        s[0] = y0;
    }
    for (int r = 0; r < p->half; r++) {
        for (int i = 0; i < t; i++) {
            fr_add(&s[i], &s[i], &p->last[r * t + i]);
            ISA(pow5)(&s[i]);
        }
        ISA(mat_vec)(s, p->mds, t);
    }
}

/* The permutation of count states of t elements, consecutive in buf. */
static FR_TARGET void ISA(permute_batch)(const poseidon_t *p, fr *buf, Py_ssize_t count) {
    for (Py_ssize_t k = 0; k < count; k++) ISA(permute)(p, &buf[k * p->t]);
}

/* The sponge (hash_many's convention) of count rows of length inputs each, in rows;
   digests to out. capacity: length * 2^64 in Montgomery form. */
static FR_TARGET void ISA(sponge_batch)(const poseidon_t *p, const fr *rows, Py_ssize_t length, Py_ssize_t count,
                                        const fr *capacity, fr *out) {
    const int t = p->t, rate = t - 1;
    for (Py_ssize_t k = 0; k < count; k++) {
        fr s[MAX_T];
        const fr *row = &rows[k * length];
        s[0] = *capacity;
        for (int i = 1; i < t; i++) s[i] = ZERO;
        for (Py_ssize_t at = 0; at < length; at += rate) {
            for (int i = 0; i < rate && at + i < length; i++) fr_add(&s[1 + i], &s[1 + i], &row[at + i]);
            ISA(permute)(p, s);
        }
        out[k] = s[1];
    }
}

#undef ISA
#undef FR_TARGET
#undef NOINLINE
