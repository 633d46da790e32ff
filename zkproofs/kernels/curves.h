/*
 * BLS12-381 G1 and G2 for the setup and prover kernels, included by fr.c: the group law
 * (curve_impl.h) with fixed-base multiplication (fixed_base_impl.h, Python wrappers in
 * fixed_base.h) and multi-scalar multiplication (msm_impl.h, wrappers in msm.h),
 * instantiated over F_q (G1) and F_q2 (G2) from fq.h. Functions are prefixed g1_ / g2_.
 */
#include "fq.h"

/* The ints of a sequence as 4 little-endian limbs each (standard form), every one in
   [0, r): a new PyMem_RawMalloc'd array of *n_out scalars, or NULL with ValueError
   ("<what>: scalar #i is not in [0, r)", also for a bool or a non-int) or TypeError (not a
   sequence) set. Needs the GIL. */
static uint64_t *scalar_limbs(PyObject *seq, const char *what, Py_ssize_t *n_out) {
    PyObject *fast = PySequence_Fast(seq, "expected a sequence of ints");
    if (fast == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    uint64_t *limbs = PyMem_RawMalloc(sizeof(uint64_t) * 4 * (size_t)(n ? n : 1));
    if (limbs == NULL) { Py_DECREF(fast); PyErr_NoMemory(); return NULL; }
    PyObject **items = PySequence_Fast_ITEMS(fast);
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char buf[32];
        int rc = PyBool_Check(items[i]) || !PyLong_Check(items[i]) ? 1 : int_to_bytes(items[i], buf);  /* as the twins: ints only */
        if (rc == 0) {
            limbs_from_bytes(limbs + 4 * i, buf);
            if (geq_p(limbs + 4 * i)) rc = 1;
        }
        if (rc != 0) {
            if (rc > 0) PyErr_Format(PyExc_ValueError, "%s: scalar #%zd is not in [0, r)", what, i);
            Py_DECREF(fast);
            PyMem_RawFree(limbs);
            return NULL;
        }
    }
    Py_DECREF(fast);
    *n_out = n;
    return limbs;
}

/* The c-bit digit of a scalar (4 little-endian limbs) starting at bit `bit` (< 256). */
static inline uint64_t scalar_window(const uint64_t s[4], int bit, int c) {
    int limb = bit >> 6, shift = bit & 63;
    uint64_t digit = s[limb] >> shift;
    if (shift + c > 64 && limb < 3) digit |= s[limb + 1] << (64 - shift);
    return digit & (((uint64_t)1 << c) - 1);
}

#define FE fq
#define FE_ADD fq_add
#define FE_SUB fq_sub
#define FE_MUL fq_mul
#define FE_SQR fq_sqr
#define FE_INV fq_inv
#define FE_IS_ZERO fq_is_zero
#define FE_EQ fq_eq
#define FE_ONE FQ_ONE
#define CURVE(name) g1_##name
#include "curve_impl.h"

static const fq2 FQ2_ONE = {{{0x760900000002fffdULL, 0xebf4000bc40c0002ULL, 0x5f48985753c758baULL,
                              0x77ce585370525745ULL, 0x5c071a97a256ec6dULL, 0x15f65ec3fa80e493ULL}},
                            {{0, 0, 0, 0, 0, 0}}};
#define FE fq2
#define FE_ADD fq2_add
#define FE_SUB fq2_sub
#define FE_MUL fq2_mul
#define FE_SQR fq2_sqr
#define FE_INV fq2_inv
#define FE_IS_ZERO fq2_is_zero
#define FE_EQ fq2_eq
#define FE_ONE FQ2_ONE
#define CURVE(name) g2_##name
#include "curve_impl.h"

