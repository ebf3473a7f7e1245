#!/usr/bin/env python3
# kh_duplex: a TCP connection that carries bulk data both ways at once (the
# h_ertt tests need a sender that also receives out-of-order data, so that
# its data segments carry SACK blocks). Only for the tests' own namespaces.
#   kh_duplex.py serve ADDR PORT CC                 accept connections, each one both ways
#   kh_duplex.py send ADDR PORT SECONDS HOLD CC      connect, print "local <port>", run,
#                                                    print "done", keep it open HOLD s
import socket
import sys
import threading
import time

CHUNK = b"\0" * (1 << 16)


def pump(s, seconds):
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            s.sendall(CHUNK)
    except OSError:
        pass


def drain(s):
    try:
        while s.recv(1 << 16):
            pass
    except OSError:
        pass


def run(s, seconds):
    r = threading.Thread(target=drain, args=(s,), daemon=True)
    r.start()
    pump(s, seconds)


def main():
    mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "serve":
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, sys.argv[4].encode())
        ls.bind((addr, port))
        ls.listen(8)
        print("listening", flush=True)
        while True:
            c, _ = ls.accept()
            threading.Thread(target=run, args=(c, 3600), daemon=True).start()
    else:
        s = socket.socket()
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, sys.argv[6].encode())
        s.connect((addr, port))
        print("local", s.getsockname()[1], flush=True)
        run(s, float(sys.argv[4]))
        print("done", flush=True)
        time.sleep(float(sys.argv[5]))


if __name__ == "__main__":
    main()
