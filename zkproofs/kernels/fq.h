/*
 * Base-field arithmetic for the curve kernels (curves.h: fixed-base multiplication and MSM),
 * included by curves.h.
 *
 * Representation. An element of F_q, q = 0x1a0111ea...ffffaaab (381 bits, the BLS12-381
 * base field), is held as 6 unsigned 64-bit limbs, least significant first, in
 * Montgomery form a R mod q with R = 2^384, fully reduced (< q). This is exactly the
 * layout of an Fq coordinate in snarkjs' .zkey and .ptau sections ("LEM": 48
 * little-endian bytes of a 2^384 mod q), so points leave the kernels already encoded.
 * F_q2 = F_q[u] / (u^2 + 1) is a pair (c0, c1) = c0 + c1 u.
 *
 * Reduction. Montgomery multiplication in the CIOS form (Koc, Acar, Kaliski 1996,
 * section 4) with gnark-crypto's "no-carry" shortcut, as fr_mul in fr.c: q's top limb
 * 0x1a01... is below 2^63 - 1, so the running value fits 6 limbs and stays below 2q
 * before the final conditional subtraction. Two implementations of the product: portable
 * C (`unsigned __int128`) and, on x86-64 CPUs with BMI2 and ADX, inline assembly with two
 * carry chains, chosen with fr.c's Poseidon code path (set_isa("generic") forces the
 * portable one; the tests run both). Addition and subtraction take operands < q
 * and return results < q (2q < 2^384: a sum never carries out), with adc/sbb carry
 * chains and a masked, branch-free correction (a data-dependent branch there is
 * mispredicted half the time: 1.25x on a whole MSM).
 *
 * Not constant-time: Fermat inversion's square-and-multiply and the curve formulas'
 * special cases branch on data (see fr.c's opening comment for where that is
 * acceptable: here, the setup trapdoor on the machine of whoever runs setup, and the
 * prover's witness on the prover's machine).
 */

typedef struct { uint64_t l[6]; } fq;
typedef struct { fq c0, c1; } fq2;

static const uint64_t QL[6] = {0xb9feffffffffaaabULL, 0x1eabfffeb153ffffULL, 0x6730d2a0f6b0f624ULL,
                               0x64774b84f38512bfULL, 0x4b1ba7b6434bacd7ULL, 0x1a0111ea397fe69aULL};
#define Q_INV 0x89f3fffcfffcfffdULL /* -q^-1 mod 2^64 */
static const fq FQ_ONE = {{0x760900000002fffdULL, 0xebf4000bc40c0002ULL, 0x5f48985753c758baULL,
                           0x77ce585370525745ULL, 0x5c071a97a256ec6dULL, 0x15f65ec3fa80e493ULL}}; /* 2^384 mod q */
static inline int fq_geq_q(const uint64_t a[6]) {
    for (int i = 5; i >= 0; i--)
        if (a[i] != QL[i]) return a[i] > QL[i];
    return 1;
}

/* n F_q coordinates from LEM bytes (48 each): the index of the first that is not < q,
   or -1 when all are. Touches no Python object (callable without the GIL). */
static Py_ssize_t fq_load_lem(fq *out, const unsigned char *data, Py_ssize_t n) {
    for (Py_ssize_t k = 0; k < n; k++) {
        for (int i = 0; i < 6; i++) {
            uint64_t w = 0;
            for (int j = 7; j >= 0; j--) w = (w << 8) | data[48 * k + 8 * i + j];
            out[k].l[i] = w;
        }
        if (fq_geq_q(out[k].l)) return k;
    }
    return -1;
}

/* n F_q elements to LEM bytes (48 each). */
static void fq_store_lem(unsigned char *dst, const fq *in, size_t n) {
    for (size_t k = 0; k < n; k++)
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 8; j++) dst[48 * k + 8 * i + j] = (unsigned char)(in[k].l[i] >> (8 * j));
}

#if HAVE_ADX_PATH
/* Carry chains as adc / sbb (x86-64 intrinsics, no special instruction set; 1.25x on a
   whole MSM over unsigned __int128 arithmetic with GCC 12). GCC 7.1 and older swapped
   _subborrow_u64's operands (GCC PR 81294): fq_self_test, run when the module loads,
   refuses such a build rather than compute wrong field elements. */
