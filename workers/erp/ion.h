/* ion: what the M3 and SyteLine drivers share for one read through the Infor ION API gateway:
 * the tenant's .ionapi (erp.ionapi), the token source (ion_token.c, cached by token.c under
 * system "ion") and the API base URL {iu}/{ti}. */
#ifndef MLC_ERP_ION_H
#define MLC_ERP_ION_H
#include "erp.h"
#include "ion_token.h"
#include "ionapi.h"

typedef struct {
    ionapi_t     ion;
    ion_auth_t   auth;
    erp_source_t src;       /* pass to erp_fetch_page; points into this struct: do not move it */
    char        *api_base;  /* {iu}/{ti}, no trailing slash */
} ion_session_t;

/* Opens the session of in's tenant; label names the driver in messages and header is one
 * extra request header or NULL (both borrowed, must outlive the session). Returns 0, or -1
 * with out->error naming the bad erp.ionapi member (not retryable). */
int ion_session_open(ion_session_t *s, const erp_read_t *in, const char *label,
                     const char *header, erp_result_t *out);
void ion_session_close(ion_session_t *s);   /* safe twice */
#endif
