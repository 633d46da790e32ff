/*
 * Fixed-base scalar multiplication (Groth16 setup: every key point is a known multiple of
 * a generator, Groth 2016 section 3.2), a template included by curve_impl.h once per
 * group with its group law in scope.
 */

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
    for (size_t start = 0; start < n; start += FB_BLOCK) {
        size_t count = n - start < FB_BLOCK ? n - start : FB_BLOCK;
        for (size_t k = 0; k < count; k++) {
            const uint64_t *s = scalars + 4 * (start + k);
            CURVE(jac) *a = &acc[k];
            memset(a, 0, sizeof *a);
            for (int i = 0; i < tb->rows; i++) {
                uint64_t digit = scalar_window(s, i * w, w);
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
            fq_store_lem(dst, (const fq *)&aff[k], 2 * sizeof(FE) / sizeof(fq));
        }
    }
    PyMem_RawFree(acc);
    PyMem_RawFree(aff);
    PyMem_RawFree(scratch);
    return 0;
}
#undef FB_BLOCK

/* out (one affine point, LEM as above) = sum_j k_j B_j over n tables of one group (the
   bases B_j fixed: a verification key's IC points, Groth 2016 section 3.2's input
   combination), every scalar k_j 4 little-endian limbs, standard form, k_j < 2^(w_j rows_j).
   Each scalar's non-zero windows are mixed additions into one accumulator: at most
   sum_j rows_j additions and one inversion, no doubling. Not constant-time (public inputs
   only). Runs without the GIL. */
static void CURVE(tables_msm)(const CURVE(table) *const *tables, const uint64_t *scalars, size_t n, unsigned char *out) {
    CURVE(jac) acc;
    memset(&acc, 0, sizeof acc);
    for (size_t j = 0; j < n; j++) {
        const CURVE(table) *tb = tables[j];
        const uint64_t *s = scalars + 4 * j;
        for (int i = 0; i < tb->rows; i++) {
            uint64_t digit = scalar_window(s, i * tb->window, tb->window);
            if (digit) CURVE(madd)(&acc, &acc, &tb->points[(size_t)i * tb->per_row + (digit - 1)]);
        }
    }
    CURVE(aff) aff;
    unsigned char inf;
    FE scratch;
    CURVE(normalize)(&aff, &inf, &acc, 1, &scratch);
    if (inf) memset(out, 0, 2 * sizeof(FE));
    else fq_store_lem(out, (const fq *)&aff, 2 * sizeof(FE) / sizeof(fq));
}
