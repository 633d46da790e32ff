/*
 * The Poseidon hot path of fr.c, compiled once per instruction set: included by fr.c
 * with FR_ADX 0 (portable C, `unsigned __int128` products) and, on x86-64 with GCC or
 * Clang, again with FR_ADX 1 (the same algorithms; the product, the sum and the dot
 * product (whole at t = 3 and 5, its multiply-accumulate at other widths) in inline
 * assembly with BMI2 `mulx`, ADX `adcx`/`adox` and branch-free `cmov` reductions,
 * every function compiled with
 * __attribute__((target("bmi2,adx")))). Not constant-time in general, but the ADX
 * path's arithmetic has no data-dependent branch. fr.c
 * picks one at import from CPUID (leaf 7: EBX bit 8 BMI2, bit 19 ADX), so no -march
 * flag is needed and the extension still runs on an x86-64 without them; tests run
 * both (set_isa). Both compute bit-for-bit the same function.
 *
 * Names: ISA(x) is x_generic or x_adx. Representation and bounds as in fr.c: elements
 * are 4 little-endian 64-bit limbs in Montgomery form, fully reduced (< r).
 *
 * Lazy reduction. A dot product sum_i m_i s_i (an MDS row, or a sparse partial-round
 * row) is accumulated as plain 512-bit products in nine 64-bit words and reduced once
 * (Montgomery REDC of the sum) instead of one Montgomery reduction per product.
 * Bounds: r < 0.4529 * 2^256, so for m_i, s_i < r each product is < r^2 < 0.206 * 2^512
 * and a sum of n <= MAX_T = 17 products is < 3.5 * 2^512 (nine words, the ninth < 4).
 * REDC adds sum_j q_j r 2^(64 j) < r 2^256 and divides by 2^256: the result is
 * < sum / 2^256 + r < (0.4529 n + 1) r < 8.8 r < 2^258, held in words 4..8, and
 * ceil(0.4529 n) conditional subtractions of r make it < r (CSUBS(n): 2 at t = 3,
 * 3 at t = 5, 8 at t = 17). (An earlier version of this comment took r for 2^254 and
 * said two; its reduction loop did not rely on the count, this one does, and
 * tests/test_kernels.py's extreme constants hold it to the reference at every width.)
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
/* The branch-free conditional subtraction of r: SUB_R puts (T3..T0) - r in (U3..U0), its
   borrow in CF; KEEP_IF_NC copies U into T when there was no borrow (cmovnc). Operands are
   asm operand strings ("%[t0]", "%%rax"); r is read from PMOD through %[p]. */
#define SUB_R(...) SUB_R_(__VA_ARGS__) /* expands T_WORDS before counting */
#define SUB_R_(T0, T1, T2, T3, U0, U1, U2, U3) \
    "movq " T0 ", " U0 "\n\t" \
    "subq 0(%[p]), " U0 "\n\t" \
    "movq " T1 ", " U1 "\n\t" \
    "sbbq 8(%[p]), " U1 "\n\t" \
    "movq " T2 ", " U2 "\n\t" \
    "sbbq 16(%[p]), " U2 "\n\t" \
    "movq " T3 ", " U3 "\n\t" \
    "sbbq 24(%[p]), " U3 "\n\t"
#define KEEP_IF_NC(...) KEEP_IF_NC_(__VA_ARGS__)
#define KEEP_IF_NC_(T0, T1, T2, T3, U0, U1, U2, U3) \
    "cmovncq " U0 ", " T0 "\n\t" \
    "cmovncq " U1 ", " T1 "\n\t" \
    "cmovncq " U2 ", " T2 "\n\t" \
    "cmovncq " U3 ", " T3 "\n\t"
#define T_WORDS "%[t0]", "%[t1]", "%[t2]", "%[t3]"
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

/* o = a b / 2^256 mod r: CIOS with gnark's no-carry shortcut (see fr_mul in fr.c). The
   result of the CIOS loop is < 2r; the ADX path subtracts r without a branch (sub/sbb,
   then cmovnc): a data-dependent branch there mispredicted often enough to cost a third
   of the product's time (perf, 4 December). */
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
        SUB_R(T_WORDS, "%%rax", "%%rdx", "%[A]", "%[T]")
        KEEP_IF_NC(T_WORDS, "%%rax", "%%rdx", "%[A]", "%[T]")
        : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [A] "=&r"(A), [T] "=&r"(T)
        : [a] "r"(a->l), [b] "r"(b->l), [p] "r"(PMOD), "m"(*(const uint64_t(*)[4])a->l), "m"(*(const uint64_t(*)[4])b->l)
        : "rax", "rdx", "cc");
    o->l[0] = t0;
    o->l[1] = t1;
    o->l[2] = t2;
    o->l[3] = t3;
