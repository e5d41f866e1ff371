#!/usr/bin/env python3
"""Writes a small MaxMind DB (format 2.0) mapping test networks to countries, for the policy
stage's country conditions: GeoIP databases are licensed and large, so tests build their own.

    make_test_mmdb.py OUT [NETWORK=CC ...]   (default: the documentation networks below)
"""
import ipaddress
import struct
import sys
import time

DEFAULT = ["192.0.2.0/24=DE", "198.51.100.0/24=US", "2001:db8:1::/48=FR"]


def control(kind, size):
    """A data-section field header: type in the top 3 bits (extended types after it), size below."""
    head = bytes([((kind if kind <= 7 else 0) << 5) | size])
    assert size < 29
    return head + (bytes([kind - 7]) if kind > 7 else b"")


def encode(value):
    if isinstance(value, str):
        raw = value.encode()
        return control(2, len(raw)) + raw
    if isinstance(value, dict):
        out = control(7, len(value))
        for k, v in value.items():
            out += encode(k) + encode(v)
        return out
    if isinstance(value, list):
        return control(11, len(value)) + b"".join(encode(v) for v in value)
    if isinstance(value, tuple):  # (type, int): 5 uint16, 6 uint32, 9 uint64
        kind, n = value
        raw = n.to_bytes(8, "big").lstrip(b"\0")
        return control(kind, len(raw)) + raw
    raise TypeError(value)


def build(networks):
    # A binary trie over 128-bit keys; IPv4 networks live at ::a.b.c.d/96+len, where readers look.
    root = {}
    for net, data in networks:
        bits = int(net.network_address) if net.version == 6 else int(net.network_address)
        length = net.prefixlen if net.version == 6 else net.prefixlen + 96
        node = root
        for i in range(length):
            bit = (bits >> (127 - i)) & 1
            if i == length - 1:
                node[bit] = ("data", data)
            else:
                node = node.setdefault(bit, {})
    nodes = []

    def number(node):
        nodes.append(node)
        for child in (node.get(0), node.get(1)):
            if isinstance(child, dict):
                number(child)

    number(root)
    index = {id(n): i for i, n in enumerate(nodes)}
    data, offsets = b"", {}
    for net, cc in networks:
        if cc not in offsets:
            offsets[cc] = len(data)
            data += encode({"country": {"iso_code": cc}})
    count = len(nodes)
    tree = b""
    for node in nodes:
        for bit in (0, 1):
            child = node.get(bit)
            if child is None:
                record = count  # no data
            elif isinstance(child, dict):
                record = index[id(child)]
            else:
                record = count + 16 + offsets[child[1]]
            tree += record.to_bytes(3, "big")
    meta = encode({
        "node_count": (6, count), "record_size": (5, 24), "ip_version": (5, 6),
        "database_type": "Waygate-Test-Country", "languages": ["en"],
        "binary_format_major_version": (5, 2), "binary_format_minor_version": (5, 0),
        "build_epoch": (9, int(time.time())), "description": {"en": "Waygate test networks"},
    })
    return tree + b"\0" * 16 + data + b"\xab\xcd\xefMaxMind.com" + meta


def main():
    out, specs = sys.argv[1], sys.argv[2:] or DEFAULT
    networks = []
    for spec in specs:
        net, cc = spec.split("=")
        networks.append((ipaddress.ip_network(net), cc))
    with open(out, "wb") as f:
        f.write(build(networks))


if __name__ == "__main__":
    main()
