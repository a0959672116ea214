/* ion: see ion.h. */
#include "ion.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ion_session_open(ion_session_t *s, const erp_read_t *in, const char *label,
                     const char *header, erp_result_t *out)
{
    memset(s, 0, sizeof *s);
    if (ionapi_parse(json_object_get(in->tenant->erp, "ionapi"), "erp.ionapi", &s->ion,
                     out->error, sizeof out->error) != 0) {
        out->retryable = 0;
        return -1;
    }
    s->auth = (ion_auth_t){ .ion = &s->ion, .tenant = in->tenant->id, .redis = in->redis,
                            .master_key = in->master_key, .http = in->http };
    s->src = (erp_source_t){ .label = label, .system = ION_TOKEN_SYSTEM,
                             .fetch = ion_token_fetch, .fetch_ud = &s->auth, .header = header };
    s->api_base = ionapi_api_base(&s->ion);
    return 0;
}

void ion_session_close(ion_session_t *s)
{
    ionapi_free(&s->ion);
    free(s->api_base);
    memset(s, 0, sizeof *s);
}
