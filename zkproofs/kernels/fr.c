/*
 * zkproofs.kernels._native: batched BLS12-381 scalar-field kernels (Poseidon, NTT,
 * batch inversion) for the hot paths of zkproofs. The pure-Python twin of every
 * function here is zkproofs/kernels/reference.py; tests/test_kernels.py runs both on
 * the same inputs.
 *
 * Representation. An element of F_r, r = 0x73eda753...ffffffff00000001 (255 bits),
 * is held as 4 unsigned 64-bit limbs, least significant first, in Montgomery form
 * a R mod r with R = 2^256, fully reduced (every fr value here is < r).
 *
 * Reduction. Multiplication is Montgomery multiplication in the CIOS form (Coarsely
 * Integrated Operand Scanning) of Koc, Acar, Kaliski, "Analyzing and Comparing
 * Montgomery Multiplication Algorithms", IEEE Micro 16(3), 1996, section 4: per limb
 * b_i of b, t += a b_i, then m = t_0 (-r^-1 mod 2^64), t = (t + m r) / 2^64; products
 * in `unsigned __int128`, with gnark-crypto's "no-carry" shortcut (valid because r's
 * top limb 0x73ed... is below 2^63 - 1). Bounds: for a, b < r the running value
 * stays below 2r and within 4 limbs, so a final conditional subtraction returns a
 * result < r; each 128-bit accumulation is at most (2^64 - 1)^2 + 2 (2^64 - 1) =
 * 2^128 - 1, so it never overflows. Addition and subtraction take operands < r and
 * return results < r (one conditional subtraction / addition of r; 2r < 2^256, so
 * the sum never carries out).
 *
 * Poseidon code paths. The permutation and sponge loops (poseidon_isa.h) are compiled
 * twice: portable C, and on x86-64 with GCC/Clang a copy built with
 * __attribute__((target("bmi2,adx"))) whose Montgomery product is the CIOS above in
 * inline assembly with two carry chains (mulx, adcx, adox; the structure of
 * gnark-crypto's amd64 field multiplication) and whose dot products use the mulx/ADX
 * intrinsics. The module picks the second at import when CPUID reports BMI2 and ADX
 * (no -march flag, so the extension built here also runs on older x86-64);
 * set_isa("generic") forces the portable one (tests run both). Matrix rows and the
 * sparse partial rounds' first row are lazy dot products, reduced once per row (bounds
 * in poseidon_isa.h). Measured on the 2-core EPYC: 1.6x the previous kernel at t = 3 and
 * t = 5 (BENCHMARKS.md).
 *
 * Conversion. Python ints enter through _PyLong_AsByteArray (3.11, 3.12) or
 * PyLong_AsNativeBytes (3.13+) as 32 little-endian bytes; "reduce" inputs (the
 * permutation, NTT, batch inversion: their Python twins take any int and reduce it)
 * outside [0, 2^256) go through Python's % r first, and values in [r, 2^256) get
 * conditional subtractions; "strict" inputs (the sponge's) outside [0, r) raise
 * zkproofs.errors.NonCanonicalFieldElement naming the input, as the Python does.
 *
 * Not constant-time. Conditional subtractions (also the up-to-four of a lazy reduction), the zero tests, the skipped scaling
 * when a twist is 1 and Fermat inversion's square-and-multiply branch on data, so
 * running time depends (slightly) on the values. Where the kernels are used, every
 * input is either public or the caller's own secret processed on the caller's own
 * machine: Poseidon over tree leaves and nodes (the exchange's balances and salts,
 * hashed by the exchange; the customer's and auditor's recomputations use values
 * they were given), the prover's NTTs and batch inversions (the prover's witness,
 * on the prover's machine), setup's Lagrange evaluation at tau (the trapdoor, once,
 * on the machine of whoever runs setup). A timing side channel would need an
 * attacker measuring that machine's computation, which zkproofs' threat model
 * excludes (as it excludes one reading its memory). Do not reuse these routines
 * where an attacker can time operations on someone else's secret.
 *
 * Merkle-sum tree levels (merkle_sum.h): leaves and whole levels of parents from and
 * to the tree's byte records, so a tree build makes no Python object per node.
 *
 * G1 and G2 (curves.h: the group law over the base field of fq.h, for both groups).
 * Fixed-base multiplication (fixed_base.h): Groth16 setup's key points as multiples of
 * the generators, from a shared window table, written straight into snarkjs' section
 * layout. Multi-scalar multiplication (msm.h): the prover's sums over a proving key's
 * points, Pippenger's bucket method. Their Python twins are the curve backend's windowed
 * multiplication and MSM (reference.py).
 *
 * The GIL is released around every batched loop; Python objects are only touched
 * (converted in and out) with the GIL held, in chunks, so threads and process pools
 * both scale.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_ADX_PATH 1
#include <cpuid.h>
#include <immintrin.h>
#else
#define HAVE_ADX_PATH 0
#endif

typedef unsigned __int128 u128;
typedef struct { uint64_t l[4]; } fr;

#define P0 0xffffffff00000001ULL
#define P1 0x53bda402fffe5bfeULL
#define P2 0x3339d80809a1d805ULL
#define P3 0x73eda753299d7d48ULL
static const uint64_t INV = 0xfffffffeffffffffULL;            /* -r^-1 mod 2^64 */
static const fr R2 = {{0xc999e990f3f29c6dULL, 0x2b6cedcb87925c23ULL,
                       0x05d314967254398fULL, 0x0748d9d99f59ff11ULL}}; /* 2^512 mod r */
