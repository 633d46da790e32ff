/*
 * The Poseidon hot path of fr.c on AVX-512 IFMA: eight states at once, one per 64-bit
 * lane of a 512-bit register (Gueron and Krasnov, "Accelerating big integer arithmetic
 * using Intel IFMA extensions", ARITH 2016; the same radix-2^52 Montgomery arithmetic).
 * Included by fr.c on x86-64 with GCC or Clang; every function is compiled with
 * __attribute__((target("avx512f,avx512ifma"))) and fr.c selects this path at import
 * only when CPUID reports AVX512F and AVX512_IFMA and the OS saves the ZMM state (and
 * BMI2/ADX, which every such CPU has), so no -march flag is needed. It computes
 * bit-for-bit the function of poseidon_isa.h; a lone state (a batch of one, or the last
 * of a batch) goes to the BMI2/ADX path, which is faster for one state than eight lanes.
 *
 * Representation. An element x is held as X = x 2^260 mod r (Montgomery form with
 * R = 2^260) in five 52-bit limbs, limb j of the eight lanes in one __m512i (type v8).
 * Conversions from and to fr.c's form (x 2^256, four 64-bit limbs) multiply by 16 and
 * by 16^-1 mod r at the batch boundary (fr_to_52, fr_from_52), O(t) per state.
 *
 * Bounds. vpmadd52luq / vpmadd52huq multiply the low 52 bits of two lanes and add the
 * low / high 52 bits of the 104-bit product to a 64-bit accumulator. Every limb that
 * enters a multiplication is normalised (< 2^52) and every value is kept below 2r
 * (not fully reduced) inside the permutation:
 *  - a dot product sum_{i<n} m_i s_i (constants m_i < r, s_i < 2r) is accumulated in
 *    ten column accumulators (each gets at most 10 n terms < 2^52: < 2^60 for n <= 17)
 *    and reduced once (REDC, five steps of 10 more terms each). REDC returns
 *    (Z + M r) / 2^260 < Z / 2^260 + r with Z < 2 n r^2, and r / 2^260 < 0.0284, so the
 *    result is < (1 + 0.0567 n) r < 2r for n <= 17 (MAX_T);
 *  - a product of two variables (< 2r each) is < (1 + 0.114) r;
 *  - a sum of two values below 2r is < 4r, brought below 2r by one conditional
 *    subtraction of 2r (a round constant, < r, likewise);
 *  - on the way out one conditional subtraction of r makes the value canonical.
 * The permutation is branch-free over the data (its conditional subtractions are lane
 * masks); the conversions at the boundary branch on parity. Not a constant-time claim:
 * see fr.c's opening comment for where that matters and where it does not.
 */

#define IFMA_TARGET __attribute__((target("avx512f,avx512ifma")))
#define IFMA_NOINLINE __attribute__((noinline))
#define LANES 8
#define M52 0xfffffffffffffULL

typedef struct { __m512i l[5]; } v8;

static const uint64_t R52[5] = {0xfffff00000001ULL, 0x2fffe5bfefffULL, 0x9a1d80553bda4ULL, 0x7d483339d8080ULL, 0x73eda753299dULL};
static const uint64_t R2_52[5] = {0xffffe00000002ULL, 0x5fffcb7fdfffULL, 0x343b00aa77b48ULL, 0xfa906673b0101ULL, 0xe7db4ea6533aULL};
static const uint64_t K52 = 0xffffeffffffffULL;  /* -r^-1 mod 2^52 */

/* out = 16 a mod r in 52-bit limbs, a in fr.c's Montgomery form (< r): x 2^256 -> x 2^260. */
static void fr_to_52(uint64_t out[5], const fr *a) {
    fr x = *a;
    for (int i = 0; i < 4; i++) fr_add(&x, &x, &x);
    out[0] = x.l[0] & M52;
    out[1] = (x.l[0] >> 52 | x.l[1] << 12) & M52;
    out[2] = (x.l[1] >> 40 | x.l[2] << 24) & M52;
    out[3] = (x.l[2] >> 28 | x.l[3] << 36) & M52;
    out[4] = x.l[3] >> 16;
}

