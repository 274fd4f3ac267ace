// Fisher's exact test on a 2×2 table, as R's fisher.test computes it. Two-sided: the sum of
// the hypergeometric probabilities of every table with the same margins that is no more
// likely than the observed one (relative tolerance 1e-7). One-sided ("greater"): the sum
// over the tables with the same margins and at least `a` in the top-left cell.
#pragma once

namespace jostle::collector {

//            failed  passed
// contended     a       b
// clear         c       d
// Counts must be >= 0. Returns 1 for a table with an empty margin.
double FisherExactTwoSided(int a, int b, int c, int d);
// One-sided: p of failures being at least this concentrated in the contended row
// (R: fisher.test(m, alternative = "greater")). 1 for a table with an empty margin.
double FisherExactGreater(int a, int b, int c, int d);

}  // namespace jostle::collector
