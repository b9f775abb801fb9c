"""marketpipe: market and account data from MEXC and Gate.io through a process pipeline.

    venue WS -> connection -> parser x N -> handler -> PUB -> consumers
                     ^________ coordinator: start, supervise, subscribe ________|

Pure modules (no sockets, no event loop, no clock):
    messages     the event union and the envelopes between stages
    topology     topology.yaml -> validated Topology
    book         L2 books and their sequence rules
    ordering     restores per-connection wire order after the parallel parsers
    backoff      reconnect and restart delays
    stats        counters and latency percentiles
    venues/      each venue's wire protocol
Processes (thin I/O shells):
    stages/      connection, parser, handler actors
    coordinator  starts, supervises and steers the actors
    simulators/  protocol-faithful venue simulators for offline runs and tests
    cli          the `pipeline` command
"""
