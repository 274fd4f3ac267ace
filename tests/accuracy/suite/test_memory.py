"""Page-cache-bound work with a latency budget against its quiet-machine time: each test writes
a file of its own, then reads it back several times. Quiet, the reads come from the page
cache; when a neighbour under the same memory limit takes the memory, the file's pages are
evicted between reads and every read waits for them to come back (memory pressure)."""
import os
import time

MIB = 1 << 20


def _reread(path, mib, passes=4):
    with open(path, "wb") as f:
        block = os.urandom(MIB)
        for _ in range(mib):
            f.write(block)
    t0 = time.perf_counter()
    for _ in range(passes):
        with open(path, "rb") as f:
            while f.read(MIB):
                pass
    took = time.perf_counter() - t0
    os.unlink(path)
    return took


def test_memory_cache_warmup(budget, tmp_path):
    budget.check(_reread(tmp_path / "cache", int(os.environ.get("ACC_MEMORY_MIB", "256"))))


def test_memory_index_build(budget, tmp_path):
    budget.check(_reread(tmp_path / "index", int(os.environ.get("ACC_MEMORY_MIB", "256"))))