#else
    fr_mul(o, a, b);
#endif
}

/* o = a + b mod r; a, b < r. The ADX path adds and subtracts r without a branch and
   stores each limb (fr_add's branch on the sum and its copy through a stack array
   stalled the partial rounds: perf, 4 December). */
static FR_TARGET inline void ISA(add)(fr *o, const fr *a, const fr *b) {
#if FR_ADX
    uint64_t t0 = a->l[0], t1 = a->l[1], t2 = a->l[2], t3 = a->l[3], u0, u1, u2, u3;
    __asm__(
        "addq 0(%[b]), %[t0]\n\t"
        "adcq 8(%[b]), %[t1]\n\t"
        "adcq 16(%[b]), %[t2]\n\t"
        "adcq 24(%[b]), %[t3]\n\t"  /* < 2r < 2^256: no carry out */
        SUB_R(T_WORDS, "%[u0]", "%[u1]", "%[u2]", "%[u3]")
        KEEP_IF_NC(T_WORDS, "%[u0]", "%[u1]", "%[u2]", "%[u3]")
        : [t0] "+&r"(t0), [t1] "+&r"(t1), [t2] "+&r"(t2), [t3] "+&r"(t3),
          [u0] "=&r"(u0), [u1] "=&r"(u1), [u2] "=&r"(u2), [u3] "=&r"(u3)
        : [b] "r"(b->l), [p] "r"(PMOD), "m"(*(const uint64_t(*)[4])b->l)
        : "cc");
    o->l[0] = t0;
    o->l[1] = t1;
    o->l[2] = t2;
    o->l[3] = t3;
#else
    fr_add(o, a, b);
#endif
}

#ifndef CSUBS
/* Conditional subtractions after a lazy dot product of n terms: ceil(0.4529 n) (bounds above). */
#define CSUBS(n) (((n) * 4529 + 9999) / 10000)
#endif

/* x -= r if x >= r, for x = (hi, t[3..0]) < 2^320, without a branch. */
static FR_TARGET inline void ISA(csub)(uint64_t t[4], uint64_t *hi) {
    uint64_t d[4], borrow;
    u128 x;
    x = (u128)t[0] - P0;          d[0] = (uint64_t)x; borrow = (uint64_t)(x >> 64) & 1;
    x = (u128)t[1] - P1 - borrow; d[1] = (uint64_t)x; borrow = (uint64_t)(x >> 64) & 1;
    x = (u128)t[2] - P2 - borrow; d[2] = (uint64_t)x; borrow = (uint64_t)(x >> 64) & 1;
    x = (u128)t[3] - P3 - borrow; d[3] = (uint64_t)x; borrow = (uint64_t)(x >> 64) & 1;
    const uint64_t keep = 0 - (uint64_t)(*hi < borrow);  /* all ones: x < r, keep it */
    *hi -= borrow & ~keep;
    for (int i = 0; i < 4; i++) t[i] = (t[i] & keep) | (d[i] & ~keep);
}

/* o = sum_{i < n} m_i s_i (Montgomery form in and out) with one reduction, n <= MAX_T.
   Product scanning (Comba): column k of the 512-bit sum collects every m_i[j] s_i[k - j]
   in a three-word accumulator, so the sum never leaves registers; then Montgomery REDC
   of the nine words (each step's carry carried to the top without a branch) and the
   conditional subtractions the bound above requires (CSUBS(n)), without a branch.
   Always inlined into ISA(dot), with a constant n at t = 3 and 5 so the loops unroll. */
