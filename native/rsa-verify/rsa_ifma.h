/*
 * The RSA public operation (RFC 8017 §5.2.2, RSAVP1: s^e mod n) with AVX-512 IFMA, for moduli of
 * 2048 to 4096 bits and public exponents that fit 64 bits. See rsa_ifma.c for why it exists.
 */
#ifndef PORTCULLIS_RSA_IFMA_H
#define PORTCULLIS_RSA_IFMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct RsaIfma RsaIfma;

/* Whether this CPU (and its OS) runs AVX-512 IFMA; false on every other architecture. */
bool rsa_ifma_supported(void);

/* The shift s of R^2 = 2^s for a modulus of `bits`, where the caller computes R^2 mod n for
 * rsa_ifma_new; 0 when this module does not serve that size. */
size_t rsa_ifma_rr_bits(int bits);

/* Takes the modulus `n` and R^2 mod n as big-endian bytes of `len` (the modulus's byte length)
 * and the public exponent. NULL when the CPU lacks IFMA, the size is not served, n is even, e is
 * even or below 3, or memory ran out. */
RsaIfma *rsa_ifma_new(const unsigned char *n, const unsigned char *rr, size_t len, int bits, uint64_t e);

void rsa_ifma_free(RsaIfma *key);

/* s^e mod n into `out` (the modulus's byte length, big-endian), for a signature `s` of that
 * length. false when s >= n (RFC 8017: "signature representative out of range") or when an
 * internal bound check fails: either way the signature is invalid. */
bool rsa_ifma_public(const RsaIfma *key, const unsigned char *s, unsigned char *out);

#endif
