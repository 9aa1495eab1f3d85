/*
 * RSAVP1 (s^e mod n) with AVX-512 IFMA, for the PKCS #1 v1.5 checks (RS256/384/512) of
 * rsa_verify.c.
 *
 * Why this file exists: after OpenSSL's per-check set-up was kept (rsa_verify.c), the RSA
 * arithmetic itself was most of what a fresh token costs over a cached one. OpenSSL's public
 * operation multiplies with 64-bit scalar instructions (mulx/adx) whatever the CPU; its IFMA
 * code (rsaz-*-avx512) serves only private keys. A CPU with AVX-512 IFMA multiplies eight 52-bit
 * limbs per instruction, so the same exponentiation takes about half the time
 * (docs/perf-history.md, item 42, has the figures).
 *
 * What it does: the modular exponentiation and nothing else. Numbers are little-endian arrays of
 * 52-bit limbs, 8 per 512-bit vector; the product is Montgomery's, word by word ("almost
 * Montgomery multiplication": results below 2n, never fully reduced until the end), over
 * R = 2^(52 * limbs). Only public values pass through (a public key and a signature), so
 * nothing here needs to be constant time, and nothing is.
 *
 * How it is checked: test/unit/workers/rsa-ifma.test.ts compares its output with OpenSSL's raw
 * public operation (node:crypto publicDecrypt without padding) on random and edge values for
 * several sizes and exponents, and its verdicts with node:crypto's on crafted encodings.
 */
#include "rsa_ifma.h"

#include <stdlib.h>
#include <string.h>

#define MASK52 ((UINT64_C(1) << 52) - 1)
/* 5 vectors (40 limbs, 2080 bits) serve 2048-bit moduli; 10 (4160 bits) serve 4096. */
#define MIN_VECTORS 5
#define MAX_VECTORS 10
#define MAX_LIMBS (8 * MAX_VECTORS)
#define MAX_BYTES 512

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_IFMA 1
#include <immintrin.h>
#endif

typedef bool (*Amm)(uint64_t *out, const uint64_t *a, const uint64_t *b, const uint64_t *m, uint64_t k0);

struct RsaIfma {
  _Alignas(64) uint64_t n[MAX_LIMBS];
  _Alignas(64) uint64_t rr[MAX_LIMBS]; /* R^2 mod n: into Montgomery form by one product */
  unsigned char n_bytes[MAX_BYTES];    /* for the s < n check on the signature's own bytes */
  size_t len;                          /* the modulus's bytes */
  int limbs;                           /* 8 * vectors */
  uint64_t e;
  uint64_t k0; /* -n^-1 mod 2^52 */
  Amm amm;
};

/* Limbs for a modulus of `bits`: R = 2^(52 * limbs) > 4n keeps every product below 2n. */
static int vectors_for(int bits) {
  if (bits < 2048 || bits > 4096) return 0;
  int limbs = (bits + 2 + 51) / 52;
  return (limbs + 7) / 8;
}

size_t rsa_ifma_rr_bits(int bits) {
  int v = vectors_for(bits);
  return v == 0 ? 0 : (size_t)2 * 52 * 8 * (size_t)v;
}

/* Big-endian bytes into 52-bit limbs; the caller has checked that they fit. */
static void limbs_from_bytes(uint64_t *limbs, int count, const unsigned char *bytes, size_t len) {
  memset(limbs, 0, (size_t)count * sizeof *limbs);
  for (size_t i = 0; i < len; i++) {
    uint64_t byte = bytes[len - 1 - i];
    size_t bit = 8 * i;
    size_t at = bit / 52;
    unsigned shift = (unsigned)(bit % 52);
    limbs[at] |= (byte << shift) & MASK52;
    if (shift > 44) limbs[at + 1] |= byte >> (52 - shift);
  }
}

static void bytes_from_limbs(unsigned char *bytes, size_t len, const uint64_t *limbs) {
  for (size_t i = 0; i < len; i++) {
    size_t bit = 8 * i;
    size_t at = bit / 52;
    unsigned shift = (unsigned)(bit % 52);
    uint64_t byte = limbs[at] >> shift;
    if (shift > 44) byte |= limbs[at + 1] << (52 - shift);
    bytes[len - 1 - i] = (unsigned char)byte;
  }
}

/* x >= n, over normalised limbs */
static bool at_least(const uint64_t *x, const uint64_t *n, int count) {
  for (int j = count - 1; j >= 0; j--) {
    if (x[j] != n[j]) return x[j] > n[j];
  }
  return true;
}

