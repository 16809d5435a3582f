"""Reads lbd's /metrics: fetches it, parses the Prometheus text format into
samples, and lists the metric names lbd exports (tests of the metrics, the
status page, the Grafana dashboard and the alert rules share it)."""
import re
import time

from httpwire import get

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def _unescape(value):
    return value.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


class Scrape:
    def __init__(self, text, content_type="", seconds=0.0):
        self.text = text
        self.content_type = content_type
        self.seconds = seconds  # how long the HTTP round trip took
        self.samples = []       # (name, {label: value}, float)
        self.types = {}         # family name -> counter | gauge | histogram
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(" ", 3)
                self.types[name] = kind
                continue
            if not line or line.startswith("#"):
                continue
            m = _SAMPLE.match(line)
            if not m:
                raise AssertionError(f"not a Prometheus sample line: {line!r}")
            labels = {k: _unescape(v) for k, v in _LABEL.findall(m.group(2) or "")}
            self.samples.append((m.group(1), labels, float(m.group(3))))

    def names(self):
        """Every sample name, histogram _bucket/_sum/_count included."""
        return {name for name, _, _ in self.samples}

    def value(self, name, **labels):
        """The one sample of `name` whose labels include `labels`."""
        found = [v for n, ls, v in self.samples
                 if n == name and all(ls.get(k) == str(want) for k, want in labels.items())]
        if len(found) != 1:
            raise AssertionError(f"{len(found)} samples of {name}{labels}")
        return found[0]

    def sum(self, name, **labels):
        return sum(v for n, ls, v in self.samples
                   if n == name and all(ls.get(k) == str(want) for k, want in labels.items()))

    def series(self, name):
        return [(ls, v) for n, ls, v in self.samples if n == name]


def scrape(admin_port):
    t0 = time.monotonic()
    r = get(admin_port, "/metrics", host=f"127.0.0.1:{admin_port}")
    seconds = time.monotonic() - t0
    if r.status != 200:
        raise AssertionError(f"/metrics answered {r.status}: {r.body[:200]!r}")
    return Scrape(r.body.decode(), r.header("Content-Type", ""), seconds)
