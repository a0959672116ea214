/* mlc-writer: stateless write worker. Takes write jobs from the broker and brings Asana tasks
 * in line with ERP records (upsert.c). Scale by running more of them; pin with --tenants. */
#include "upsert.h"
#include "worker_cli.h"

int main(int argc, char **argv)
{
    worker_opts_t wo = { .service = "write", .threads = 12, .lease_ms = 30000,
                         .handler = writer_handle, .thread_init = writer_thread_init,
                         .thread_free = writer_thread_free };
    return worker_cli_main(argc, argv, "mlc-writer",
                           "Writes Asana tasks for the write jobs the broker hands out.",
                           "MLC_ASANA_WRITE_CONCURRENCY (default 15), MLC_ASANA_READ_CONCURRENCY "
                           "(default 50).", &wo);
}