static const fr MONT_ONE = {{0x00000001fffffffeULL, 0x5884b7fa00034802ULL,
                             0x998c4fefecbc4ff5ULL, 0x1824b159acc5056fULL}}; /* 2^256 mod r */
static const fr ZERO = {{0, 0, 0, 0}};

#define MAX_T 17          /* widest Poseidon state supported (the sponge's rate is t - 1) */
#define CHUNK 2048        /* states or rows converted per GIL release */

static PyObject *NonCanonical;  /* zkproofs.errors.NonCanonicalFieldElement */
static PyObject *R_obj;         /* r as a Python int */

/* ---------------------------------------------------------------- arithmetic */

static inline int geq_p(const uint64_t a[4]) {
    if (a[3] != P3) return a[3] > P3;
    if (a[2] != P2) return a[2] > P2;
    if (a[1] != P1) return a[1] > P1;
    return a[0] >= P0;
}

static inline void sub_p(uint64_t a[4]) {
    u128 d;
    uint64_t borrow;
    d = (u128)a[0] - P0;                     a[0] = (uint64_t)d; borrow = (uint64_t)(d >> 64) & 1;
    d = (u128)a[1] - P1 - borrow;            a[1] = (uint64_t)d; borrow = (uint64_t)(d >> 64) & 1;
    d = (u128)a[2] - P2 - borrow;            a[2] = (uint64_t)d; borrow = (uint64_t)(d >> 64) & 1;
    d = (u128)a[3] - P3 - borrow;            a[3] = (uint64_t)d;
}

static inline int fr_is_zero(const fr *a) {
    return (a->l[0] | a->l[1] | a->l[2] | a->l[3]) == 0;
}

static inline int fr_eq(const fr *a, const fr *b) {
    return a->l[0] == b->l[0] && a->l[1] == b->l[1] && a->l[2] == b->l[2] && a->l[3] == b->l[3];
}

/* o = a + b mod r; a, b < r. */
static inline void fr_add(fr *o, const fr *a, const fr *b) {
    u128 c;
    uint64_t t[4];
    c = (u128)a->l[0] + b->l[0];             t[0] = (uint64_t)c;
    c = (u128)a->l[1] + b->l[1] + (c >> 64); t[1] = (uint64_t)c;
    c = (u128)a->l[2] + b->l[2] + (c >> 64); t[2] = (uint64_t)c;
    c = (u128)a->l[3] + b->l[3] + (c >> 64); t[3] = (uint64_t)c;  /* < 2r < 2^256: no carry out */
    if (geq_p(t)) sub_p(t);
    memcpy(o->l, t, sizeof t);
}

/* o = a - b mod r; a, b < r. */
static inline void fr_sub(fr *o, const fr *a, const fr *b) {
    u128 d;
    uint64_t t[4], borrow;
    d = (u128)a->l[0] - b->l[0];             t[0] = (uint64_t)d; borrow = (uint64_t)(d >> 64) & 1;
    d = (u128)a->l[1] - b->l[1] - borrow;    t[1] = (uint64_t)d; borrow = (uint64_t)(d >> 64) & 1;
    d = (u128)a->l[2] - b->l[2] - borrow;    t[2] = (uint64_t)d; borrow = (uint64_t)(d >> 64) & 1;
    d = (u128)a->l[3] - b->l[3] - borrow;    t[3] = (uint64_t)d; borrow = (uint64_t)(d >> 64) & 1;
    if (borrow) {  /* add r back; the carry out cancels the borrow */
        u128 c;
        c = (u128)t[0] + P0;             t[0] = (uint64_t)c;
        c = (u128)t[1] + P1 + (c >> 64); t[1] = (uint64_t)c;
        c = (u128)t[2] + P2 + (c >> 64); t[2] = (uint64_t)c;
        c = (u128)t[3] + P3 + (c >> 64); t[3] = (uint64_t)c;
    }
    memcpy(o->l, t, sizeof t);
}

