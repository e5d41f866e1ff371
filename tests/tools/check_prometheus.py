#!/usr/bin/env python3
"""check_prometheus.py [METRIC...] < text: a strict check of Prometheus text exposition format
0.0.4, as /metrics serves it. Fails (exit 1, naming the line) on anything a scraper could read
differently: a malformed name, label or value, a bad escape, a TYPE after its samples or twice, a
family split in two, the same series twice, a counter that goes by a name without _total, a
missing final newline. Every METRIC given must be among the families. Prints the family count."""
import math
import re
import sys

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def fail(n, line, why):
    sys.exit(f"line {n}: {why}: {line!r}")


def value(text):
    if text in ("+Inf", "-Inf", "NaN"):
        return True
    try:
        return not math.isnan(float(text)) and re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text)
    except ValueError:
        return False


def labels(n, line, text):
    """Parses '{a="x",b="y"}' strictly; returns the (name, value) pairs."""
    out, i = [], 1
    while text[i] != "}":
        m = LABEL.match(text, i)
        if not m:
            fail(n, line, "bad label name")
        name, i = m.group(), m.end()
        if text[i:i + 2] != '="':
            fail(n, line, f"label {name} is not followed by =\"")
        i += 2
        v = []
        while text[i] != '"':
            if text[i] == "\\":
                if text[i + 1] not in '\\"n':
                    fail(n, line, "bad escape in a label value")
                v.append(text[i:i + 2])
                i += 2
            elif text[i] == "\n":
                fail(n, line, "raw newline in a label value")
            else:
                v.append(text[i])
                i += 1
        i += 1
        if any(name == k for k, _ in out):
            fail(n, line, f"label {name} twice")
        out.append((name, "".join(v)))
        if text[i] == ",":
            i += 1
        elif text[i] != "}":
            fail(n, line, "labels not separated by ,")
    return out, i + 1


def main():
    text = sys.stdin.read()
    if not text.endswith("\n"):
        sys.exit("the exposition does not end with a newline")
    types, helps, done, series = {}, set(), set(), set()
    current = None
    for n, line in enumerate(text[:-1].split("\n"), 1):
        if line == "":
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not NAME.fullmatch(name):
                    fail(n, line, "bad metric name")
                if parts[1] == "TYPE":
                    if len(parts) != 4 or parts[3] not in TYPES:
                        fail(n, line, "bad TYPE")
                    if name in types:
                        fail(n, line, "TYPE twice")
                    if name in done or name == current:
                        fail(n, line, "TYPE after samples of the family")
                    types[name] = parts[3]
                    if parts[3] == "counter" and not name.endswith("_total"):
                        fail(n, line, "a counter's name should end in _total")
                else:
                    if name in helps:
                        fail(n, line, "HELP twice")
                    if re.search(r"\\[^\\n]", parts[3] if len(parts) == 4 else ""):
                        fail(n, line, "bad escape in HELP")
                    helps.add(name)
            continue
        m = NAME.match(line)
        if not m:
            fail(n, line, "bad metric name")
        name, rest = m.group(), line[m.end():]
        pairs = []
        if rest.startswith("{"):
            pairs, end = labels(n, line, rest)
            rest = rest[end:]
        fields = rest.split(" ")
        if fields[0] != "" or len(fields) not in (2, 3):
            fail(n, line, "expected exactly one space, a value and an optional timestamp")
        if not value(fields[1]):
            fail(n, line, "bad value")
        if len(fields) == 3 and not re.fullmatch(r"-?\d+", fields[2]):
            fail(n, line, "bad timestamp")
        family = name
        for suffix in ("_bucket", "_sum", "_count"):
            base = name[: -len(suffix)]
            if name.endswith(suffix) and types.get(base) in ("histogram", "summary"):
                family = base
        if family != current:
            if family in done:
                fail(n, line, f"samples of {family} are not together")
            if current is not None:
                done.add(current)
            current = family
        if types.get(family) == "counter" and float(fields[1]) < 0:
            fail(n, line, "a negative counter")
        key = (name, tuple(sorted(pairs)))
        if key in series:
            fail(n, line, "the same series twice")
        series.add(key)
    families = done | ({current} if current else set())
    missing = [m for m in sys.argv[1:] if m not in families]
    if missing:
        sys.exit(f"missing families: {', '.join(missing)}")
    print(f"{len(families)} families, {len(series)} series")


if __name__ == "__main__":
    main()
