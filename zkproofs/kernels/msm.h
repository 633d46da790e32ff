/*
 * Multi-scalar multiplication on BLS12-381 G1 and G2 (the Groth16 prover's sums, Groth
 * 2016 section 3.2), included by fr.c after curves.h. The Python twin is
 * zkproofs/kernels/reference.py (the curve backend's MSM over decoded points);
 * tests/test_kernels.py holds them equal.
 *
 * A proving key's query (snarkjs' section bytes, LEM: affine x || y in Montgomery form,
 * the point at infinity all zeros) is loaded once into a capsule of affine points
 * (msm_bases); each proof then runs msm(capsule, scalars, offset) over a contiguous
 * slice, without the GIL, so the prover's threads run several MSMs at once.
 */

#define MSM_MAX_WINDOW 20

/* Additions sharing one inversion for 2^(c-1) buckets: MSM_BATCH, at most half the buckets
   (a bigger batch sends more points to the overflows). */
static size_t msm_batch(int c) {
    size_t half = (size_t)1 << (c - 1) >> 1;
    return half < 1 ? 1 : half < MSM_BATCH ? half : MSM_BATCH;
}

/* The window width minimising (floor(255 / c) + 1) (8 n + 30 2^(c - 1) + 600 n / batch):
   per window, n batched affine additions (about 8 products each), the running sums' mixed
   and full additions per bucket (about 30) and an inversion (about 600) per batch. */
static int msm_window(size_t n) {
    int best = 2;
    double best_cost = 0;
    for (int c = 2; c <= MSM_MAX_WINDOW; c++) {
        double per_window = 8.0 * (double)n + 30.0 * (double)((size_t)1 << (c - 1)) + 600.0 * ((double)n / (double)msm_batch(c) + 1.0);
        double cost = (double)(255 / c + 1) * per_window;
        if (c == 2 || cost < best_cost) { best = c; best_cost = cost; }
    }
    return best;
}

/* Signed c-bit digits of n scalars (4 limbs each, < 2^255), window-major: out[w n + i] in
   [-2^(c-1), 2^(c-1)] with k_i = sum_w out[w n + i] 2^(c w), for w < windows =
   floor(255 / c) + 1 (the top window holds at most c - 1 bits, so its digit plus a carry
   stays at most 2^(c-1) and nothing carries out). */
static void msm_digits(int32_t *out, const uint64_t *limbs, size_t n, int c, int windows) {
    const uint64_t half = (uint64_t)1 << (c - 1);
    for (size_t i = 0; i < n; i++) {
        uint64_t carry = 0;
        for (int w = 0; w < windows; w++) {
            uint64_t d = scalar_window(limbs + 4 * i, w * c, c) + carry;
            carry = d > half;
            out[(size_t)w * n + i] = carry ? (int32_t)d - (int32_t)(half << 1) : (int32_t)d;
        }
    }
}

typedef struct {
    int group; /* 1 or 2 */
    size_t n;
    unsigned char *inf; /* inf[i] = 1: base i is the point at infinity */
    void *points;       /* n g1_aff or g2_aff, Montgomery form */
} msm_bases;

static void msm_bases_free(PyObject *capsule) {
    msm_bases *b = PyCapsule_GetPointer(capsule, "zkproofs.msm_bases");
    if (b == NULL) return;
    PyMem_RawFree(b->inf);
    PyMem_RawFree(b->points);
    PyMem_RawFree(b);
}

/* msm_bases(group, lem) -> capsule: the points of a section (G1: 96 bytes each, G2: 192),
   ValueError naming the first point with a coordinate not < q. Points are not checked to
   be on the curve: a proving key's points come from a checked ceremony or file. */