/* o = in / 16 mod r, in canonical (< r) 52-bit limbs: x 2^260 -> x 2^256. */
static void fr_from_52(fr *o, const uint64_t in[5]) {
    uint64_t l[4] = {in[0] | in[1] << 52, in[1] >> 12 | in[2] << 40, in[2] >> 24 | in[3] << 28, in[3] >> 36 | in[4] << 16};
    for (int k = 0; k < 4; k++) {  /* halve mod r: add r when odd (< 2r < 2^256: no carry out) */
        if (l[0] & 1) {
            u128 c = (u128)l[0] + P0; l[0] = (uint64_t)c;
            c = (u128)l[1] + P1 + (c >> 64); l[1] = (uint64_t)c;
            c = (u128)l[2] + P2 + (c >> 64); l[2] = (uint64_t)c;
            l[3] = l[3] + P3 + (uint64_t)(c >> 64);
        }
        l[0] = l[0] >> 1 | l[1] << 63; l[1] = l[1] >> 1 | l[2] << 63; l[2] = l[2] >> 1 | l[3] << 63; l[3] >>= 1;
    }
    memcpy(o->l, l, sizeof l);
}

/* o = the REDC of ten column accumulators z (value Z): (Z + M r) / 2^260, normalised. */
static IFMA_TARGET inline void v_redc(v8 *o, __m512i z[10]) {
    const __m512i zero = _mm512_setzero_si512(), k = _mm512_set1_epi64((long long)K52);
    for (int i = 0; i < 5; i++) {
        const __m512i m = _mm512_madd52lo_epu64(zero, z[i], k);
        for (int j = 0; j < 5; j++) {
            const __m512i rj = _mm512_set1_epi64((long long)R52[j]);
            z[i + j] = _mm512_madd52lo_epu64(z[i + j], m, rj);
            z[i + j + 1] = _mm512_madd52hi_epu64(z[i + j + 1], m, rj);
        }
        z[i + 1] = _mm512_add_epi64(z[i + 1], _mm512_srli_epi64(z[i], 52));
    }
    const __m512i mask = _mm512_set1_epi64((long long)M52);
    for (int j = 5; j < 9; j++) {
        z[j + 1] = _mm512_add_epi64(z[j + 1], _mm512_srli_epi64(z[j], 52));
        o->l[j - 5] = _mm512_and_si512(z[j], mask);
    }
    o->l[4] = z[9];
}

/* o = sum_{i<n} m_i s_i (Montgomery, R = 2^260): m n broadcast constants (5 limbs each), one REDC. */
static IFMA_TARGET IFMA_NOINLINE void v_dot(v8 *o, const uint64_t *m, const v8 *s, int n) {
    __m512i z[10];
    for (int c = 0; c < 10; c++) z[c] = _mm512_setzero_si512();
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < 5; j++) {
            const __m512i b = _mm512_set1_epi64((long long)m[5 * i + j]);
            for (int q = 0; q < 5; q++) {
                z[j + q] = _mm512_madd52lo_epu64(z[j + q], s[i].l[q], b);
                z[j + q + 1] = _mm512_madd52hi_epu64(z[j + q + 1], s[i].l[q], b);
            }
        }
    }
    v_redc(o, z);
}

/* o = a b (Montgomery, R = 2^260), both variables. */
static IFMA_TARGET IFMA_NOINLINE void v_mul(v8 *o, const v8 *a, const v8 *b) {
    __m512i z[10];
    for (int c = 0; c < 10; c++) z[c] = _mm512_setzero_si512();
    for (int j = 0; j < 5; j++)
        for (int q = 0; q < 5; q++) {
            z[j + q] = _mm512_madd52lo_epu64(z[j + q], a->l[q], b->l[j]);
            z[j + q + 1] = _mm512_madd52hi_epu64(z[j + q + 1], a->l[q], b->l[j]);
        }
    v_redc(o, z);
}

