#!/usr/bin/env python3
# manyconns N PORT: open N TCP connections to a listener of our own on
# 127.0.0.1:PORT (both ends in this process), print "ready N", hold them
# until stdin closes or SIGTERM. For tests of listings at scale.
import resource
import selectors
import signal
import socket
import sys

n, port = int(sys.argv[1]), int(sys.argv[2])
need = 2 * n + 64
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft < need:
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, max(hard, need)))
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
lst = socket.socket()
lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lst.bind(("127.0.0.1", port))
lst.listen(4096)
clients, accepted = [], []
while len(accepted) < n:
    # connect in batches no larger than the backlog, accept them, repeat
    batch = min(1024, n - len(clients))
    for _ in range(batch):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        clients.append(c)
    while len(accepted) < len(clients):
        s, _ = lst.accept()
        accepted.append(s)
print("ready", len(accepted), flush=True)
sys.stdin.read()