static inline unsigned char fq_adc(unsigned char c, uint64_t a, uint64_t b, uint64_t *out) {
    unsigned long long r;
    c = _addcarry_u64(c, a, b, &r);
    *out = (uint64_t)r;
    return c;
}
static inline unsigned char fq_sbb(unsigned char c, uint64_t a, uint64_t b, uint64_t *out) {
    unsigned long long r;
    c = _subborrow_u64(c, a, b, &r);
    *out = (uint64_t)r;
    return c;
}
#else
static inline unsigned char fq_adc(unsigned char c, uint64_t a, uint64_t b, uint64_t *out) {
    u128 s = (u128)a + b + c;
    *out = (uint64_t)s;
    return (unsigned char)(s >> 64);
}
static inline unsigned char fq_sbb(unsigned char c, uint64_t a, uint64_t b, uint64_t *out) {
    u128 d = (u128)a - b - c;
    *out = (uint64_t)d;
    return (unsigned char)((d >> 64) & 1);
}
#endif
#define FQ_ADC(c, a, b, out) fq_adc((c), (a), (b), (out))
#define FQ_SBB(c, a, b, out) fq_sbb((c), (a), (b), (out))

/* o = t - q if t >= q, else t; t < 2q. Branch-free: the comparison's outcome is
   data-dependent and would be mispredicted half the time. */
static inline void fq_reduce_once(uint64_t o[6], const uint64_t t[6]) {
    uint64_t u[6];
    unsigned char borrow = 0;
    for (int i = 0; i < 6; i++) borrow = FQ_SBB(borrow, t[i], QL[i], &u[i]);
    const uint64_t keep = (uint64_t)0 - borrow; /* all ones when t < q */
    for (int i = 0; i < 6; i++) o[i] = (t[i] & keep) | (u[i] & ~keep);
}

static inline int fq_is_zero(const fq *a) {
    return (a->l[0] | a->l[1] | a->l[2] | a->l[3] | a->l[4] | a->l[5]) == 0;
}

/* o = a + b mod q; a, b < q (2q < 2^384: the sum never carries out). */
static inline void fq_add(fq *o, const fq *a, const fq *b) {
    uint64_t t[6];
    unsigned char carry = 0;
    for (int i = 0; i < 6; i++) carry = FQ_ADC(carry, a->l[i], b->l[i], &t[i]);
    fq_reduce_once(o->l, t);
}

/* o = a - b mod q; a, b < q. Branch-free (q added under a mask of the borrow). */
static inline void fq_sub(fq *o, const fq *a, const fq *b) {
    uint64_t t[6];
    unsigned char borrow = 0, carry = 0;
    for (int i = 0; i < 6; i++) borrow = FQ_SBB(borrow, a->l[i], b->l[i], &t[i]);
    const uint64_t mask = (uint64_t)0 - borrow;
    for (int i = 0; i < 6; i++) carry = FQ_ADC(carry, t[i], QL[i] & mask, &o->l[i]);
}

/* o = a b / 2^384 mod q (CIOS, no-carry); a, b < q; o may alias a or b. Portable C. */
static inline void fq_mul_generic(fq *o, const fq *a, const fq *b) {
    uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5 = 0, A, C, m;
    const uint64_t a0 = a->l[0], a1 = a->l[1], a2 = a->l[2], a3 = a->l[3], a4 = a->l[4], a5 = a->l[5];
    u128 x;
    for (int i = 0; i < 6; i++) {
        const uint64_t bi = b->l[i];
        x = (u128)a0 * bi + t0;         t0 = (uint64_t)x; A = (uint64_t)(x >> 64);
        m = t0 * Q_INV;
        x = (u128)m * QL[0] + t0;       C = (uint64_t)(x >> 64);
        x = (u128)a1 * bi + t1 + A;     t1 = (uint64_t)x; A = (uint64_t)(x >> 64);
        x = (u128)m * QL[1] + t1 + C;   t0 = (uint64_t)x; C = (uint64_t)(x >> 64);
        x = (u128)a2 * bi + t2 + A;     t2 = (uint64_t)x; A = (uint64_t)(x >> 64);
        x = (u128)m * QL[2] + t2 + C;   t1 = (uint64_t)x; C = (uint64_t)(x >> 64);
        x = (u128)a3 * bi + t3 + A;     t3 = (uint64_t)x; A = (uint64_t)(x >> 64);
        x = (u128)m * QL[3] + t3 + C;   t2 = (uint64_t)x; C = (uint64_t)(x >> 64);
        x = (u128)a4 * bi + t4 + A;     t4 = (uint64_t)x; A = (uint64_t)(x >> 64);
        x = (u128)m * QL[4] + t4 + C;   t3 = (uint64_t)x; C = (uint64_t)(x >> 64);
        x = (u128)a5 * bi + t5 + A;     t5 = (uint64_t)x; A = (uint64_t)(x >> 64);
        x = (u128)m * QL[5] + t5 + C;   t4 = (uint64_t)x; C = (uint64_t)(x >> 64);
        t5 = C + A;
    }
    const uint64_t t[6] = {t0, t1, t2, t3, t4, t5};
    fq_reduce_once(o->l, t);
}