static PyObject *py_msm_bases(PyObject *self, PyObject *args) {
    int group;
    Py_buffer data;
    if (!PyArg_ParseTuple(args, "iy*", &group, &data)) return NULL;
    PyObject *result = NULL;
    msm_bases *b = NULL;
    size_t point_size = group == 1 ? 96 : 192;
    if (group != 1 && group != 2) {
        PyErr_SetString(PyExc_ValueError, "msm_bases: group must be 1 or 2");
        goto done;
    }
    if ((size_t)data.len % point_size) {
        PyErr_Format(PyExc_ValueError, "msm_bases: %zd bytes is not a whole number of %zu-byte G%d points", data.len, point_size, group);
        goto done;
    }
    b = PyMem_RawCalloc(1, sizeof *b);
    if (b == NULL) { PyErr_NoMemory(); goto done; }
    b->group = group;
    b->n = (size_t)data.len / point_size;
    b->inf = PyMem_RawMalloc(b->n ? b->n : 1);
    b->points = PyMem_RawMalloc(b->n ? b->n * point_size : 1);
    if (b->inf == NULL || b->points == NULL) { PyErr_NoMemory(); goto done; }
    Py_ssize_t bad;
    Py_BEGIN_ALLOW_THREADS
    bad = fq_load_lem((fq *)b->points, data.buf, (Py_ssize_t)(data.len / 48));
    if (bad < 0) {
        const fq *coords = (const fq *)b->points;
        size_t per = point_size / 48;
        for (size_t i = 0; i < b->n; i++) {
            int zero = 1;
            for (size_t j = 0; j < per && zero; j++) zero = fq_is_zero(&coords[i * per + j]);
            b->inf[i] = (unsigned char)zero;
        }
    }
    Py_END_ALLOW_THREADS
    if (bad >= 0) {
        PyErr_Format(PyExc_ValueError, "msm_bases: G%d point #%zd has a coordinate not less than q", group, bad / (Py_ssize_t)(point_size / 48));
        goto done;
    }
    result = PyCapsule_New(b, "zkproofs.msm_bases", msm_bases_free);
    if (result != NULL) b = NULL;
done:
    if (b != NULL) {
        PyMem_RawFree(b->inf);
        PyMem_RawFree(b->points);
        PyMem_RawFree(b);
    }
    PyBuffer_Release(&data);
    return result;
}

/* msm(capsule, scalars, offset) -> bytes: LEM bytes of sum_i k_i P_{offset + i} for the
   ints k_i in [0, r) (ValueError naming the first other one, or a slice past the end).
   Pippenger with signed digits and batched affine buckets (msm_impl.h), without the GIL. */
static PyObject *py_msm(PyObject *self, PyObject *args) {
    PyObject *capsule, *seq;
    Py_ssize_t offset;
    if (!PyArg_ParseTuple(args, "OOn", &capsule, &seq, &offset)) return NULL;
    msm_bases *b = PyCapsule_GetPointer(capsule, "zkproofs.msm_bases");
    if (b == NULL) return NULL;
    Py_ssize_t n;
    uint64_t *limbs = scalar_limbs(seq, "msm", &n);
    if (limbs == NULL) return NULL;
    if (offset < 0 || (size_t)offset > b->n || (size_t)n > b->n - (size_t)offset) {
        PyErr_Format(PyExc_ValueError, "msm: %zd scalars from offset %zd do not fit %zu bases", n, offset, b->n);
        PyMem_RawFree(limbs);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++)  /* a base at infinity contributes nothing (madd cannot add it) */
        if (b->inf[offset + i]) memset(limbs + 4 * i, 0, 4 * sizeof(uint64_t));
    unsigned char out[192];
    size_t out_size = b->group == 1 ? 96 : 192;
    int rc = -1, c = msm_window((size_t)n), windows = 255 / c + 1;
    int32_t *digits = PyMem_RawMalloc(sizeof(int32_t) * (size_t)windows * (size_t)(n ? n : 1));
    if (digits == NULL) { PyMem_RawFree(limbs); return PyErr_NoMemory(); }
    Py_BEGIN_ALLOW_THREADS
    msm_digits(digits, limbs, (size_t)n, c, windows);
    if (b->group == 1) {
        g1_jac acc;
        g1_aff aff;
        unsigned char inf;
        fq scratch;
        rc = g1_msm(&acc, (const g1_aff *)b->points + offset, digits, (size_t)n, c, windows, msm_batch(c));
        if (rc == 0) {
            g1_normalize(&aff, &inf, &acc, 1, &scratch);
            fq_store_lem(out, (const fq *)&aff, 2);
        }
    } else {
        g2_jac acc;
        g2_aff aff;
        unsigned char inf;
        fq2 scratch;
        rc = g2_msm(&acc, (const g2_aff *)b->points + offset, digits, (size_t)n, c, windows, msm_batch(c));
        if (rc == 0) {
            g2_normalize(&aff, &inf, &acc, 1, &scratch);
            fq_store_lem(out, (const fq *)&aff, 4);
        }
    }
    Py_END_ALLOW_THREADS
    PyMem_RawFree(limbs);
    PyMem_RawFree(digits);
    if (rc) return PyErr_NoMemory();
    return PyBytes_FromStringAndSize((const char *)out, (Py_ssize_t)out_size);
}