/* o = a b / 2^256 mod r (Montgomery product, CIOS); a, b < r; o may alias a or b.
   With the "no-carry" shortcut of gnark-crypto (ConsenSys, 2020): since r's top limb
   is below 2^63 - 1, the running value fits 4 limbs and the two carry words of the
   textbook CIOS (t_4, t_5) are never needed; the result is < 2r before the final
   conditional subtraction. */
static inline void fr_mul(fr *o, const fr *a, const fr *b) {
    uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0, A, C, m;
    const uint64_t a0 = a->l[0], a1 = a->l[1], a2 = a->l[2], a3 = a->l[3];
    u128 x;
    for (int i = 0; i < 4; i++) {
        const uint64_t bi = b->l[i];
        x = (u128)a0 * bi + t0;          t0 = (uint64_t)x; A = (uint64_t)(x >> 64);
        m = t0 * INV;
        x = (u128)m * P0 + t0;           C = (uint64_t)(x >> 64);
        x = (u128)a1 * bi + t1 + A;      t1 = (uint64_t)x; A = (uint64_t)(x >> 64);
        x = (u128)m * P1 + t1 + C;       t0 = (uint64_t)x; C = (uint64_t)(x >> 64);
        x = (u128)a2 * bi + t2 + A;      t2 = (uint64_t)x; A = (uint64_t)(x >> 64);
        x = (u128)m * P2 + t2 + C;       t1 = (uint64_t)x; C = (uint64_t)(x >> 64);
        x = (u128)a3 * bi + t3 + A;      t3 = (uint64_t)x; A = (uint64_t)(x >> 64);
        x = (u128)m * P3 + t3 + C;       t2 = (uint64_t)x; C = (uint64_t)(x >> 64);
        t3 = C + A;
    }
    uint64_t t[4] = {t0, t1, t2, t3};
    if (geq_p(t)) sub_p(t);
    memcpy(o->l, t, sizeof t);
}

/* o = a^e (Montgomery in, Montgomery out), e as 4 little-endian limbs; square-and-multiply. */
static void fr_pow(fr *o, const fr *a, const uint64_t e[4]) {
    fr acc = MONT_ONE, base = *a;
    for (int i = 0; i < 4; i++) {
        uint64_t word = e[i];
        for (int j = 0; j < 64; j++) {
            if (word & 1) fr_mul(&acc, &acc, &base);
            fr_mul(&base, &base, &base);
            word >>= 1;
        }
    }
    *o = acc;
}

/* o = a^-1 = a^(r-2) (Fermat); a != 0. */
static void fr_inv(fr *o, const fr *a) {
    static const uint64_t r_minus_2[4] = {P0 - 2, P1, P2, P3};
    fr_pow(o, a, r_minus_2);
}

static inline void fr_to_mont(fr *a) { fr_mul(a, a, &R2); }

static inline void fr_from_mont(fr *a) {
    static const fr one = {{1, 0, 0, 0}};
    fr_mul(a, a, &one);
}

/* -------------------------------------------------------------- conversion */

static void limbs_from_bytes(uint64_t l[4], const unsigned char b[32]) {
    for (int i = 0; i < 4; i++) {
        uint64_t w = 0;
        for (int j = 7; j >= 0; j--) w = (w << 8) | b[8 * i + j];
        l[i] = w;
    }
}

static void limbs_to_bytes(unsigned char b[32], const uint64_t l[4]) {
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++) b[8 * i + j] = (unsigned char)(l[i] >> (8 * j));
}

/* 32 little-endian bytes of a non-negative int < 2^256: 0, or 1 (out of range, no
   exception set), or -1 (exception set: not an int). */
static int int_to_bytes(PyObject *o, unsigned char buf[32]) {
    if (!PyLong_Check(o)) {
        PyErr_Format(PyExc_TypeError, "expected an int, got %.80s", Py_TYPE(o)->tp_name);
        return -1;
    }
#if PY_VERSION_HEX >= 0x030D0000
    Py_ssize_t need = PyLong_AsNativeBytes(o, buf, 32, Py_ASNATIVEBYTES_LITTLE_ENDIAN |
                                           Py_ASNATIVEBYTES_UNSIGNED_BUFFER | Py_ASNATIVEBYTES_REJECT_NEGATIVE);
    if (need < 0) { PyErr_Clear(); return 1; }
    return need > 32 ? 1 : 0;
#else
    if (_PyLong_AsByteArray((PyLongObject *)o, buf, 32, 1, 0) < 0) { PyErr_Clear(); return 1; }
    return 0;
#endif
}

/* A Python int to Montgomery form. strict: 0 ok, 1 not in [0, r) (no exception set),
   -1 exception set. Otherwise (reduce) any int is taken mod r: 0 or -1. */