static void subtract(uint64_t *x, const uint64_t *n, int count) {
  uint64_t borrow = 0;
  for (int j = 0; j < count; j++) {
    uint64_t d = x[j] - n[j] - borrow;
    borrow = d >> 63;
    x[j] = d & MASK52;
  }
}

#ifdef HAVE_IFMA
#define IFMA __attribute__((target("avx512f,avx512ifma")))

/*
 * out = a * b / R mod n, below 2n, for a and b below 2n with normalised limbs (each below 2^52,
 * which IFMA requires of its operands). Word by word, for each limb b[i], in 512-bit lanes:
 *   acc += lo52(a * b[i]);  y = acc[0] * k0 mod 2^52;  acc += lo52(n * y)
 * makes acc[0] a multiple of 2^52; acc moves down one limb (that division by 2^52 is exact) with
 * acc[0]'s carry, and the high halves of both products, which weigh one limb more, are added at
 * their place after the move.
 *
 * Scheduled so that one step waits on the last as little as it can: the step's additions are two
 * independent chains (the high half of a * b[i] and the low half of a * b[i+1] on the moved acc;
 * the carry and the two halves of n * y on another), summed at the end; and y, the one value
 * that crosses from scalar to vector, is computed from a scalar copy of what acc[0] will hold
 * (acc[1] read before the move, plus the lane-0 products) instead of waiting for the vector sum.
 *
 * Lanes are not normalised in the loop: each gains less than 2^54 a step and leaves after
 * `limbs` steps, so for 80 limbs they stay below 2^61. The carries are propagated once at the
 * end; a carry out of the top (impossible for inputs below 2n) fails. `out` may alias `a` or `b`:
 * it is written only after both are read.
 */
static inline __attribute__((always_inline)) IFMA bool amm_body(uint64_t *out, const uint64_t *a, const uint64_t *b, const uint64_t *m, uint64_t k0, const int vectors) {
  __m512i acc[MAX_VECTORS];
  __m512i va[MAX_VECTORS];
  __m512i vm[MAX_VECTORS];
  const __m512i zero = _mm512_setzero_si512();
  const int limbs = 8 * vectors;
  const uint64_t a0 = a[0];
  const uint64_t m0 = m[0];
  /* Step 0's low halves: acc = lo52(a * b[0]) + lo52(n * y) */
  uint64_t t = (a0 * b[0]) & MASK52;
  uint64_t y = (t * k0) & MASK52;
  uint64_t carry = (t + ((m0 * y) & MASK52)) >> 52;
  __m512i bi = _mm512_set1_epi64((long long)b[0]);
  __m512i vy = _mm512_set1_epi64((long long)y);
  for (int k = 0; k < vectors; k++) {
    va[k] = _mm512_loadu_si512((const void *)(a + 8 * k));
    vm[k] = _mm512_loadu_si512((const void *)(m + 8 * k));
    acc[k] = _mm512_madd52lo_epu64(_mm512_madd52lo_epu64(zero, va[k], bi), vm[k], vy);
  }
  for (int i = 0; i < limbs; i++) {
    const uint64_t next_b = i + 1 < limbs ? b[i + 1] : 0;
    const __m512i bn = _mm512_set1_epi64((long long)next_b);
    /* What acc[0] holds after the move and every addition but lo52(n * y'): acc[1], the carry,
     * hi52(a0 * b[i]), hi52(n0 * y) and lo52(a0 * b[i+1]); y' follows from it. */
    const unsigned __int128 ab = (unsigned __int128)a0 * b[i];
    const unsigned __int128 my = (unsigned __int128)m0 * y;
    const uint64_t lane1 = (uint64_t)_mm_extract_epi64(_mm512_castsi512_si128(acc[0]), 1);
    t = lane1 + carry + (uint64_t)(ab >> 52) + (uint64_t)(my >> 52) + ((a0 * next_b) & MASK52);
    const uint64_t next_y = i + 1 < limbs ? (t * k0) & MASK52 : 0;
    const __m512i vny = _mm512_set1_epi64((long long)next_y);
    const __m512i vc = _mm512_maskz_set1_epi64(1, (long long)carry);
    for (int k = 0; k < vectors; k++) {
      const __m512i moved = _mm512_alignr_epi64(k + 1 < vectors ? acc[k + 1] : zero, acc[k], 1);
      const __m512i p = _mm512_madd52lo_epu64(_mm512_madd52hi_epu64(moved, va[k], bi), va[k], bn);
      const __m512i q = _mm512_madd52lo_epu64(_mm512_madd52hi_epu64(k == 0 ? vc : zero, vm[k], vy), vm[k], vny);
      acc[k] = _mm512_add_epi64(p, q);
    }
    carry = (t + ((m0 * next_y) & MASK52)) >> 52;
    y = next_y;
    bi = bn;
    vy = vny;
  }
  _Alignas(64) uint64_t lanes[MAX_LIMBS];
  for (int k = 0; k < vectors; k++) _mm512_store_si512((void *)(lanes + 8 * k), acc[k]);
  carry = 0;
  for (int j = 0; j < limbs; j++) {
    uint64_t x = lanes[j] + carry;
    out[j] = x & MASK52;
    carry = x >> 52;
  }
  return carry == 0;
}