static FR_TARGET inline __attribute__((always_inline)) void ISA(dot_n)(fr *o, const fr *m, const fr *s, const int n) {
    /* Two accumulators, (c0, c1, c2) for even i and (d0, d1, d2) for odd i, merged at the end of
       each column: one carry chain through every product was the dot's critical path. */
    uint64_t z[9], c0 = 0, c1 = 0, c2 = 0, d0 = 0, d1 = 0, d2 = 0;
#pragma GCC unroll 8
    for (int k = 0; k < 8; k++) {
        const int jlo = k > 3 ? k - 3 : 0, jhi = k < 3 ? k : 3;
#pragma GCC unroll 17
        for (int i = 0; i < n; i++)
#pragma GCC unroll 4
            for (int j = jlo; j <= jhi; j++) {
                uint64_t *x0 = i & 1 ? &d0 : &c0, *x1 = i & 1 ? &d1 : &c1, *x2 = i & 1 ? &d2 : &c2;
#if FR_ADX
                uint64_t lo, hi;
                __asm__("mulxq %[b], %[lo], %[hi]\n\t"
                        "addq %[lo], %[x0]\n\t"
                        "adcq %[hi], %[x1]\n\t"
                        "adcq $0, %[x2]\n\t"
                        : [x0] "+r"(*x0), [x1] "+r"(*x1), [x2] "+r"(*x2), [lo] "=&r"(lo), [hi] "=&r"(hi)
                        : "d"(m[i].l[j]), [b] "rm"(s[i].l[k - j])
                        : "cc");
#else
                const u128 p = (u128)m[i].l[j] * s[i].l[k - j];
                u128 x = (u128)*x0 + (uint64_t)p;
                *x0 = (uint64_t)x;
                x = (u128)*x1 + (uint64_t)(p >> 64) + (uint64_t)(x >> 64);
                *x1 = (uint64_t)x;
                *x2 += (uint64_t)(x >> 64);
#endif
            }
        u128 x = (u128)c0 + d0;
        z[k] = (uint64_t)x;
        x = (u128)c1 + d1 + (uint64_t)(x >> 64);
        c0 = (uint64_t)x;
        c1 = c2 + d2 + (uint64_t)(x >> 64);
        c2 = d0 = d1 = d2 = 0;
    }
    z[8] = c0;
    for (int i = 0; i < 4; i++) {
        const uint64_t q = z[i] * INV;
        u128 x;
        uint64_t c;
        x = (u128)q * P0 + z[i];                     c = (uint64_t)(x >> 64);
        x = (u128)q * P1 + z[i + 1] + c; z[i + 1] = (uint64_t)x; c = (uint64_t)(x >> 64);
        x = (u128)q * P2 + z[i + 2] + c; z[i + 2] = (uint64_t)x; c = (uint64_t)(x >> 64);
        x = (u128)q * P3 + z[i + 3] + c; z[i + 3] = (uint64_t)x; c = (uint64_t)(x >> 64);
        for (int k = i + 4; k < 9; k++) {
            x = (u128)z[k] + c;
            z[k] = (uint64_t)x;
            c = (uint64_t)(x >> 64);
        }
    }
    uint64_t t[4] = {z[4], z[5], z[6], z[7]}, hi = z[8];
    for (int k = 0; k < CSUBS(n); k++) ISA(csub)(t, &hi);
    o->l[0] = t[0];
    o->l[1] = t[1];
    o->l[2] = t[2];
    o->l[3] = t[3];
}

#if FR_ADX
/* The lazy dot product at t = 3 and t = 5 in assembly, row by row (operand scanning): for
   each word j of the s_i, every term adds m_i s_i[j] (four mulx) into a window of five
   accumulator words at weights j .. j + 4 along two carry chains (adcx for the low halves,
   adox for the high halves), the two carries out of the window going into a sixth word
   (weight j + 5); after the row, the window's lowest word is final (stored to z) and the
   window slides up a word (the registers rotate: DOT_ROW's arguments). 4.5 instructions a
   product; the column-wise (Comba) form before took 5 and three-word merges, and the C
   version GCC 12 compiled spilled its accumulators through the stack (151 -> 77 -> about
   50 ns per 5-term dot; perf and a C harness, 4 December). DOT_TERM(i, j, ...) adds
   m_i s_i[j]; offsets are assembler expressions (32 bytes an element). */