static int load(PyObject *o, fr *out, int strict) {
    unsigned char buf[32];
    int rc = int_to_bytes(o, buf);
    if (rc < 0) {
        if (strict) { PyErr_Clear(); return 1; }
        return -1;
    }
    if (rc == 1) {
        if (strict) return 1;
        PyObject *reduced = PyNumber_Remainder(o, R_obj);
        if (reduced == NULL) return -1;
        rc = int_to_bytes(reduced, buf);
        Py_DECREF(reduced);
        if (rc != 0) {
            if (rc > 0) PyErr_SetString(PyExc_ArithmeticError, "x % r out of range");
            return -1;
        }
    }
    limbs_from_bytes(out->l, buf);
    if (geq_p(out->l)) {
        if (strict) return 1;
        while (geq_p(out->l)) sub_p(out->l);
    }
    fr_to_mont(out);
    return 0;
}

static PyObject *store(const fr *a) {
    fr x = *a;
    unsigned char buf[32];
    fr_from_mont(&x);
    limbs_to_bytes(buf, x.l);
#if PY_VERSION_HEX >= 0x030D0000
    return PyLong_FromUnsignedNativeBytes(buf, 32, Py_ASNATIVEBYTES_LITTLE_ENDIAN);
#else
    return _PyLong_FromByteArray(buf, 32, 1, 0);
#endif
}

/* A list of the n elements of v as Python ints. */
static PyObject *store_list(const fr *v, Py_ssize_t n) {
    PyObject *list = PyList_New(n);
    if (list == NULL) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *x = store(&v[i]);
        if (x == NULL) { Py_DECREF(list); return NULL; }
        PyList_SET_ITEM(list, i, x);
    }
    return list;
}

/* A sequence of Python ints (reduce mode) into a new array of n elements (n >= len,
   zero-padded); NULL with an exception set on failure. */
static fr *load_vector(PyObject *seq, Py_ssize_t n, Py_ssize_t *len_out) {
    PyObject *fast = PySequence_Fast(seq, "expected a sequence of ints");
    if (fast == NULL) return NULL;
    Py_ssize_t len = PySequence_Fast_GET_SIZE(fast);
    if (n < 0) n = len;
    if (len > n) {
        Py_DECREF(fast);
        PyErr_Format(PyExc_ValueError, "%zd values do not fit a vector of %zd", len, n);
        return NULL;
    }
    fr *v = PyMem_RawMalloc(sizeof(fr) * (size_t)(n ? n : 1));
    if (v == NULL) { Py_DECREF(fast); PyErr_NoMemory(); return NULL; }
    PyObject **items = PySequence_Fast_ITEMS(fast);
    for (Py_ssize_t i = 0; i < len; i++) {
        if (load(items[i], &v[i], 0) < 0) { Py_DECREF(fast); PyMem_RawFree(v); return NULL; }
    }
    for (Py_ssize_t i = len; i < n; i++) v[i] = ZERO;
    Py_DECREF(fast);
    if (len_out) *len_out = len;
    return v;
}

static int load_scalar(PyObject *o, fr *out) { return load(o, out, 0); }

/* ------------------------- G1 / G2: fixed-base (Groth16 setup) and MSM (the prover) */

#include "curves.h"
#include "fixed_base.h"
#include "msm.h"

/* ------------------------------------------------------------------ Poseidon */

/* The optimised constants of one instance (zkproofs/poseidon/optimized.py: appendix B
   of Grassi et al., USENIX Security 2021), all in Montgomery form, in one block. */
typedef struct {
    int t, half, rp;
    fr *first;    /* half rows of t: constants of the first full rounds */
    fr *mds;      /* t x t, row-major */
    fr *pre;      /* M_pre, t x t */
    fr *partial;  /* rp scalars a_j */
    fr *sparse;   /* rp records of 2t - 1: m00, v[t-1], w[t-1] */
    fr *last;     /* half rows of t */
    fr *block;
    uint64_t *ifma;  /* the same constants as block, x 2^260 mod r in 5 limbs of 52 bits (poseidon_ifma.h) */
} poseidon_t;

#define FR_ADX 0
#include "poseidon_isa.h"
#undef FR_ADX
#if HAVE_ADX_PATH
#define FR_ADX 1
#include "poseidon_isa.h"
#undef FR_ADX
#include "poseidon_ifma.h"
#endif

typedef void (*permute_batch_fn)(const poseidon_t *, fr *, Py_ssize_t);
typedef void (*sponge_batch_fn)(const poseidon_t *, const fr *, Py_ssize_t, Py_ssize_t, const fr *, fr *);
static permute_batch_fn permute_batch = permute_batch_generic;
static sponge_batch_fn sponge_batch = sponge_batch_generic;
static const char *isa_name = "generic";

/* 1 if this CPU has BMI2 and ADX (CPUID leaf 7, sub-leaf 0: EBX bits 8 and 19). */
static int cpu_has_adx(void) {
#if HAVE_ADX_PATH
    unsigned int a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b >> 8 & 1) && (b >> 19 & 1);
#else
    return 0;
#endif
}