/* a = a - q (5 limbs) in the lanes where a >= q; a normalised. */
static IFMA_TARGET inline void v_csub(v8 *a, const uint64_t q[5]) {
    const __m512i mask = _mm512_set1_epi64((long long)M52);
    __m512i d[5], borrow = _mm512_setzero_si512();
    for (int j = 0; j < 5; j++) {
        const __m512i x = _mm512_sub_epi64(_mm512_sub_epi64(a->l[j], _mm512_set1_epi64((long long)q[j])), borrow);
        borrow = _mm512_srli_epi64(x, 63);
        d[j] = _mm512_and_si512(x, mask);
    }
    const __mmask8 keep_d = _mm512_cmpeq_epi64_mask(borrow, _mm512_setzero_si512());
    for (int j = 0; j < 5; j++) a->l[j] = _mm512_mask_mov_epi64(a->l[j], keep_d, d[j]);
}

/* a = a + b, below 2r again (a, b < 2r: one conditional subtraction of 2r). */
static IFMA_TARGET inline void v_add(v8 *a, const v8 *b) {
    const __m512i mask = _mm512_set1_epi64((long long)M52);
    __m512i carry = _mm512_setzero_si512();
    for (int j = 0; j < 5; j++) {
        const __m512i x = _mm512_add_epi64(_mm512_add_epi64(a->l[j], b->l[j]), carry);
        carry = _mm512_srli_epi64(x, 52);
        a->l[j] = j < 4 ? _mm512_and_si512(x, mask) : x;
    }
    v_csub(a, R2_52);
}

/* a = a + c for a broadcast constant c < r (5 limbs). */
static IFMA_TARGET inline void v_add_const(v8 *a, const uint64_t c[5]) {
    v8 b;
    for (int j = 0; j < 5; j++) b.l[j] = _mm512_set1_epi64((long long)c[j]);
    v_add(a, &b);
}

static IFMA_TARGET inline void v_pow5(v8 *x) {
    v8 sq, q;
    v_mul(&sq, x, x);
    v_mul(&q, &sq, &sq);
    v_mul(x, &q, x);
}

static IFMA_TARGET inline void v_mat_vec(v8 *s, const uint64_t *m, int t) {
    v8 out[MAX_T];
    for (int i = 0; i < t; i++) v_dot(&out[i], &m[5 * i * t], s, t);
    memcpy(s, out, sizeof(v8) * (size_t)t);
}

/* The permutation of eight states, in the order of permute_generic (poseidon_isa.h). */
static IFMA_TARGET void permute_v8(const poseidon_t *p, v8 *s) {
    const int t = p->t;
    const uint64_t *first = p->ifma + 5 * (p->first - p->block), *mds = p->ifma + 5 * (p->mds - p->block);
    const uint64_t *pre = p->ifma + 5 * (p->pre - p->block), *partial = p->ifma + 5 * (p->partial - p->block);
    const uint64_t *sparse = p->ifma + 5 * (p->sparse - p->block), *last = p->ifma + 5 * (p->last - p->block);
    for (int i = 0; i < t; i++) v_add_const(&s[i], &first[5 * i]);
    for (int r = 1; r < p->half; r++) {
        for (int i = 0; i < t; i++) v_pow5(&s[i]);
        v_mat_vec(s, mds, t);
        for (int i = 0; i < t; i++) v_add_const(&s[i], &first[5 * (r * t + i)]);
    }
    for (int i = 0; i < t; i++) v_pow5(&s[i]);
    v_mat_vec(s, pre, t);
    const int stride = 2 * t - 1;
    for (int j = 0; j < p->rp; j++) {
        const uint64_t *sp = &sparse[5 * j * stride], *w = sp + 5 * t;
        v8 y0, prod;
        v_add_const(&s[0], &partial[5 * j]);
        v_pow5(&s[0]);
        v_dot(&y0, sp, s, t);
        for (int i = 1; i < t; i++) {
            v_dot(&prod, &w[5 * (i - 1)], &s[0], 1);
            v_add(&s[i], &prod);
        }
        s[0] = y0;
    }
    for (int r = 0; r < p->half; r++) {
        for (int i = 0; i < t; i++) {
            v_add_const(&s[i], &last[5 * (r * t + i)]);
            v_pow5(&s[i]);
        }
        v_mat_vec(s, mds, t);
    }
}