#if HAVE_ADX_PATH
/* The same product with two carry chains (mulx, adcx, adox), as fr.c's Poseidon ADX path
   does for F_r (poseidon_isa.h): per word b_i, t += a b_i (FQ_MUL_WORD), then
   t = (t + m q) / 2^64 with m = t_0 (-q^-1) mod 2^64 (FQ_DIV_SHIFT), the previous top
   word A folded into t_5. Out of line: it cannot inline into code compiled without
   BMI2/ADX, and a call costs little against its ~50 instructions. */
#define FQ_DIV_SHIFT \
    "movabsq $0x89f3fffcfffcfffd, %%rdx\n\t" \
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
    "mulxq 32(%[p]), %%rax, %[T]\n\t" \
    "adcxq %[t4], %[t3]\n\t" \
    "adoxq %%rax, %[t3]\n\t" \
    "movq %[T], %[t4]\n\t" \
    "mulxq 40(%[p]), %%rax, %[T]\n\t" \
    "adcxq %[t5], %[t4]\n\t" \
    "adoxq %%rax, %[t4]\n\t" \
    "movq %[T], %[t5]\n\t" \
    "movq $0, %%rax\n\t" \
    "adcxq %[A], %[t5]\n\t" \
    "adoxq %%rax, %[t5]\n\t"
#define FQ_MUL_WORD(off) \
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
    "mulxq 32(%[a]), %%rax, %[A]\n\t" \
    "adcxq %[T], %[t4]\n\t" \
    "adoxq %%rax, %[t4]\n\t" \
    "mulxq 40(%[a]), %%rax, %[T]\n\t" \
    "adcxq %[A], %[t5]\n\t" \
    "adoxq %%rax, %[t5]\n\t" \
    "movq $0, %%rax\n\t" \
    "adcxq %%rax, %[T]\n\t" \
    "adoxq %%rax, %[T]\n\t" \
    "movq %[T], %[A]\n\t"

__attribute__((target("bmi2,adx"), noinline)) static void fq_mul_adx(fq *o, const fq *a, const fq *b) {
    uint64_t t0, t1, t2, t3, t4, t5, A, T;
    __asm__(
        "movq 0(%[b]), %%rdx\n\t"
        "xorq %%rax, %%rax\n\t"
        "mulxq 0(%[a]), %[t0], %[t1]\n\t"
        "mulxq 8(%[a]), %%rax, %[t2]\n\t"
        "adoxq %%rax, %[t1]\n\t"
        "mulxq 16(%[a]), %%rax, %[t3]\n\t"
        "adoxq %%rax, %[t2]\n\t"
        "mulxq 24(%[a]), %%rax, %[t4]\n\t"
        "adoxq %%rax, %[t3]\n\t"
        "mulxq 32(%[a]), %%rax, %[t5]\n\t"
        "adoxq %%rax, %[t4]\n\t"
        "mulxq 40(%[a]), %%rax, %[A]\n\t"
        "adoxq %%rax, %[t5]\n\t"
        "movq $0, %%rax\n\t"
        "adoxq %%rax, %[A]\n\t"
        FQ_DIV_SHIFT
        FQ_MUL_WORD(8) FQ_DIV_SHIFT
        FQ_MUL_WORD(16) FQ_DIV_SHIFT
        FQ_MUL_WORD(24) FQ_DIV_SHIFT
        FQ_MUL_WORD(32) FQ_DIV_SHIFT
        FQ_MUL_WORD(40) FQ_DIV_SHIFT
        : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4), [t5] "=&r"(t5),
          [A] "=&r"(A), [T] "=&r"(T)
        : [a] "r"(a->l), [b] "r"(b->l), [p] "r"(QL), "m"(*(const uint64_t(*)[6])a->l), "m"(*(const uint64_t(*)[6])b->l)
        : "rax", "rdx", "cc");
    const uint64_t t[6] = {t0, t1, t2, t3, t4, t5};
    fq_reduce_once(o->l, t);
}
#undef FQ_DIV_SHIFT
#undef FQ_MUL_WORD
#endif

/* Set by fr.c's select_isa: the ADX product unless the "generic" code path is chosen. */
static int fq_adx = 0;

static inline void fq_mul(fq *o, const fq *a, const fq *b) {
#if HAVE_ADX_PATH
    if (fq_adx) { fq_mul_adx(o, a, b); return; }
#endif
    fq_mul_generic(o, a, b);
}

