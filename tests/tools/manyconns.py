#!/usr/bin/env python3
# manyconns N PORT: N TCP connections over 127.0.0.1:PORT, both ends ours:
# a child process connects, this one listens and accepts (two processes,
# so each stays under the open-file limit). Prints "ready N" once all are
# accepted, holds them until stdin closes or SIGTERM. For listings at scale.
import os
import resource
import signal
import socket
import sys

n, port = int(sys.argv[1]), int(sys.argv[2])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft < min(hard, n + 64):
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 64), hard))
if n + 32 > hard:
    sys.exit(f"manyconns: {n} connections need {n + 32} open files per process, the limit is {hard}")
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
lst = socket.socket()
lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lst.bind(("127.0.0.1", port))
lst.listen(4096)
child = os.fork()
if child == 0:
    lst.close()
    conns = []
    for _ in range(n):
        c = socket.socket()
        c.connect(("127.0.0.1", port))
        conns.append(c)
    sys.stdin.read()
    os._exit(0)
accepted = []
while len(accepted) < n:
    s, _ = lst.accept()
    accepted.append(s)
print("ready", len(accepted), flush=True)
try:
    sys.stdin.read()
finally:
    os.kill(child, signal.SIGTERM)