#define DOT_TERM(i, j, A0, A1, A2, A3, A4, E) \
    "movq 32*" #i "+8*" #j "(%[s]), %%rdx\n\t" \
    "xorl %%eax, %%eax\n\t" /* clears CF and OF */ \
    "mulxq 32*" #i "+0(%[m]), %%rax, %[T]\n\t" \
    "adcxq %%rax, %[" #A0 "]\n\t" \
    "adoxq %[T], %[" #A1 "]\n\t" \
    "mulxq 32*" #i "+8(%[m]), %%rax, %[T]\n\t" \
    "adcxq %%rax, %[" #A1 "]\n\t" \
    "adoxq %[T], %[" #A2 "]\n\t" \
    "mulxq 32*" #i "+16(%[m]), %%rax, %[T]\n\t" \
    "adcxq %%rax, %[" #A2 "]\n\t" \
    "adoxq %[T], %[" #A3 "]\n\t" \
    "mulxq 32*" #i "+24(%[m]), %%rax, %[T]\n\t" \
    "adcxq %%rax, %[" #A3 "]\n\t" \
    "adoxq %[T], %[" #A4 "]\n\t" \
    "movl $0, %%eax\n\t" \
    "adcxq %%rax, %[" #A4 "]\n\t" /* CF: weight j + 4 */ \
    "adoxq %%rax, %[" #E "]\n\t"  /* OF: weight j + 5 */ \
    "adcxq %%rax, %[" #E "]\n\t"
#define DOT_TERMS3(j, A0, A1, A2, A3, A4, E) \
    DOT_TERM(0, j, A0, A1, A2, A3, A4, E) DOT_TERM(1, j, A0, A1, A2, A3, A4, E) DOT_TERM(2, j, A0, A1, A2, A3, A4, E)
#define DOT_TERMS5(j, A0, A1, A2, A3, A4, E) \
    DOT_TERMS3(j, A0, A1, A2, A3, A4, E) DOT_TERM(3, j, A0, A1, A2, A3, A4, E) DOT_TERM(4, j, A0, A1, A2, A3, A4, E)
#define DOT_ROW(TERMS, j, A0, A1, A2, A3, A4, E) \
    TERMS(j, A0, A1, A2, A3, A4, E) \
    "movq %[" #A0 "], 8*" #j "(%[z])\n\t" \
    "xorl %k[" #A0 "], %k[" #A0 "]\n\t" /* the next row's carry word */
#define DOT_ROWS(TERMS) \
    DOT_ROW(TERMS, 0, w0, w1, w2, w3, w4, w5) \
    DOT_ROW(TERMS, 1, w1, w2, w3, w4, w5, w0) \
    DOT_ROW(TERMS, 2, w2, w3, w4, w5, w0, w1) \
    DOT_ROW(TERMS, 3, w3, w4, w5, w0, w1, w2) \
    "movq %[w4], 32(%[z])\n\t" \
    "movq %[w5], 40(%[z])\n\t" \
    "movq %[w0], 48(%[z])\n\t" \
    "movq %[w1], 56(%[z])\n\t" \
    "movq %[w2], 64(%[z])\n\t"
/* One conditional subtraction of r from (h, t3..t0), without a branch. */
#define DOT_CSUB \
    SUB_R(T_WORDS, "%%rax", "%%rdx", "%[u2]", "%[u3]") \
    "movq %[h], %[uh]\n\t" \
    "sbbq $0, %[uh]\n\t" \
    KEEP_IF_NC(T_WORDS, "%%rax", "%%rdx", "%[u2]", "%[u3]") \
    "cmovncq %[uh], %[h]\n\t"
/* DOT_ROWS over the N terms of m and s into z (the operands of DOT_ROWS). */
#define DOT_ACCUMULATE(TERMS, N) \
    __asm__(DOT_ROWS(TERMS) \
            : [w0] "+&r"(w0), [w1] "+&r"(w1), [w2] "+&r"(w2), [w3] "+&r"(w3), [w4] "+&r"(w4), [w5] "+&r"(w5), \
              [T] "=&r"(T), "=m"(*(uint64_t(*)[9])z) \
            : [m] "r"(m), [s] "r"(s), [z] "r"(z), "m"(*(const fr(*)[N])m), "m"(*(const fr(*)[N])s) \
            : "rax", "rdx", "cc")

/* o = sum_{i < n} m_i s_i for n = 3 or 5: the nine words z of the sum (rows above), then
   REDC as the low half's Montgomery reduction plus the high half: u = (z_lo + Q r) / 2^256
   <= r (four MA_DIV_SHIFT steps, the carry word zero), u + z_hi < (0.4529 n + 1) r (the
   bound at the top of this file), then CSUBS(n) conditional subtractions. */
