#!/usr/bin/env python3
"""What an exporter delivers, for bench/agent_real_cgroups.sh.

    delivered.py jostle FILE    FILE: a jostle-agent /metrics body
    delivered.py netdata FILE   FILE: Netdata's /api/v1/charts JSON
"""
import json
import re
import sys


def main():
    kind, path = sys.argv[1], sys.argv[2]
    try:
        text = open(path).read()
    except OSError as e:
        print(f"{kind}: nothing to count ({e})")
        return
    if kind == "jostle":
        ids = set(re.findall(
            r'^jostle_container_cpu_usage_seconds_total\{[^}]*id="([^"]*)"', text, re.M))
        pods = set(re.findall(
            r'^jostle_container_cpu_usage_seconds_total\{[^}]*scope="pod",id="([^"]*)"', text,
            re.M))
        series = sum(1 for ln in text.splitlines() if ln and not ln.startswith("#"))
        print(f"jostle-agent: {len(ids)} cgroups with a CPU series ({len(pods)} pods), "
              f"{series} series")
    else:
        charts = [c for c in json.loads(text)["charts"].values()
                  if c["type"].startswith("cgroup_")]
        groups = {c["type"] for c in charts}
        dims = sum(len(c.get("dimensions", {})) for c in charts)
        print(f"netdata: {len(groups)} cgroups, {len(charts)} charts, {dims} dimensions")


if __name__ == "__main__":
    main()