/* 1 if this CPU has AVX512F and AVX512_IFMA (CPUID leaf 7, sub-leaf 0: EBX bits 16 and 21)
   and the OS saves the opmask and ZMM state (CPUID leaf 1 ECX bit 27 OSXSAVE, then XCR0
   bits 1, 2 and 5-7). */
static int cpu_has_ifma(void) {
#if HAVE_ADX_PATH
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c >> 27 & 1)) return 0;
    unsigned int lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0xe6) != 0xe6) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b >> 16 & 1) && (b >> 21 & 1);
#else
    return 0;
#endif
}

/* Select the Poseidon code path: "ifma" (only if the CPU has AVX512F and AVX512_IFMA),
   "adx" (only if it has BMI2 and ADX) or "generic". */
static int select_isa(const char *name) {
    if (strcmp(name, "generic") == 0) {
        permute_batch = permute_batch_generic;
        sponge_batch = sponge_batch_generic;
        isa_name = "generic";
        fq_adx = 0;
        return 0;
    }
#if HAVE_ADX_PATH
    if (strcmp(name, "adx") == 0 && cpu_has_adx()) {
        permute_batch = permute_batch_adx;
        sponge_batch = sponge_batch_adx;
        isa_name = "adx";
        fq_adx = 1;
        return 0;
    }
    if (strcmp(name, "ifma") == 0 && cpu_has_ifma() && cpu_has_adx()) {  /* a lone state takes the ADX path */
        permute_batch = permute_batch_ifma;
        sponge_batch = sponge_batch_ifma;
        isa_name = "ifma";
        fq_adx = 1;
        return 0;
    }
#endif
    return -1;
}

static void poseidon_free(PyObject *capsule) {
    poseidon_t *p = PyCapsule_GetPointer(capsule, "zkproofs.poseidon");
    if (p) { PyMem_RawFree(p->block); PyMem_RawFree(p->ifma); PyMem_RawFree(p); }
}

static poseidon_t *get_poseidon(PyObject *capsule) {
    return PyCapsule_GetPointer(capsule, "zkproofs.poseidon");
}

/* poseidon_new(t, half, rp, constants): constants is the flat list
   first (half t) | mds (t t) | pre (t t) | partial (rp) | sparse (rp (2t - 1)) | last (half t). */
static PyObject *py_poseidon_new(PyObject *self, PyObject *args) {
    int t, half, rp;
    PyObject *flat;
    if (!PyArg_ParseTuple(args, "iiiO", &t, &half, &rp, &flat)) return NULL;
    if (t < 2 || t > MAX_T || half < 1 || rp < 0) {
        PyErr_Format(PyExc_ValueError, "Poseidon kernel: unsupported instance t=%d, R_F/2=%d, R_P=%d (2 <= t <= %d)",
                     t, half, rp, MAX_T);
        return NULL;
    }
    Py_ssize_t count = (Py_ssize_t)half * t * 2 + 2 * (Py_ssize_t)t * t + rp + (Py_ssize_t)rp * (2 * t - 1);
    Py_ssize_t len;
    fr *block = load_vector(flat, -1, &len);
    if (block == NULL) return NULL;
    if (len != count) {
        PyMem_RawFree(block);
        PyErr_Format(PyExc_ValueError, "Poseidon kernel: expected %zd constants, got %zd", count, len);
        return NULL;
    }
    poseidon_t *p = PyMem_RawMalloc(sizeof *p);
    uint64_t *ifma = PyMem_RawMalloc(sizeof(uint64_t) * 5 * (size_t)count);
    if (p == NULL || ifma == NULL) { PyMem_RawFree(block); PyMem_RawFree(p); PyMem_RawFree(ifma); return PyErr_NoMemory(); }
#if HAVE_ADX_PATH
    for (Py_ssize_t i = 0; i < count; i++) fr_to_52(&ifma[5 * i], &block[i]);
#endif
    p->t = t; p->half = half; p->rp = rp; p->block = block; p->ifma = ifma;
    p->first = block;
    p->mds = p->first + half * t;
    p->pre = p->mds + t * t;
    p->partial = p->pre + t * t;
    p->sparse = p->partial + rp;
    p->last = p->sparse + rp * (2 * t - 1);
    PyObject *capsule = PyCapsule_New(p, "zkproofs.poseidon", poseidon_free);
    if (capsule == NULL) { PyMem_RawFree(block); PyMem_RawFree(ifma); PyMem_RawFree(p); }
    return capsule;
}