static FR_TARGET inline __attribute__((always_inline)) void ISA(dot_asm)(fr *o, const fr *m, const fr *s, const int n) {
    uint64_t z[9], w0 = 0, w1 = 0, w2 = 0, w3 = 0, w4 = 0, w5 = 0, T;
    if (n == 5)
        DOT_ACCUMULATE(DOT_TERMS5, 5);
    else
        DOT_ACCUMULATE(DOT_TERMS3, 3);
    uint64_t t0 = z[0], t1 = z[1], t2 = z[2], t3 = z[3], h, u2, u3, uh, A = 0;
    __asm__(MA_DIV_SHIFT MA_DIV_SHIFT MA_DIV_SHIFT MA_DIV_SHIFT
            "addq 32(%[z]), %[t0]\n\t"
            "adcq 40(%[z]), %[t1]\n\t"
            "adcq 48(%[z]), %[t2]\n\t"
            "adcq 56(%[z]), %[t3]\n\t"
            "movq 64(%[z]), %[h]\n\t"
            "adcq $0, %[h]\n\t"
            : [t0] "+&r"(t0), [t1] "+&r"(t1), [t2] "+&r"(t2), [t3] "+&r"(t3), [A] "+&r"(A), [T] "=&r"(T), [h] "=&r"(h)
            : [p] "r"(PMOD), [z] "r"(z), "m"(*(const uint64_t(*)[9])z)
            : "rax", "rdx", "cc");
    for (int k = 0; k < CSUBS(n); k++)  /* n is a constant here: unrolled */
        __asm__(DOT_CSUB
                : [t0] "+&r"(t0), [t1] "+&r"(t1), [t2] "+&r"(t2), [t3] "+&r"(t3), [h] "+&r"(h),
                  [u2] "=&r"(u2), [u3] "=&r"(u3), [uh] "=&r"(uh)
                : [p] "r"(PMOD)
                : "rax", "rdx", "cc");
    o->l[0] = t0;
    o->l[1] = t1;
    o->l[2] = t2;
    o->l[3] = t3;
}
#endif

static FR_TARGET NOINLINE void ISA(dot)(fr *o, const fr *m, const fr *s, int n) {
    switch (n) {  /* the widths the product uses, unrolled; any other t through the general loop */
#if FR_ADX
    case 3: ISA(dot_asm)(o, m, s, 3); break;
    case 5: ISA(dot_asm)(o, m, s, 5); break;
#else
    case 3: ISA(dot_n)(o, m, s, 3); break;
    case 5: ISA(dot_n)(o, m, s, 5); break;
#endif
    default: ISA(dot_n)(o, m, s, n); break;
    }
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
    for (int i = 0; i < t; i++) ISA(add)(&s[i], &s[i], &p->first[i]);
    for (int r = 1; r < p->half; r++) {
        for (int i = 0; i < t; i++) ISA(pow5)(&s[i]);
        ISA(mat_vec)(s, p->mds, t);
        for (int i = 0; i < t; i++) ISA(add)(&s[i], &s[i], &p->first[r * t + i]);
    }
    for (int i = 0; i < t; i++) ISA(pow5)(&s[i]);
    ISA(mat_vec)(s, p->pre, t);
    const int stride = 2 * t - 1;
    for (int j = 0; j < p->rp; j++) {
        const fr *sp = &p->sparse[j * stride];  /* m00, v[t - 1] (a row against s), then w[t - 1] */
        const fr *w = sp + t;
        fr y0, prod;
        ISA(add)(&s[0], &s[0], &p->partial[j]);
        ISA(pow5)(&s[0]);
        ISA(dot)(&y0, sp, s, t);                /* m00 x0 + <v, s[1:]> */
        for (int i = 1; i < t; i++) {
            ISA(mul)(&prod, &w[i - 1], &s[0]);
            ISA(add)(&s[i], &s[i], &prod);
        }
        s[0] = y0;
    }
    for (int r = 0; r < p->half; r++) {
        for (int i = 0; i < t; i++) {
            ISA(add)(&s[i], &s[i], &p->last[r * t + i]);
            ISA(pow5)(&s[i]);
        }
        ISA(mat_vec)(s, p->mds, t);
    }
}

/* ISA(permute) of two independent states, step by step together: one state's rounds are a
   chain of dependent products (above all the partial rounds' S-box and y0), so a second
   chain beside it fills the CPU's pipeline (measured: see ISA(permute_batch)). Written out
   beside ISA(permute) on purpose: one always-inlined body over 1 or 2 lanes (tried) made
   both 10 % slower with GCC 12. */
