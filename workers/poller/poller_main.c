/* mlc-poller: stateless poll worker. Takes poll jobs from the broker and turns ERP rows into
 * record state and write jobs (poll.c). Scale by running more of them; pin with --tenants. */
#include "poll_flow.h"
#include "worker_cli.h"

int main(int argc, char **argv)
{
    worker_opts_t wo = { .service = "poll", .threads = 2, .lease_ms = 30000,
                         .handler = poll_handle, .thread_init = poll_thread_init,
                         .thread_free = poll_thread_free };
    return worker_cli_main(argc, argv, "mlc-poller",
                           "Polls ERP systems for the poll jobs the broker hands out.",
                           "MLC_POLL_OVERLAP_S (watermark overlap, default 60).", &wo);
}