/* permute_many(capsule, states) -> list of lists: each state any t ints (reduced mod r). */
static PyObject *py_permute_many(PyObject *self, PyObject *args) {
    PyObject *capsule, *states;
    if (!PyArg_ParseTuple(args, "OO", &capsule, &states)) return NULL;
    poseidon_t *p = get_poseidon(capsule);
    if (p == NULL) return NULL;
    const int t = p->t;
    PyObject *outer = PySequence_Fast(states, "states must be a sequence");
    if (outer == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(outer);
    PyObject *result = PyList_New(n);
    fr *buf = PyMem_RawMalloc(sizeof(fr) * (size_t)t * CHUNK);
    if (result == NULL || buf == NULL) goto fail;
    for (Py_ssize_t start = 0; start < n; start += CHUNK) {
        Py_ssize_t count = n - start < CHUNK ? n - start : CHUNK;
        for (Py_ssize_t k = 0; k < count; k++) {
            PyObject *row = PySequence_Fast(PySequence_Fast_GET_ITEM(outer, start + k), "a state must be a sequence");
            if (row == NULL) goto fail;
            if (PySequence_Fast_GET_SIZE(row) != t) {
                PyErr_Format(PyExc_ValueError, "Poseidon state must have %d elements, got %zd", t, PySequence_Fast_GET_SIZE(row));
                Py_DECREF(row);
                goto fail;
            }
            for (int i = 0; i < t; i++) {
                if (load(PySequence_Fast_GET_ITEM(row, i), &buf[k * t + i], 0) < 0) { Py_DECREF(row); goto fail; }
            }
            Py_DECREF(row);
        }
        Py_BEGIN_ALLOW_THREADS
        permute_batch(p, buf, count);
        Py_END_ALLOW_THREADS
        for (Py_ssize_t k = 0; k < count; k++) {
            PyObject *out = store_list(&buf[k * t], t);
            if (out == NULL) goto fail;
            PyList_SET_ITEM(result, start + k, out);
        }
    }
    PyMem_RawFree(buf);
    Py_DECREF(outer);
    return result;
fail:
    PyMem_RawFree(buf);
    Py_XDECREF(result);
    Py_DECREF(outer);
    return NULL;
}

/* hash_many(capsule, inputs) -> list of ints: the sponge of zkproofs/poseidon/native.py
   over each row (rows of one common length L >= 1, canonical elements). */
static PyObject *py_hash_many(PyObject *self, PyObject *args) {
    PyObject *capsule, *inputs;
    if (!PyArg_ParseTuple(args, "OO", &capsule, &inputs)) return NULL;
    poseidon_t *p = get_poseidon(capsule);
    if (p == NULL) return NULL;
    PyObject *outer = PySequence_Fast(inputs, "inputs must be a sequence");
    if (outer == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(outer);
    if (n == 0) { Py_DECREF(outer); return PyList_New(0); }
    PyObject *first = PySequence_Fast(PySequence_Fast_GET_ITEM(outer, 0), "an input must be a sequence");
    if (first == NULL) { Py_DECREF(outer); return NULL; }
    Py_ssize_t length = PySequence_Fast_GET_SIZE(first);
    Py_DECREF(first);
    if (length == 0) {
        Py_DECREF(outer);
        PyErr_SetString(PyExc_ValueError, "poseidon_hash needs at least one input");
        return NULL;
    }
    Py_ssize_t chunk = CHUNK;
    PyObject *result = PyList_New(n);
    fr *rows = PyMem_RawMalloc(sizeof(fr) * (size_t)length * (size_t)chunk);
    fr *out = PyMem_RawMalloc(sizeof(fr) * (size_t)chunk);
    if (result == NULL || rows == NULL || out == NULL) { if (result) PyErr_NoMemory(); goto fail; }
    fr capacity = {{(uint64_t)0, (uint64_t)length, 0, 0}};  /* length * 2^64 */
    fr_to_mont(&capacity);
    for (Py_ssize_t start = 0; start < n; start += chunk) {
        Py_ssize_t count = n - start < chunk ? n - start : chunk;
        for (Py_ssize_t k = 0; k < count; k++) {
            Py_ssize_t j = start + k;
            PyObject *row = PySequence_Fast(PySequence_Fast_GET_ITEM(outer, j), "an input must be a sequence");
            if (row == NULL) goto fail;
            if (PySequence_Fast_GET_SIZE(row) != length) {
                PyErr_Format(PyExc_ValueError, "poseidon_hash_many: input %zd has %zd elements, input 0 has %zd",
                             j, PySequence_Fast_GET_SIZE(row), length);
                Py_DECREF(row);
                goto fail;
            }
            for (Py_ssize_t i = 0; i < length; i++) {
                PyObject *x = PySequence_Fast_GET_ITEM(row, i);
                int rc = load(x, &rows[k * length + i], 1);
                if (rc != 0) {
                    if (rc > 0) PyErr_Format(NonCanonical, "Poseidon input %zd: %R is not in [0, r)", i, x);
                    Py_DECREF(row);
                    goto fail;
                }
            }
            Py_DECREF(row);
        }
        Py_BEGIN_ALLOW_THREADS
        sponge_batch(p, rows, length, count, &capacity, out);
        Py_END_ALLOW_THREADS
        for (Py_ssize_t k = 0; k < count; k++) {
            PyObject *x = store(&out[k]);
            if (x == NULL) goto fail;
            PyList_SET_ITEM(result, start + k, x);
        }
    }
    PyMem_RawFree(rows);
    PyMem_RawFree(out);
    Py_DECREF(outer);
    return result;
fail:
    PyMem_RawFree(rows);
    PyMem_RawFree(out);
    Py_XDECREF(result);
    Py_DECREF(outer);
    return NULL;
}

/* ------------------------------------------------------- Merkle-sum tree levels */

#include "merkle_sum.h"

/* ----------------------------------------------------------------------- NTT */

/* a[i] *= factor * step^i for i < n. */
static void scale_powers(fr *a, size_t n, const fr *factor, const fr *step) {
    fr power = *factor;
    for (size_t i = 0; i < n; i++) {
        fr_mul(&a[i], &a[i], &power);
        fr_mul(&power, &power, step);
    }
}

/* In-place iterative radix-2 Cooley-Tukey NTT of a (length n = 2^k) with root omega:
   bit-reversal permutation, then k layers of n / 2 butterflies. O(n log n). */
static int ntt_inplace(fr *a, size_t n, const fr *omega) {
    if (n < 2) return 0;
    for (size_t i = 1, j = 0; i < n; i++) {
        size_t bit = n >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j |= bit;
        if (i < j) { fr tmp = a[i]; a[i] = a[j]; a[j] = tmp; }
    }
    size_t half_n = n / 2;
    fr *tw = PyMem_RawMalloc(sizeof(fr) * half_n);  /* tw[k] = omega^k */
    if (tw == NULL) return -1;
    tw[0] = MONT_ONE;
    for (size_t k = 1; k < half_n; k++) fr_mul(&tw[k], &tw[k - 1], omega);
    for (size_t half = 1; half < n; half <<= 1) {
        size_t stride = n / (2 * half);
        for (size_t start = 0; start < n; start += 2 * half) {
            for (size_t k = 0; k < half; k++) {
                fr *x = &a[start + k], *y = &a[start + k + half], v;
                fr_mul(&v, y, &tw[k * stride]);
                fr_sub(y, x, &v);
                fr_add(x, x, &v);
            }
        }
    }
    PyMem_RawFree(tw);
    return 0;
}

/* ntt(values, n, omega, pre_shift, post_factor, post_shift) -> list of n ints:
   a_i = values_i pre_shift^i (values zero-padded to n, a power of two), A = NTT_omega(a),
   out_i = A_i post_factor post_shift^i. */
static PyObject *py_ntt(PyObject *self, PyObject *args) {
    PyObject *values, *omega_o, *pre_o, *factor_o, *post_o;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "OnOOOO", &values, &n, &omega_o, &pre_o, &factor_o, &post_o)) return NULL;
    if (n < 1 || (n & (n - 1))) {
        PyErr_Format(PyExc_ValueError, "NTT size %zd is not a power of two", n);
        return NULL;
    }
    fr omega, pre, factor, post;
    if (load_scalar(omega_o, &omega) || load_scalar(pre_o, &pre) || load_scalar(factor_o, &factor) ||
        load_scalar(post_o, &post))
        return NULL;
    fr *a = load_vector(values, n, NULL);
    if (a == NULL) return NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    if (!fr_eq(&pre, &MONT_ONE)) scale_powers(a, (size_t)n, &MONT_ONE, &pre);
    rc = ntt_inplace(a, (size_t)n, &omega);
    if (rc == 0 && !(fr_eq(&factor, &MONT_ONE) && fr_eq(&post, &MONT_ONE))) scale_powers(a, (size_t)n, &factor, &post);
    Py_END_ALLOW_THREADS
    PyObject *result = rc == 0 ? store_list(a, n) : PyErr_NoMemory();
    PyMem_RawFree(a);
    return result;
}

