// A cgroup iterator that reports every cgroup's CPU time (cgroup->bstat, the numbers behind
// cpu.stat's usage_usec, user_usec and system_usec) in one pass, without a file per cgroup.
// Sleepable ("iter.s") because css_rstat_flush, which brings bstat up to date, may sleep.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

extern void css_rstat_flush(struct cgroup_subsys_state *css) __ksym;

// Set before loading: flush every cgroup (1) or only the first, the iteration's root, whose
// flush covers its whole subtree (0); write fixed records (1) or text lines (0).
const volatile int flush_each = 1;
const volatile int binary = 0;

struct record {
  __u64 id;  // kernfs id: the cgroup directory's inode number
  __u64 sum_exec_ns, user_ns, system_ns;
};

SEC("iter.s/cgroup")
int dump_cpu(struct bpf_iter__cgroup *ctx) {
  struct seq_file *seq = ctx->meta->seq;
  struct cgroup *cgrp = ctx->cgroup;
  if (!cgrp) return 1;
  if (flush_each || ctx->meta->seq_num == 0) css_rstat_flush(&cgrp->self);
  struct record r = {cgrp->kn->id, cgrp->bstat.cputime.sum_exec_runtime,
                     cgrp->bstat.cputime.utime, cgrp->bstat.cputime.stime};
  if (binary) {
    bpf_seq_write(seq, &r, sizeof r);
  } else {
    BPF_SEQ_PRINTF(seq, "%llu %llu %llu %llu\n", r.id, r.sum_exec_ns, r.user_ns, r.system_ns);
  }
  return 0;
}