/* Lane k of s (t elements) from / to fr.c's form. */
static IFMA_TARGET void v_set_lane(v8 *s, int t, int k, const fr *x) {
    for (int i = 0; i < t; i++) {
        uint64_t limbs[5], lanes[LANES] __attribute__((aligned(64)));
        fr_to_52(limbs, &x[i]);
        for (int j = 0; j < 5; j++) {
            _mm512_store_si512((void *)lanes, s[i].l[j]);
            lanes[k] = limbs[j];
            s[i].l[j] = _mm512_load_si512((const void *)lanes);
        }
    }
}

static IFMA_TARGET void v_get_lanes(v8 *s, int t, fr *out, int count, int stride) {
    uint64_t lanes[MAX_T][5][LANES] __attribute__((aligned(64)));
    for (int i = 0; i < t; i++) {
        v_csub(&s[i], R52);
        for (int j = 0; j < 5; j++) _mm512_store_si512((void *)lanes[i][j], s[i].l[j]);
    }
    for (int k = 0; k < count; k++)
        for (int i = 0; i < t; i++) {
            const uint64_t limbs[5] = {lanes[i][0][k], lanes[i][1][k], lanes[i][2][k], lanes[i][3][k], lanes[i][4][k]};
            fr_from_52(&out[k * stride + i], limbs);
        }
}

/* The permutation of count states of t elements, consecutive in buf, eight at a time. */
static IFMA_TARGET void permute_batch_ifma(const poseidon_t *p, fr *buf, Py_ssize_t count) {
    const int t = p->t;
    for (Py_ssize_t start = 0; start < count; start += LANES) {
        const int n = count - start < LANES ? (int)(count - start) : LANES;
        if (n == 1) { permute_adx(p, &buf[start * t]); break; }  /* one state: the scalar path is faster */
        v8 s[MAX_T];
        for (int i = 0; i < t; i++)
            for (int j = 0; j < 5; j++) s[i].l[j] = _mm512_setzero_si512();
        for (int k = 0; k < n; k++) v_set_lane(s, t, k, &buf[(start + k) * t]);
        permute_v8(p, s);
        v_get_lanes(s, t, &buf[start * t], n, t);
    }
}

/* The sponge of count rows (hash_many's convention, as sponge_batch_generic), eight at a time. */
static IFMA_TARGET void sponge_batch_ifma(const poseidon_t *p, const fr *rows, Py_ssize_t length, Py_ssize_t count,
                                          const fr *capacity, fr *out) {
    const int t = p->t, rate = t - 1;
    for (Py_ssize_t start = 0; start < count; start += LANES) {
        const int n = count - start < LANES ? (int)(count - start) : LANES;
        if (n == 1) { sponge_batch_adx(p, &rows[start * length], length, 1, capacity, &out[start]); break; }
        v8 s[MAX_T];
        fr init[MAX_T];
        init[0] = *capacity;
        for (int i = 1; i < t; i++) init[i] = ZERO;
        for (int i = 0; i < t; i++)
            for (int j = 0; j < 5; j++) s[i].l[j] = _mm512_setzero_si512();
        for (int k = 0; k < n; k++) v_set_lane(s, t, k, init);
        for (Py_ssize_t at = 0; at < length; at += rate) {
            const int width = length - at < rate ? (int)(length - at) : rate;
            v8 in[MAX_T];
            fr block[MAX_T];
            for (int i = 0; i < width; i++)
                for (int j = 0; j < 5; j++) in[i].l[j] = _mm512_setzero_si512();
            for (int k = 0; k < n; k++) {
                for (int i = 0; i < width; i++) block[i] = rows[(start + k) * length + at + i];
                v_set_lane(in, width, k, block);
            }
            for (int i = 0; i < width; i++) v_add(&s[1 + i], &in[i]);
            permute_v8(p, s);
        }
        fr digests[LANES * MAX_T];
        v_get_lanes(s, t, digests, n, t);
        for (int k = 0; k < n; k++) out[start + k] = digests[k * t + 1];
    }
}

#undef IFMA_TARGET
#undef IFMA_NOINLINE
#undef LANES
#undef M52