/* --------------------------------------------------------- batch inversion */

/* batch_inverse(values) -> list: Montgomery's trick, one inversion and 3(n - 1) products. */
static PyObject *py_batch_inverse(PyObject *self, PyObject *arg) {
    Py_ssize_t n;
    fr *v = load_vector(arg, -1, &n);
    if (v == NULL) return NULL;
    fr *prefix = PyMem_RawMalloc(sizeof(fr) * (size_t)(n + 1));
    if (prefix == NULL) { PyMem_RawFree(v); return PyErr_NoMemory(); }
    int zero;
    Py_BEGIN_ALLOW_THREADS
    prefix[0] = MONT_ONE;
    for (Py_ssize_t i = 0; i < n; i++) fr_mul(&prefix[i + 1], &prefix[i], &v[i]);
    zero = fr_is_zero(&prefix[n]);
    if (!zero) {
        fr acc;
        fr_inv(&acc, &prefix[n]);
        for (Py_ssize_t i = n - 1; i >= 0; i--) {
            fr value = v[i];
            fr_mul(&v[i], &acc, &prefix[i]);
            fr_mul(&acc, &acc, &value);
        }
    }
    Py_END_ALLOW_THREADS
    PyMem_RawFree(prefix);
    if (zero) {
        PyMem_RawFree(v);
        PyErr_SetString(PyExc_ZeroDivisionError, "batch_inverse of a zero element");
        return NULL;
    }
    PyObject *result = store_list(v, n);
    PyMem_RawFree(v);
    return result;
}