static FR_TARGET void ISA(permute2)(const poseidon_t *p, fr *s, fr *u) {
    const int t = p->t;
    for (int i = 0; i < t; i++) {
        ISA(add)(&s[i], &s[i], &p->first[i]);
        ISA(add)(&u[i], &u[i], &p->first[i]);
    }
    for (int r = 1; r < p->half; r++) {
        for (int i = 0; i < t; i++) {
            ISA(pow5)(&s[i]);
            ISA(pow5)(&u[i]);
        }
        ISA(mat_vec)(s, p->mds, t);
        ISA(mat_vec)(u, p->mds, t);
        for (int i = 0; i < t; i++) {
            ISA(add)(&s[i], &s[i], &p->first[r * t + i]);
            ISA(add)(&u[i], &u[i], &p->first[r * t + i]);
        }
    }
    for (int i = 0; i < t; i++) {
        ISA(pow5)(&s[i]);
        ISA(pow5)(&u[i]);
    }
    ISA(mat_vec)(s, p->pre, t);
    ISA(mat_vec)(u, p->pre, t);
    const int stride = 2 * t - 1;
    for (int j = 0; j < p->rp; j++) {
        const fr *sp = &p->sparse[j * stride];
        const fr *w = sp + t;
        fr ys, yu, prod;
        ISA(add)(&s[0], &s[0], &p->partial[j]);
        ISA(add)(&u[0], &u[0], &p->partial[j]);
        ISA(pow5)(&s[0]);
        ISA(pow5)(&u[0]);
        ISA(dot)(&ys, sp, s, t);
        ISA(dot)(&yu, sp, u, t);
        for (int i = 1; i < t; i++) {
            ISA(mul)(&prod, &w[i - 1], &s[0]);
            ISA(add)(&s[i], &s[i], &prod);
            ISA(mul)(&prod, &w[i - 1], &u[0]);
            ISA(add)(&u[i], &u[i], &prod);
        }
        s[0] = ys;
        u[0] = yu;
    }
    for (int r = 0; r < p->half; r++) {
        for (int i = 0; i < t; i++) {
            ISA(add)(&s[i], &s[i], &p->last[r * t + i]);
            ISA(add)(&u[i], &u[i], &p->last[r * t + i]);
            ISA(pow5)(&s[i]);
            ISA(pow5)(&u[i]);
        }
        ISA(mat_vec)(s, p->mds, t);
        ISA(mat_vec)(u, p->mds, t);
    }
}

/* The permutation of count states of t elements, consecutive in buf. */
static FR_TARGET void ISA(permute_batch)(const poseidon_t *p, fr *buf, Py_ssize_t count) {
    Py_ssize_t k = 0;
    for (; k + 1 < count; k += 2) ISA(permute2)(p, &buf[k * p->t], &buf[(k + 1) * p->t]);
    if (k < count) ISA(permute)(p, &buf[k * p->t]);
}

/* The sponge (hash_many's convention) of count rows of length inputs each, in rows;
   digests to out. capacity: length * 2^64 in Montgomery form. */
static FR_TARGET void ISA(sponge_batch)(const poseidon_t *p, const fr *rows, Py_ssize_t length, Py_ssize_t count,
                                        const fr *capacity, fr *out) {
    const int t = p->t, rate = t - 1;
    Py_ssize_t k = 0;
    for (; k + 1 < count; k += 2) {  /* two rows at once (ISA(permute2)) */
        fr s[MAX_T], u[MAX_T];
        const fr *row = &rows[k * length], *next = &rows[(k + 1) * length];
        s[0] = u[0] = *capacity;
        for (int i = 1; i < t; i++) s[i] = u[i] = ZERO;
        for (Py_ssize_t at = 0; at < length; at += rate) {
            for (int i = 0; i < rate && at + i < length; i++) {
                ISA(add)(&s[1 + i], &s[1 + i], &row[at + i]);
                ISA(add)(&u[1 + i], &u[1 + i], &next[at + i]);
            }
            ISA(permute2)(p, s, u);
        }
        out[k] = s[1];
        out[k + 1] = u[1];
    }
    for (; k < count; k++) {
        fr s[MAX_T];
        const fr *row = &rows[k * length];
        s[0] = *capacity;
        for (int i = 1; i < t; i++) s[i] = ZERO;
        for (Py_ssize_t at = 0; at < length; at += rate) {
            for (int i = 0; i < rate && at + i < length; i++) ISA(add)(&s[1 + i], &s[1 + i], &row[at + i]);
            ISA(permute)(p, s);
        }
        out[k] = s[1];
    }
}

#undef ISA
#undef FR_TARGET
#undef NOINLINE
