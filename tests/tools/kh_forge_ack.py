#!/usr/bin/env python3
# kh_forge_ack: watch DEV for one TCP segment from SRC:SPORT to DST:DPORT and
# answer it with a forged pure ACK whose acknowledgment number lies OFFSET
# above that segment's sequence number (above the sender's snd_nxt), from a
# raw socket, COUNT times 20 ms apart (this machine's kernel skips BPF program
# runs in some task contexts: one packet may pass unseen). Prints "forged <ack>".
# Only for the tests' own namespaces.
#   kh_forge_ack.py DEV SRC SPORT DST DPORT OFFSET [COUNT]
import socket
import struct
import sys
import time


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def main():
    dev, src, sport, dst, dport, off = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
    sniff = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0800))
    sniff.bind((dev, 0))
    sniff.settimeout(5)
    while True:
        f = sniff.recv(65535)
        ip = f[14:]
        if ip[9] != 6 or socket.inet_ntoa(ip[12:16]) != src or socket.inet_ntoa(ip[16:20]) != dst:
            continue
        tcp = ip[(ip[0] & 15) * 4:]
        sp, dp, seq, ack = struct.unpack("!HHII", tcp[:12])
        if sp == sport and dp == dport:
            break
    fack = (seq + off) & 0xFFFFFFFF
    # the ACK goes from dst back to src: its seq is what src acknowledged
    th = struct.pack("!HHIIBBHHH", dport, sport, ack, fack, 5 << 4, 0x10, 65535, 0, 0)
    pseudo = socket.inet_aton(dst) + socket.inet_aton(src) + struct.pack("!BBH", 0, 6, len(th))
    th = th[:16] + struct.pack("!H", csum(pseudo + th)) + th[18:]
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    for _ in range(int(sys.argv[7]) if len(sys.argv) > 7 else 1):
        raw.sendto(th, (src, 0))
        time.sleep(0.02)
    print("forged", fack, flush=True)


if __name__ == "__main__":
    main()