/* ------------------------------------------------------------------- module */

/* set_isa(name): choose the Poseidon code path ("adx" or "generic"); ValueError if
   this build or CPU lacks it. isa() -> the active one. */
static PyObject *py_set_isa(PyObject *self, PyObject *arg) {
    const char *name = PyUnicode_Check(arg) ? PyUnicode_AsUTF8(arg) : NULL;
    if (name == NULL || select_isa(name) != 0) {
        PyErr_Format(PyExc_ValueError, "Poseidon code path %R is not available here (available: %s)", arg,
                     !cpu_has_adx() ? "'generic'" : cpu_has_ifma() ? "'ifma', 'adx', 'generic'" : "'adx', 'generic'");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *py_isa(PyObject *self, PyObject *unused) { return PyUnicode_FromString(isa_name); }

static PyMethodDef methods[] = {
    {"set_isa", py_set_isa, METH_O,
     "set_isa(name): Poseidon code path, 'ifma' (AVX-512 IFMA CPUs), 'adx' (BMI2 + ADX CPUs) or 'generic'"},
    {"isa", py_isa, METH_NOARGS, "isa() -> the active Poseidon code path"},
    {"poseidon_new", py_poseidon_new, METH_VARARGS, "poseidon_new(t, half, rp, flat_constants) -> capsule"},
    {"permute_many", py_permute_many, METH_VARARGS, "permute_many(capsule, states) -> list of states"},
    {"hash_many", py_hash_many, METH_VARARGS, "hash_many(capsule, inputs) -> list of digests"},
    {"merkle_sum_leaves", py_merkle_sum_leaves, METH_VARARGS,
     "merkle_sum_leaves(capsule_t3, capsule_t5, keys, amounts, n_amounts, n_sums, sum_bytes, tag, prefix) -> leaf records"},
    {"merkle_sum_level", py_merkle_sum_level, METH_VARARGS,
     "merkle_sum_level(capsule, records, n_sums, sum_bytes, slot_bits, tag) -> parent records"},
    {"ntt", py_ntt, METH_VARARGS, "ntt(values, n, omega, pre_shift, post_factor, post_shift) -> list"},
    {"batch_inverse", py_batch_inverse, METH_O, "batch_inverse(values) -> list"},
    {"fixed_base_table", py_fixed_base_table, METH_VARARGS, "fixed_base_table(group, base_lem, window) -> capsule"},
    {"fixed_base_mul", py_fixed_base_mul, METH_VARARGS, "fixed_base_mul(capsule, scalars) -> LEM bytes"},
    {"fixed_base_msm", py_fixed_base_msm, METH_VARARGS, "fixed_base_msm(capsules, scalars) -> LEM bytes of one point"},
    {"fq_from_mont_many", py_fq_from_mont_many, METH_O, "fq_from_mont_many(lem_bytes) -> standard-form bytes"},
    {"msm_bases", py_msm_bases, METH_VARARGS, "msm_bases(group, lem_bytes) -> capsule"},
    {"msm", py_msm, METH_VARARGS, "msm(capsule, scalars, offset) -> LEM bytes of the sum"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "zkproofs.kernels._native",
    "Batched BLS12-381 scalar-field kernels in C (see fr.c's opening comment).", -1, methods,
};

PyMODINIT_FUNC PyInit__native(void) {
    PyObject *errors = PyImport_ImportModule("zkproofs.errors");
    if (errors == NULL) return NULL;
    NonCanonical = PyObject_GetAttrString(errors, "NonCanonicalFieldElement");
    Py_DECREF(errors);
    if (NonCanonical == NULL) return NULL;
    R_obj = PyLong_FromString("73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001", NULL, 16);
    if (R_obj == NULL) return NULL;
    if (fq_self_test(cpu_has_adx()) != 0) {
        PyErr_SetString(PyExc_ImportError, "the compiled F_q arithmetic failed its self-test (a miscompiled carry chain: "
                                           "an old compiler?); the reference kernels will be used");
        return NULL;
    }
    if (select_isa("ifma") != 0 && cpu_has_adx()) select_isa("adx");  /* the fastest this CPU has */
    return PyModule_Create(&module);
}
