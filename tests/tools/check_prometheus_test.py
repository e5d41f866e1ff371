#!/usr/bin/env python3
"""The strict Prometheus text check must pass good text and fail each kind of bad text."""
import subprocess
import sys

CHECK = [sys.executable, __file__.replace("_test.py", ".py")]

GOOD = """# HELP waygate_drops_total Packets dropped, by stage and reason
# TYPE waygate_drops_total counter
waygate_drops_total{stage="nat",reason="no_session"} 3
waygate_drops_total{stage="nat",reason="a \\"quoted\\" \\\\ value\\n"} 0
# TYPE waygate_nat_sessions gauge
waygate_nat_sessions{protocol="udp"} -1.5e3
"""

BAD = {
    "no final newline": GOOD.rstrip("\n"),
    "bad metric name": GOOD + "9bad 1\n",
    "bad label name": GOOD + 'x{9a="b"} 1\n',
    "bad escape": GOOD + 'x{a="\\q"} 1\n',
    "unquoted label value": GOOD + "x{a=b} 1\n",
    "bad value": GOOD + "x 1,5\n",
    "two spaces": GOOD + "x  1\n",
    "TYPE twice": GOOD + "# TYPE waygate_nat_sessions gauge\n",
    "TYPE after samples": "x 1\n# TYPE x gauge\n",
    "family split": GOOD + "waygate_drops_total{stage=\"x\",reason=\"y\"} 1\n",
    "same series twice": GOOD + 'waygate_nat_sessions{protocol="udp"} 2\n',
    "counter without _total": "# TYPE waygate_x counter\nwaygate_x 1\n",
    "negative counter": "# TYPE x_total counter\nx_total -1\n",
    "label twice": 'x{a="1",a="2"} 1\n',
}


def run(text, *families):
    return subprocess.run(CHECK + list(families), input=text, capture_output=True, text=True).returncode


failed = 0
if run(GOOD, "waygate_drops_total", "waygate_nat_sessions") != 0:
    print("FAIL: good text refused")
    failed += 1
if run(GOOD, "waygate_missing") == 0:
    print("FAIL: a missing family passed")
    failed += 1
for why, text in BAD.items():
    if run(text) == 0:
        print(f"FAIL: passed with {why}")
        failed += 1
print(f"{len(BAD) + 2 - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
