#!/usr/bin/env python3
"""Load for bench/http_dos.sh: tokenless slow connections from one address against the
requests of other clients.

Two roles, run as two processes so that the attacker's work does not delay the clients'
event loop: --role attacker opens --slow connections from --attacker-address, each sending part of a
request's headers and then one more header byte every --trickle seconds, and reconnects
whenever the collector closes one (it needs no token: nothing is ever authenticated).
Meanwhile --role clients runs --clients other clients, each from its own loopback address (127.0.0.2, .3 ...),
send a request every --period seconds on a fresh connection, alternating GET /healthz and
GET /readyz with a token, and time each answer. Everything stops after --seconds.

Each role prints one JSON object: the clients their requests, successes (200) and the
latency percentiles of all requests (a failure counts at the time it took); the attacker
its connection counts.
"""
import argparse
import asyncio
import json
import time


async def slow_connection(host, port, source, trickle, stop, counts):
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, port, local_addr=(source, 0))
        except OSError:
            counts["connect_failed"] += 1
            await asyncio.sleep(0.05)
            continue
        counts["opened"] += 1
        try:
            writer.write(b"POST /api/v1/samples HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            await writer.drain()
            while not stop.is_set():
                try:
                    data = await asyncio.wait_for(reader.read(4096), timeout=trickle)
                except asyncio.TimeoutError:
                    writer.write(b"a")
                    await writer.drain()
                    continue
                if not data:
                    break  # closed by the collector: reconnect
        except (ConnectionError, OSError):
            pass
        finally:
            counts["closed"] += 1
            writer.close()


async def one_request(host, port, source, path, token):
    started = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, local_addr=(source, 0)), timeout=5)
        writer.write((f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                      "Connection: close\r\n\r\n").encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
        await asyncio.wait_for(reader.read(), timeout=5)
        writer.close()
        status = int(head.split(b" ", 2)[1])
    except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError, OSError,
            ValueError):
        status = 0
    return status, time.monotonic() - started


async def client(host, port, source, period, token, stop, results):
    n = 0
    while not stop.is_set():
        path = "/healthz" if n % 2 == 0 else "/readyz"
        n += 1
        results.append(await one_request(host, port, source, path, token))
        await asyncio.sleep(period)


def percentile(values, q):
    values = sorted(values)
    if not values:
        return None
    return values[min(len(values) - 1, int(q * len(values)))]


async def attack(args, host):
    stop = asyncio.Event()
    counts = {"opened": 0, "closed": 0, "connect_failed": 0}
    slow = [asyncio.create_task(slow_connection(host, args.port, args.attacker_address,
                                                args.trickle, stop, counts))
            for _ in range(args.slow)]
    await asyncio.sleep(args.seconds)
    stop.set()
    for t in slow:
        t.cancel()
    await asyncio.gather(*slow, return_exceptions=True)
    print(json.dumps({"attacker": args.attacker_address, "slow_connections": args.slow,
                      "seconds": args.seconds} | counts))


async def probe(args, host):
    stop = asyncio.Event()
    results = []
    clients = [asyncio.create_task(client(host, args.port, f"127.0.0.{2 + i}", args.period,
                                          args.token, stop, results))
               for i in range(args.clients)]
    await asyncio.sleep(args.seconds)
    stop.set()
    await asyncio.gather(*clients, return_exceptions=True)
    ok = [r for r in results if r[0] == 200]
    latencies = [r[1] for r in results]
    by_status = {}
    for status, _ in results:
        by_status[str(status)] = by_status.get(str(status), 0) + 1
    ms = lambda v: round(1000 * v, 1) if v is not None else None
    print(json.dumps({
        "other_clients": args.clients,
        "requests": len(results),
        "ok": len(ok),
        "success": round(len(ok) / len(results), 4) if results else None,
        "by_status": by_status,
        "p50_ms": ms(percentile(latencies, 0.50)),
        "p99_ms": ms(percentile(latencies, 0.99)),
        "max_ms": ms(max(latencies)) if latencies else None,
    }))


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--role", choices=["attacker", "clients"], required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--token", default="")
    ap.add_argument("--slow", type=int, default=2000)
    ap.add_argument("--attacker-address", default="127.0.0.1")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--period", type=float, default=0.1)
    ap.add_argument("--trickle", type=float, default=5.0)
    ap.add_argument("--seconds", type=float, default=30.0)
    args = ap.parse_args()
    await (attack if args.role == "attacker" else probe)(args, "127.0.0.1")


if __name__ == "__main__":
    asyncio.run(main())