/* o = a^-1 = a^(q-2) (Fermat), Montgomery in and out; a != 0. About 570 products. */
static void fq_inv(fq *o, const fq *a) {
    uint64_t e[6];
    memcpy(e, QL, sizeof e);
    e[0] -= 2;
    fq acc = FQ_ONE, base = *a;
    for (int i = 0; i < 6; i++) {
        uint64_t word = e[i];
        for (int j = 0; j < 64; j++) {
            if (word & 1) fq_mul(&acc, &acc, &base);
            fq_mul(&base, &base, &base);
            word >>= 1;
        }
    }
    *o = acc;
}

static inline int fq_eq(const fq *a, const fq *b) { return memcmp(a->l, b->l, sizeof a->l) == 0; }

/* ------------------------------------------------------------------ F_q2 = F_q[u]/(u^2 + 1) */

static inline int fq2_is_zero(const fq2 *a) { return fq_is_zero(&a->c0) && fq_is_zero(&a->c1); }
static inline int fq2_eq(const fq2 *a, const fq2 *b) { return fq_eq(&a->c0, &b->c0) && fq_eq(&a->c1, &b->c1); }

static inline void fq2_add(fq2 *o, const fq2 *a, const fq2 *b) {
    fq_add(&o->c0, &a->c0, &b->c0);
    fq_add(&o->c1, &a->c1, &b->c1);
}

static inline void fq2_sub(fq2 *o, const fq2 *a, const fq2 *b) {
    fq_sub(&o->c0, &a->c0, &b->c0);
    fq_sub(&o->c1, &a->c1, &b->c1);
}

/* Karatsuba: three F_q products. o may alias a or b. */
static inline void fq2_mul(fq2 *o, const fq2 *a, const fq2 *b) {
    fq v0, v1, s, t;
    fq_mul(&v0, &a->c0, &b->c0);
    fq_mul(&v1, &a->c1, &b->c1);
    fq_add(&s, &a->c0, &a->c1);
    fq_add(&t, &b->c0, &b->c1);
    fq_mul(&s, &s, &t);
    fq_sub(&s, &s, &v0);
    fq_sub(&o->c1, &s, &v1);
    fq_sub(&o->c0, &v0, &v1);
}

/* (c0 + c1 u)^2 = (c0 + c1)(c0 - c1) + 2 c0 c1 u: two F_q products. */
static inline void fq2_sqr(fq2 *o, const fq2 *a) {
    fq s, d, p;
    fq_add(&s, &a->c0, &a->c1);
    fq_sub(&d, &a->c0, &a->c1);
    fq_mul(&p, &a->c0, &a->c1);
    fq_mul(&o->c0, &s, &d);
    fq_add(&o->c1, &p, &p);
}

/* (c0 + c1 u)^-1 = (c0 - c1 u) / (c0^2 + c1^2); a != 0. */
static void fq2_inv(fq2 *o, const fq2 *a) {
    fq n, t, zero = {{0}};
    fq_mul(&n, &a->c0, &a->c0);
    fq_mul(&t, &a->c1, &a->c1);
    fq_add(&n, &n, &t);
    fq_inv(&n, &n);
    fq_mul(&o->c0, &a->c0, &n);
    fq_mul(&t, &a->c1, &n);
    fq_sub(&o->c1, &zero, &t);
}

static inline void fq_sqr(fq *o, const fq *a) { fq_mul(o, a, a); }

/* 0 if F_q addition, subtraction and both products give known answers (1 - 2 = q - 1,
   (q - 1) + 2 = 1, (q - 1)^2 = 1 in Montgomery form; the ADX product only when ``adx``,
   the CPU having it), -1 otherwise: a miscompiled carry chain (see fq_sbb) fails here
   instead of producing wrong key points or proofs. */
static int fq_self_test(int adx) {
    const fq one = FQ_ONE;
    fq two, minus_one, t, zero = {{0}};
    fq_add(&two, &one, &one);
    fq_sub(&minus_one, &zero, &one);                 /* q - 1 = -1 */
    fq_sub(&t, &one, &two);
    if (!fq_eq(&t, &minus_one)) return -1;
    fq_add(&t, &minus_one, &two);
    if (!fq_eq(&t, &one)) return -1;
    uint64_t raw[6];                                 /* -R mod q as limbs: q - (R mod q) */
    unsigned char borrow = 0;
    for (int i = 0; i < 6; i++) borrow = FQ_SBB(borrow, QL[i], one.l[i], &raw[i]);
    if (borrow || memcmp(raw, minus_one.l, sizeof raw) != 0) return -1;
    fq_mul_generic(&t, &minus_one, &minus_one);
    if (!fq_eq(&t, &one)) return -1;
#if HAVE_ADX_PATH
    if (adx) {
        fq_mul_adx(&t, &minus_one, &minus_one);
        if (!fq_eq(&t, &one)) return -1;
    }
#else
    (void)adx;
#endif
    return 0;
}
