#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

/* Macros Swift can't import, as functions. */
static inline int pointmesh_ssl_ctx_tls13_only(SSL_CTX *context) {
    return (int)SSL_CTX_set_min_proto_version(context, TLS1_3_VERSION);
}


/* A peer that closes without close_notify ends the connection like one that sends it: gossip
   frames carry their own lengths and MACs, so a cut can't pass for a whole frame. */
static inline void pointmesh_ssl_ctx_end_at_eof(SSL_CTX *context) {
    SSL_CTX_set_options(context, SSL_OP_IGNORE_UNEXPECTED_EOF);
}

/* A write may be retried from a moved buffer and may complete in part: the HTTP event loop
   writes what the socket takes and retries the rest later. */
static inline void pointmesh_ssl_ctx_partial_writes(SSL_CTX *context) {
    SSL_CTX_set_mode(context, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

static inline int pointmesh_ssl_ctx_tls12_at_least(SSL_CTX *context) {
    return (int)SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
}