/* One function per size, so each loop over the vectors unrolls and stays in registers. */
#define DEFINE_AMM(V) \
  static IFMA bool amm##V(uint64_t *out, const uint64_t *a, const uint64_t *b, const uint64_t *m, uint64_t k0) { return amm_body(out, a, b, m, k0, V); }
DEFINE_AMM(5)
DEFINE_AMM(6)
DEFINE_AMM(7)
DEFINE_AMM(8)
DEFINE_AMM(9)
DEFINE_AMM(10)

static Amm amm_for(int vectors) {
  static const Amm table[] = {amm5, amm6, amm7, amm8, amm9, amm10};
  return vectors < MIN_VECTORS || vectors > MAX_VECTORS ? NULL : table[vectors - MIN_VECTORS];
}

bool rsa_ifma_supported(void) {
  __builtin_cpu_init();
  /* libgcc's and compiler-rt's checks include the OS saving the 512-bit state (XCR0). */
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512ifma");
}
#else
static Amm amm_for(int vectors) {
  (void)vectors;
  return NULL;
}

bool rsa_ifma_supported(void) { return false; }
#endif

RsaIfma *rsa_ifma_new(const unsigned char *n, const unsigned char *rr, size_t len, int bits, uint64_t e) {
  int vectors = vectors_for(bits);
  Amm amm = amm_for(vectors);
  if (amm == NULL || !rsa_ifma_supported()) return NULL;
  /* The byte length must match the size and fit the limbs; n odd (Montgomery needs it); e odd
   * and at least 3, as RFC 8017 §3.1 requires of an RSA public exponent. */
  if (len != (size_t)(bits + 7) / 8 || len > MAX_BYTES || 8 * len > (size_t)52 * 8 * (size_t)vectors) return NULL;
  if ((n[len - 1] & 1) == 0 || (e & 1) == 0 || e < 3) return NULL;
  RsaIfma *key = aligned_alloc(64, sizeof(RsaIfma));
  if (key == NULL) return NULL;
  memset(key, 0, sizeof *key);
  key->len = len;
  key->limbs = 8 * vectors;
  key->e = e;
  key->amm = amm;
  memcpy(key->n_bytes, n, len);
  limbs_from_bytes(key->n, key->limbs, n, len);
  limbs_from_bytes(key->rr, key->limbs, rr, len);
  /* n^-1 mod 2^64 by Newton's iteration: n0 is its own inverse mod 8, and each step doubles the
   * correct low bits (3, 6, 12, 24, 48, 96). */
  uint64_t n0 = key->n[0];
  uint64_t inv = n0;
  for (int i = 0; i < 5; i++) inv *= 2 - n0 * inv;
  key->k0 = (0 - inv) & MASK52;
  return key;
}

void rsa_ifma_free(RsaIfma *key) { free(key); }

bool rsa_ifma_public(const RsaIfma *key, const unsigned char *s, unsigned char *out) {
  if (memcmp(s, key->n_bytes, key->len) >= 0) return false;
  _Alignas(64) uint64_t base[MAX_LIMBS];
  _Alignas(64) uint64_t x[MAX_LIMBS];
  _Alignas(64) uint64_t one[MAX_LIMBS] = {1};
  int count = key->limbs;
  limbs_from_bytes(x, count, s, key->len);
  /* base = s * R mod n; then left to right over e's bits, below its top one. */
  bool ok = key->amm(base, x, key->rr, key->n, key->k0);
  memcpy(x, base, (size_t)count * sizeof *x);
  for (int bit = 62 - __builtin_clzll(key->e); bit >= 0; bit--) {
    ok &= key->amm(x, x, x, key->n, key->k0);
    if ((key->e >> bit) & 1) ok &= key->amm(x, x, base, key->n, key->k0);
  }
  /* Out of Montgomery form: below n + 1, so one subtraction reduces it fully. */
  ok &= key->amm(x, x, one, key->n, key->k0);
  if (at_least(x, key->n, count)) subtract(x, key->n, count);
  bytes_from_limbs(out, key->len, x);
  return ok;
}
